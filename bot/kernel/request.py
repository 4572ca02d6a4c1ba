"""Adapters between Bolt and our handlers: one transaction per request, errors as answers.

Bolt runs listeners on its thread pool *after* global middleware has returned (it returns as soon as
`ack()` is called), so a middleware cannot own the transaction. These wrappers do instead: each
request gets one Session and transaction; a handler's result is committed before the user is told
anything; a rejected request rolls back and changes nothing; Slack calls queued with `turn.later()`
run only after the commit.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.kernel.commands import spec
from bot.kernel.deps import Deps
from bot.kernel.outbox import QUEUED
from commands.common.actors import Actor, load_actor
from commands.common.errors import CbaError, FieldErrors
from commands.common.text import truncate
from storage.models import ProcessedEvent

log = logging.getLogger(__name__)

TZ_REFRESH = timedelta(days=1)
HELP_WORDS = frozenset({"help", "-h", "--help", "?"})


@dataclass
class Reply:
    """What the user sees in answer: ephemeral unless `in_channel`."""

    text: str
    # Block objects, or their dicts (cached views skip slack_sdk's conversion on every reply).
    blocks: Sequence[Block | dict[str, Any]] | None = None
    in_channel: bool = False
    replace_original: bool = False


@dataclass
class ViewResult:
    """What a view submission answers: close (default), or update the modal in place."""

    update: View | None = None
    reply: Reply | None = None


@dataclass
class Turn:
    """One request being handled: its session, caller and Slack handles."""

    deps: Deps
    session: Session
    actor: Actor
    body: dict[str, Any]
    client: WebClient
    now: datetime
    ack_fn: Ack
    logger: logging.Logger
    _after: list[Callable[[], None]] = field(default_factory=list)
    _zone: ZoneInfo | None = None

    @property
    def user_id(self) -> str:
        return self.actor.slack_id

    @property
    def channel_id(self) -> str | None:
        channel = self.body.get("channel_id") or (self.body.get("channel") or {}).get("id")
        if channel:
            return str(channel)
        meta = private_metadata(self.body)
        return meta.get("channel_id")

    @property
    def trigger_id(self) -> str | None:
        return self.body.get("trigger_id")

    @property
    def text(self) -> str:
        return str(self.body.get("text") or "")

    def later(self, fn: Callable[[], None]) -> None:
        """Run `fn` after the transaction commits (Slack calls, notifications)."""
        self._after.append(fn)

    def ack(self, **kwargs: Any) -> None:
        """Acknowledge early, e.g. before opening a modal (which needs the trigger within 3 s)."""
        if self.ack_fn.response is None:
            self.ack_fn(**kwargs)

    def zone(self) -> ZoneInfo:
        """The caller's Slack time zone (users.info, cached a day), else CBA_TIMEZONE."""
        if self._zone is None:
            self._zone = user_zone(self.client, self.session, self.actor, self.deps, self.now)
        return self._zone


def private_metadata(body: dict[str, Any]) -> dict[str, Any]:
    raw = (body.get("view") or {}).get("private_metadata") or ""
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def user_zone(client: WebClient, session: Session, actor: Actor, deps: Deps, now: datetime) -> ZoneInfo:
    member = actor.member
    fresh = member.tz_checked_at is not None and now - member.tz_checked_at < TZ_REFRESH
    if not fresh and member.slack_id:
        try:
            info = client.users_info(user=member.slack_id)
            member.tz = (info.get("user") or {}).get("tz") or None
        except SlackApiError as exc:
            log.warning("users.info failed for a member: %s", exc.response.get("error"))
        member.tz_checked_at = now
        session.flush()
    if member.tz:
        try:
            return ZoneInfo(member.tz)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return deps.settings.zone


def _ref() -> str:
    return secrets.token_hex(3)


def _run_after(turn: Turn) -> None:
    """After the commit: wake the courier if the transaction queued messages, then the direct calls."""
    if turn.session.info.pop(QUEUED, False) and turn.deps.courier is not None:
        turn.deps.courier.wake()
    for fn in turn._after:
        try:
            fn()
        except Exception:
            log.exception("a follow-up after commit failed")


def _open_turn(
    deps: Deps, session: Session, body: dict[str, Any], client: WebClient, ack: Ack, *, create: bool = True
) -> Turn:
    actor = load_actor(session, caller_id(body), deps.settings.organisers, create=create)
    return Turn(deps, session, actor, body, client, deps.clock(), ack, log)


def caller_id(body: dict[str, Any]) -> str:
    """The user a payload comes from: slash command, interaction or event (team_join nests a user object)."""
    user = body.get("user_id") or body.get("user") or (body.get("event") or {}).get("user") or ""
    if isinstance(user, dict):
        user = user.get("id") or ""
    return str(user)


def _apology(ref: str) -> str:
    return (
        f":warning: Sorry, something went wrong on our side (reference `{ref}`). Nothing was changed; please try again."
    )


# --- slash commands ----------------------------------------------------------------------------

CommandHandler = Callable[[Turn], Reply | None]


