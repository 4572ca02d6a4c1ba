"""The app factory: one Bolt App wired to our settings, database and listeners."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.deps import Deps, system_clock
from bot.executor import TrackingExecutor
from bot.slack_client import make_client
from commands import register_all
from commands.reminders.kinds import set_fallback_zone
from storage.db import make_engine, make_sessionmaker

log = logging.getLogger(__name__)


@dataclass
class Bot:
    app: App
    deps: Deps


def build(
    settings: Settings,
    *,
    client: WebClient | None = None,
    sessions: sessionmaker[Session] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Bot:
    client = client or make_client(settings)
    sessions = sessions or make_sessionmaker(make_engine(settings.database_url))
    executor = TrackingExecutor(settings.listener_threads)
    set_fallback_zone(settings.zone)
    deps = Deps(settings=settings, sessions=sessions, client=client, executor=executor, clock=clock or system_clock)
    # Bolt switches to OAuth mode by itself when these are in the environment; this is a single-workspace app.
    for variable in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        os.environ.pop(variable, None)
    app = App(
        # Without a name Bolt calls inspect.stack(), which reads the source of every frame (slow in tests).
        name="cba-bot",
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=bool(settings.slack_signing_secret),
        token_verification_enabled=False,
        listener_executor=executor,
        raise_error_for_unhandled_request=False,
        logger=logging.getLogger("slack_bolt"),
    )
    # Bolt logs a rejected request's body at INFO: personal data in logs. Keep only warnings.
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
    app.error(_last_resort)
    register_all(app, deps)
    return Bot(app=app, deps=deps)


def build_app(settings: Settings, *, client: WebClient | None = None, **kwargs: Any) -> App:
    return build(settings, client=client, **kwargs).app


def _last_resort(error: Exception, body: dict[str, Any]) -> BoltResponse:
    """Errors our listener wrappers did not catch (middleware, Bolt itself): log and answer 200."""
    log.error("unhandled error for a %s request", body.get("type") or body.get("command"), exc_info=error)
    return BoltResponse(status=200, body="")
