"""The clock: APScheduler (UTC, in memory) wakes the bot every 30 s; the database says what is due.

Jobs are never persisted per reminder (see reliability reference §1): each tick calls the hooks
registered by the features (`registry.tick`), and they find their work in the database with leased claims, so a second bot
process or a restart neither loses nor doubles anything.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bot.kernel.deps import Deps

log = logging.getLogger(__name__)

TICK_SECONDS = 30


def tick(deps: Deps) -> None:
    """One tick: every hook, each isolated so one failing hook does not stop the others."""
    for hook in deps.registry.ticks:
        try:
            hook.fn(deps)
        except Exception:
            log.exception("tick hook %s failed", hook.name)


def start_clock(deps: Deps, *, seconds: int = TICK_SECONDS) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        tick,
        "interval",
        seconds=seconds,
        args=[deps],
        id="cba-tick",
        # Run at start-up too: reminders that fell due while the bot was down go out now.
        next_run_time=datetime.now(UTC),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
    )
    scheduler.start()
    log.info("scheduler started: a tick every %s s", seconds)
    return scheduler
