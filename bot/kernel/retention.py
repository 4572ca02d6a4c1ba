"""Retention (SPEC 4.10): what only served to deliver once is deleted after CBA_RETENTION_DAYS.

Two kinds of rows go: the IDs of Events API deliveries already handled (`processed_events`; Slack retries
an event for minutes, not months), and outbox rows that are settled — sent, failed for good, skipped or
cancelled — whose time (due and, when sent, sent) is older than the window. Never a row still pending or
being sent, and never a settled row that an open row depends on (an edit or a thread reply waiting for
that post's ts).

The scheduler's tick runs it at most once an hour per process, in batches of `BATCH_SIZE` rows, each its
own short transaction (the candidates are found by a read that takes no write lock, so a run with nothing
to delete writes nothing), and at most `MAX_BATCHES` batches per table per run: a large backlog is worked
off over several runs without holding the database. Several processes may prune at once: a row deleted
twice is deleted once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.kernel.registry import Registry
from storage.db import deferred_begin
from storage.models import ProcessedEvent, Reminder

if TYPE_CHECKING:
    from bot.kernel.deps import Deps

log = logging.getLogger(__name__)

BATCH_SIZE = 500
MAX_BATCHES = 20
EVERY = timedelta(hours=1)
SETTLED_STATUSES = ("sent", "failed", "skipped", "cancelled")
OPEN_STATUSES = ("pending", "claimed")


@dataclass
class Pruned:
    events: int = 0
    messages: int = 0
    more: bool = False  # a table had more than a run may delete


def _old_events(cutoff: datetime) -> ColumnElement[bool]:
    return ProcessedEvent.received_at < cutoff


def _old_messages(cutoff: datetime) -> ColumnElement[bool]:
    child = aliased(Reminder)
    waiting_child = exists().where(child.depends_on == Reminder.id, child.status.in_(OPEN_STATUSES))
    return and_(
        Reminder.status.in_(SETTLED_STATUSES),
        Reminder.due_at < cutoff,
        or_(Reminder.sent_at.is_(None), Reminder.sent_at < cutoff),
        ~waiting_child,
    )


def _in_batches(
    sessions: sessionmaker[Session],
    key: Any,
    condition: Callable[[], ColumnElement[bool]],
    *,
    batch: int,
    batches: int,
) -> tuple[int, bool]:
    """Delete rows matching `condition` by `key`, a batch per transaction; (deleted, more left)."""
    deleted = 0
    for _ in range(batches):
        found: Select[Any] = select(key).where(condition()).limit(batch)
        with deferred_begin(), sessions() as session:
            ids = list(session.scalars(found))
            session.rollback()
        if not ids:
            return deleted, False
        with sessions.begin() as session:
            # The condition again: a row may have changed (or gained a waiting child) since it was read.
            result = session.execute(delete(key.class_).where(key.in_(ids), condition()))
            deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
        if len(ids) < batch:
            return deleted, False
    return deleted, True


def prune(sessions: sessionmaker[Session], *, now: datetime, days: int, batch: int = 0, batches: int = 0) -> Pruned:
    """Delete processed event IDs and settled outbox rows older than `days` before `now`."""
    batch = batch or BATCH_SIZE
    batches = batches or MAX_BATCHES
    cutoff = now - timedelta(days=days)
    events, more_events = _in_batches(
        sessions, ProcessedEvent.event_id, lambda: _old_events(cutoff), batch=batch, batches=batches
    )
    messages, more_messages = _in_batches(
        sessions, Reminder.id, lambda: _old_messages(cutoff), batch=batch, batches=batches
    )
    if events or messages:
        log.info("retention: %s processed event IDs and %s outbox messages deleted", events, messages)
    return Pruned(events, messages, more_events or more_messages)


class RetentionTick:
    """The tick hook: prunes at most once every EVERY (sooner while a backlog is being worked off)."""

    def __init__(self) -> None:
        self.next_run: datetime | None = None

    def __call__(self, deps: Deps) -> Pruned | None:
        now = deps.clock()
        if self.next_run is not None and now < self.next_run:
            return None
        result = prune(deps.sessions, now=now, days=deps.settings.retention_days, batch=BATCH_SIZE, batches=MAX_BATCHES)
        self.next_run = now if result.more else now + EVERY
        return result


def register(registry: Registry) -> None:
    # After delivery: a run never competes with the messages that are due.
    registry.tick("retention", RetentionTick(), order=200)
