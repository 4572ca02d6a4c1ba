"""The app factory: one Bolt App wired to our settings, database and the features' registry."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.features import build_registry
from bot.kernel.admin import COMMAND as ADMIN_COMMAND
from bot.kernel.admin import dispatcher as admin_dispatcher
from bot.kernel.courier import Courier
from bot.kernel.delivery import connections_per_run
from bot.kernel.deps import Deps, system_clock
from bot.kernel.registry import Registry
from bot.kernel.request import on_action, on_commands, on_event, on_view
from bot.kernel.settings import Settings
from bot.kernel.slack_client import make_client
from storage.db import make_engine, make_sessionmaker

log = logging.getLogger(__name__)

# The tick's own work (planning hooks); its delivery runs through the courier's connections.
SCHEDULER_CONNECTIONS = 2
# slack_sdk's built-in Socket Mode client hands envelopes to this many threads.
SOCKET_MODE_WORKERS = 10


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
    registry: Registry | None = None,
    identity: dict[str, Any] | None = None,
) -> Bot:
    """The bot on these settings. `identity` is what `auth.test` said of our token (`cba-bot run` asks at
    start-up); requests are authorised with it, so no request waits on Slack to learn who we are."""
    client = client or make_client(settings)
    sessions = sessions or make_sessionmaker(
        make_engine(settings.database_url, connections=database_connections(settings))
    )
    registry = registry or build_registry()
    deps = Deps(
        settings=settings,
        sessions=sessions,
        client=client,
        clock=clock or system_clock,
        registry=registry,
    )
    deps.courier = Courier(deps)
    # Bolt switches to OAuth mode by itself when these are in the environment; this is a single-workspace app.
    for variable in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        os.environ.pop(variable, None)
    app = App(
        # Without a name Bolt calls inspect.stack(), which reads the source of every frame (slow in tests).
        name="cba-bot",
        # A client without a token: Bolt hands each listener a copy carrying the token `authorize` gives.
        client=WebClient(base_url=client.base_url, timeout=client.timeout, retry_handlers=client.retry_handlers),
        authorize=_authorization(settings, identity or {}),
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=bool(settings.slack_signing_secret),
        # The listener runs in the request's thread and its ack is the HTTP answer (no ack polling).
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        logger=logging.getLogger("slack_bolt"),
    )
    # Bolt logs a rejected request's body at INFO: personal data in logs. Keep only warnings.
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
    app.error(_last_resort)
    wire(app, deps)
    return Bot(app=app, deps=deps)


def database_connections(settings: Settings) -> int:
    """Connections one process's threads can hold at once: each request thread (HTTP server threads, or
    Socket Mode's message workers), a delivery run (its claiming connection and each sender's), the tick."""
    delivery = connections_per_run(settings.senders)
    requests = max(settings.http_threads, SOCKET_MODE_WORKERS)
    return requests + delivery + SCHEDULER_CONNECTIONS


def _authorization(settings: Settings, identity: dict[str, Any]) -> Callable[..., AuthorizeResult]:
    """One workspace, one bot token: every request is authorised the same way, without calling Slack
    (Bolt's default asks `auth.test` on the first request, before its acknowledgement)."""
    result = AuthorizeResult(
        enterprise_id=identity.get("enterprise_id"),
        team_id=identity.get("team_id"),
        bot_token=settings.slack_bot_token,
        bot_user_id=identity.get("user_id"),
        bot_id=identity.get("bot_id"),
    )

    def authorize(**_context: Any) -> AuthorizeResult:
        return result

    return authorize


def wire(app: App, deps: Deps) -> None:
    """Hand every listener of the registry to Bolt."""
    registry = deps.registry
    commands = dict(registry.commands)
    if registry.admin:
        commands[ADMIN_COMMAND] = admin_dispatcher(registry.admin)
    on_commands(app, deps, commands, options=registry.command_options)
    for action_id, action in registry.actions:
        on_action(app, deps, action_id, action)
    for callback_id, view in registry.views:
        on_view(app, deps, callback_id, view)
    for event_type, event in registry.events:
        on_event(app, deps, event_type, event)


def build_app(settings: Settings, *, client: WebClient | None = None, **kwargs: Any) -> App:
    return build(settings, client=client, **kwargs).app


def _last_resort(error: Exception, body: dict[str, Any]) -> BoltResponse:
    """Errors our listener wrappers did not catch (middleware, Bolt itself): log and answer 200."""
    log.error("unhandled error for a %s request", body.get("type") or body.get("command"), exc_info=error)
    return BoltResponse(status=200, body="")