def on_command(app: App, deps: Deps, name: str, handler: CommandHandler) -> None:
    """Register `handler` for slash command `name`; `help` and errors are answered here."""
    command_spec = spec(name)

    def listener(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        def answer(reply: Reply) -> None:
            kwargs: dict[str, Any] = {
                "text": reply.text,
                "response_type": "in_channel" if reply.in_channel else "ephemeral",
            }
            if reply.blocks:
                kwargs["blocks"] = reply.blocks
            try:
                _send(kwargs)
            except SlackObjectFormationError:
                # A view broke a Block Kit limit: the work is done, so still say so, in plain text.
                log.exception("the answer to %s broke a Block Kit limit; sent as text", name)
                kwargs.pop("blocks", None)
                kwargs["text"] = truncate(reply.text, 3000)
                _send(kwargs)

        def _send(kwargs: dict[str, Any]) -> None:
            if ack.response is None:
                ack(**kwargs)
            else:
                respond(**kwargs)

        turn: Turn | None = None
        try:
            with deps.sessions.begin() as session:
                turn = _open_turn(deps, session, body, client, ack)
                if str(body.get("text") or "").strip().lower() in HELP_WORDS:
                    reply: Reply | None = Reply(command_spec.usage_text(turn.actor.roles))
                else:
                    reply = handler(turn)
        except CbaError as exc:
            answer(Reply(exc.user_text()))
            return
        except Exception:
            ref = _ref()
            log.exception("command %s failed (ref %s)", name, ref)
            answer(Reply(_apology(ref)))
            return
        if reply is not None:
            answer(reply)
        elif ack.response is None:
            ack()
        _run_after(turn)

    app.command(name)(listener)


# --- buttons and other block actions -----------------------------------------------------------

ActionHandler = Callable[[Turn], Reply | None]


def on_action(app: App, deps: Deps, action_id: str | Any, handler: ActionHandler) -> None:
    """Register a block action. It is acknowledged at once; the answer follows as an ephemeral message."""

    def listener(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        turn: Turn | None = None
        try:
            with deps.sessions.begin() as session:
                turn = _open_turn(deps, session, body, client, ack)
                reply = handler(turn)
        except CbaError as exc:
            _tell(body, client, respond, Reply(exc.user_text()))
            return
        except Exception:
            ref = _ref()
            log.exception("action %s failed (ref %s)", action_id, ref)
            _tell(body, client, respond, Reply(_apology(ref)))
            return
        if reply is not None:
            _tell(body, client, respond, reply)
        _run_after(turn)

    app.action(action_id)(listener)


def _tell(body: dict[str, Any], client: WebClient, respond: Respond | None, reply: Reply) -> None:
    """Answer the user where they are: the message's response_url, the channel ephemerally, else a DM."""
    user_id = caller_id(body)
    kwargs: dict[str, Any] = {"text": reply.text}
    if reply.blocks:
        kwargs["blocks"] = reply.blocks
    try:
        if body.get("response_url") and respond is not None:
            respond(response_type="ephemeral", replace_original=reply.replace_original, **kwargs)
            return
        channel = (body.get("channel") or {}).get("id") or private_metadata(body).get("channel_id")
        if channel and not str(channel).startswith("D") and user_id:
            client.chat_postEphemeral(channel=channel, user=user_id, **kwargs)
        elif user_id:
            client.chat_postMessage(channel=user_id, **kwargs)
    except SlackApiError as exc:
        log.warning("could not deliver an answer: %s", exc.response.get("error"))


# --- modal submissions -------------------------------------------------------------------------

ViewHandler = Callable[[Turn], ViewResult | None]


def on_view(app: App, deps: Deps, callback_id: str, handler: ViewHandler) -> None:
    """Register a modal submission. Field errors go back onto the fields; the modal stays open."""

    def listener(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        turn: Turn | None = None
        try:
            with deps.sessions.begin() as session:
                turn = _open_turn(deps, session, body, client, ack)
                result = handler(turn) or ViewResult()
        except FieldErrors as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except CbaError as exc:
            ack()
            _tell(body, client, None, Reply(exc.user_text()))
            return
        except Exception:
            ref = _ref()
            log.exception("view %s failed (ref %s)", callback_id, ref)
            if ack.response is None:
                ack()
            _tell(body, client, None, Reply(_apology(ref)))
            return
        if ack.response is None:
            if result.update is not None:
                ack(response_action="update", view=result.update)
            else:
                ack()
        if result.reply is not None:
            _tell(body, client, None, result.reply)
        _run_after(turn)

    app.view(callback_id)(listener)


# --- Events API --------------------------------------------------------------------------------

EventHandler = Callable[[Turn, dict[str, Any]], None]


def on_event(app: App, deps: Deps, event_type: str | dict[str, Any], handler: EventHandler) -> None:
    """Register an event. Each `event_id` is handled once: Slack's retries change nothing.

    The processed-event row is written in the same transaction as the handler's effects, so a
    failed attempt leaves no mark and the retry gets its chance.
    """

    def listener(body: dict[str, Any], event: dict[str, Any], client: WebClient, ack: Ack) -> None:
        event_id = str(body.get("event_id") or "")
        turn: Turn | None = None
        try:
            with deps.sessions.begin() as session:
                if event_id:
                    if session.get(ProcessedEvent, event_id) is not None:
                        return
                    session.add(ProcessedEvent(event_id=event_id, received_at=deps.clock()))
                    session.flush()
                turn = _open_turn(deps, session, body, client, ack, create=False)
                handler(turn, event)
        except IntegrityError:
            log.info("event %s was handled concurrently; skipped", event_id)
            return
        except CbaError as exc:
            log.info("event %s refused: %s", event_id, exc.message)
            return
        except Exception:
            log.exception("event %s failed (ref %s)", event_id, _ref())
            return
        _run_after(turn)

    app.event(event_type)(listener)
