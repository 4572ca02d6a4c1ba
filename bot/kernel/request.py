"""Adapters between Bolt and our handlers: one transaction per request, the answer is the acknowledgement.

The app runs with `process_before_response=True`: Bolt calls the listener in the request's own thread
and sends what it acks as the HTTP answer (no 10 ms ack polling, no listener pool to starve). Each request
gets one Session and transaction; the answer is computed from the database alone and given once the
transaction has committed; a rejected request rolls back and changes nothing. Everything the request
makes the bot say to others (DMs, posts, files, Home refreshes, the answer to a button or a form) is an
outbox row written in the same transaction and delivered after the commit by the courier. Only
`views.open`/`views.push` run right after the commit (`turn.later`), since they need the trigger.
An answer computed too late for Slack's 3 s window goes to the request's response_url instead.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot.kernel import outbox
from bot.kernel.commands import spec
from bot.kernel.deps import Deps
from bot.kernel.metrics import slack_error_labels
from bot.kernel.registry import CommandOptions
from commands.common.actors import Actor, load_actor, load_caller
from commands.common.errors import CbaError, FieldErrors, UsageError
from commands.common.text import clean_payload, truncate
from commands.common.timefmt import zone_of
from storage.db import deferred_begin, is_lost_connection, is_write_conflict
from storage.models import ProcessedEvent

T = TypeVar("T")

log = logging.getLogger(__name__)

HELP_WORDS = frozenset({"help", "-h", "--help", "?"})
# The longest text a command takes (a homework answer is up to 10,000 characters, plus the command's words);
# each feature has its own, smaller limits for what it stores.
MAX_COMMAND_TEXT = 12_000
# Slack gives up on an acknowledgement after 3 s; an answer ready later than this goes to the response_url.
ACK_BUDGET_SECONDS = 2.5


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
    _after: list[Callable[[], object]] = field(default_factory=list)
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

    def later(self, fn: Callable[[], object]) -> None:
        """Run `fn` after the transaction commits (Slack calls, notifications)."""
        self._after.append(fn)

    def zone(self) -> ZoneInfo:
        """The caller's time zone from their member row (kept fresh by the zone refresh), else CBA_TIMEZONE."""
        if self._zone is None:
            self._zone = zone_of(self.actor.tz, self.deps.settings.zone)
        return self._zone


def clean_request(body: dict[str, Any]) -> None:
    """Strip control characters, NUL and lone surrogates from everything a user gave (in place), before any
    feature sees it: command text, button values, form fields, event texts. What the bot wrote itself and
    Slack sends back (the message a button sits in, a view's blocks) is left as it is: large, and ours."""
    for key, value in body.items():
        if key == "message":
            continue
        if key == "view" and isinstance(value, dict):
            for part, inner in value.items():
                if part != "blocks":
                    value[part] = clean_payload(inner)
            continue
        body[key] = clean_payload(value)


def private_metadata(body: dict[str, Any]) -> dict[str, Any]:
    raw = (body.get("view") or {}).get("private_metadata") or ""
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def transact(deps: Deps, work: Callable[[Session], T], *, writes: bool = False) -> T:
    """One request's transaction. On SQLite it begins deferred (most requests only read, and WAL lets
    reads run beside a writer); if another writer committed first, it runs once more, begun IMMEDIATE.
    A request known to write (`writes`) begins IMMEDIATE at once. If the database had closed the pooled
    connection (PostgreSQL restarted), nothing was done: the request runs once more on a new connection."""
    try:
        return _transact(deps, work, writes=writes)
    except DBAPIError as exc:
        if not is_lost_connection(exc):
            raise
    log.warning("the database connection was lost; the request runs again on a new one")
    return _transact(deps, work, writes=writes)


def _transact(deps: Deps, work: Callable[[Session], T], *, writes: bool) -> T:
    if writes:
        with deps.sessions.begin() as session:
            return work(session)
    with deferred_begin():
        try:
            with deps.sessions.begin() as session:
                return work(session)
        except OperationalError as exc:
            if not is_write_conflict(exc):
                raise
    log.info("a request met a concurrent writer; run again with the write lock")
    with deps.sessions.begin() as session:
        return work(session)


def _ref() -> str:
    return secrets.token_hex(3)


def _run_after(turn: Turn) -> None:
    """After the commit: wake the courier if the transaction queued messages, then the direct calls."""
    if turn.session.info.pop(outbox.QUEUED, False) and turn.deps.courier is not None:
        turn.deps.courier.wake()
    if not turn._after:
        return
    with turn.deps.admission.step_aside():  # these wait on Slack: let the next request work meanwhile
        for fn in turn._after:
            try:
                fn()
            except SlackApiError as exc:
                turn.deps.metrics.slack_error(*slack_error_labels(exc, "after commit"))
                log.exception("a follow-up after commit failed")
            except Exception:
                log.exception("a follow-up after commit failed")


def _open_turn(
    deps: Deps,
    session: Session,
    body: dict[str, Any],
    client: WebClient,
    ack: Ack,
    *,
    members_only: bool = True,
    whole_member: bool = False,
) -> Turn:
    """The turn of a command, button or form: a caller with no role is refused unless not `members_only`."""
    organisers = deps.settings.organisers
    actor = load_caller(session, caller_id(body), organisers, members_only=members_only, whole_member=whole_member)
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


def on_commands(
    app: App, deps: Deps, handlers: Mapping[str, CommandHandler], *, options: Mapping[str, CommandOptions] | None = None
) -> None:
    """Register all slash commands as one Bolt listener that picks the handler by the command's name.

    Bolt tries its listeners in turn, and each try builds its matcher's arguments: with a listener per
    command, a request paid for every command registered before its own (and every button or form for
    all the commands)."""
    listeners = {
        name: _command_listener(deps, name, handler, (options or {}).get(name, CommandOptions()))
        for name, handler in handlers.items()
    }

    def listener(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        listeners[str(body.get("command"))](ack, body, client)

    app.command(re.compile("^(?:" + "|".join(re.escape(name) for name in listeners) + ")$"))(listener)


def on_command(app: App, deps: Deps, name: str, handler: CommandHandler, options: CommandOptions | None = None) -> None:
    """Register `handler` for slash command `name`; `help` and errors are answered here."""
    app.command(name)(_command_listener(deps, name, handler, options or CommandOptions()))


def _command_listener(
    deps: Deps, name: str, handler: CommandHandler, options: CommandOptions
) -> Callable[[Ack, dict[str, Any], WebClient], None]:
    command_spec = spec(name)

    def listener(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        started = time.monotonic()
        clean_request(body)

        def work(session: Session) -> tuple[Turn, Reply | None]:
            turn = _open_turn(
                deps,
                session,
                body,
                client,
                ack,
                members_only=command_spec.members_only,
                whole_member=options.whole_member,
            )
            if turn.actor.roles and str(body.get("text") or "").strip().lower() in HELP_WORDS:
                return turn, Reply(command_spec.usage_text(turn.actor.roles))
            if len(turn.text) > MAX_COMMAND_TEXT:
                raise UsageError(
                    f"That is {len(turn.text):,} characters long; `{name}` takes at most {MAX_COMMAND_TEXT:,}.",
                    usage=command_spec.usage_text(turn.actor.roles),
                )
            return turn, handler(turn)

        turn: Turn | None = None
        reply: Reply | None = None
        outcome = "answered"
        text = str(body.get("text") or "")
        try:
            turn, reply = transact(deps, work, writes=options.writes is not None and options.writes(text))
        except CbaError as exc:
            reply, turn, outcome = Reply(exc.user_text()), None, "refused"
        except Exception:
            ref = _ref()
            log.exception("command %s failed (ref %s)", name, ref)
            reply, turn, outcome = Reply(_apology(ref)), None, "error"
        if turn is not None:
            _run_after(turn)
        if _answer_command(deps, ack, body, reply, started, name) and outcome != "error":
            outcome = "late"
        deps.metrics.request("command", name, outcome, started)

    return listener


def _answer_command(deps: Deps, ack: Ack, body: dict[str, Any], reply: Reply | None, started: float, name: str) -> bool:
    """The answer is the acknowledgement; if it is too late for Slack, it goes to the response_url (True)."""
    if ack.response is not None:
        return False
    if reply is None:
        ack()
        return False
    kwargs = _reply_kwargs(reply, name)
    late = time.monotonic() - started > ACK_BUDGET_SECONDS
    response_url = str(body.get("response_url") or "")
    if late and response_url:
        log.warning(
            "the answer to %s was ready after %.1f s: sent to the response_url", name, time.monotonic() - started
        )
        _queue_reply(deps, body, reply)
        ack()
        return True
    ack(response_type="in_channel" if reply.in_channel else "ephemeral", **kwargs)
    return False


def _reply_kwargs(reply: Reply, name: str) -> dict[str, Any]:
    """text and blocks as dicts; a view that broke a Block Kit limit is still answered, in plain text."""
    kwargs: dict[str, Any] = {"text": reply.text}
    if reply.blocks:
        try:
            kwargs["blocks"] = [block if isinstance(block, dict) else block.to_dict() for block in reply.blocks]
        except SlackObjectFormationError:
            log.exception("the answer to %s broke a Block Kit limit; sent as text", name)
            kwargs["text"] = truncate(reply.text, 3000)
    return kwargs


# --- answers that cannot be the acknowledgement ---------------------------------------------------


def _queue_reply_in(session: Session, deps: Deps, body: dict[str, Any], reply: Reply) -> None:
    """The answer to a button, a form or a late command, as an outbox row: the message's response_url,
    else ephemerally in the channel it came from, else a DM."""
    user_id = caller_id(body)
    if not user_id:
        return
    kwargs = _reply_kwargs(reply, "a reply")
    text, blocks = kwargs["text"], kwargs.get("blocks")
    now = deps.clock()
    response_url = body.get("response_url")
    if response_url:
        outbox.respond(
            session, str(response_url), user_id, text, blocks, now=now, replace_original=reply.replace_original
        )
        return
    channel = (body.get("channel") or {}).get("id") or private_metadata(body).get("channel_id")
    if channel and not str(channel).startswith("D"):
        outbox.tell_ephemeral(session, str(channel), user_id, text, blocks, now=now, kind=outbox.ANSWER_KIND)
    else:
        outbox.tell(session, user_id, text, blocks, now=now, kind=outbox.ANSWER_KIND)


def _queue_reply(deps: Deps, body: dict[str, Any], reply: Reply) -> None:
    """The same, in a transaction of its own (the request's was rolled back, or is over)."""
    try:
        with deps.sessions.begin() as session:
            _queue_reply_in(session, deps, body, reply)
    except Exception:
        log.exception("could not queue an answer")
        return
    if deps.courier is not None:
        deps.courier.wake()


def _transact_or_answer(
    deps: Deps, body: dict[str, Any], what: str, work: Callable[[Session], T]
) -> tuple[T | None, str]:
    """The request's transaction and its outcome; a refusal or a failure is answered through the outbox
    (and gives None). Field errors are the caller's to answer: they go back onto the modal's fields."""
    try:
        return transact(deps, work), "answered"
    except FieldErrors:
        raise
    except CbaError as exc:
        _queue_reply(deps, body, Reply(exc.user_text()))
        return None, "refused"
    except Exception:
        ref = _ref()
        log.exception("%s failed (ref %s)", what, ref)
        _queue_reply(deps, body, Reply(_apology(ref)))
    return None, "error"


# --- buttons and other block actions -----------------------------------------------------------

ActionHandler = Callable[[Turn], Reply | None]


def on_action(app: App, deps: Deps, action_id: str | Any, handler: ActionHandler) -> None:
    """Register a block action: acknowledged empty; the answer follows through the outbox, written in
    the same transaction as what the button changed."""
    name = str(getattr(action_id, "pattern", action_id))

    def listener(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        clean_request(body)
        started = time.monotonic()

        def work(session: Session) -> Turn:
            turn = _open_turn(deps, session, body, client, ack)
            reply = handler(turn)
            if reply is not None:
                _queue_reply_in(session, deps, body, reply)
            return turn

        turn, outcome = _transact_or_answer(deps, body, f"action {action_id}", work)
        if turn is not None:
            _run_after(turn)
        if ack.response is None:
            ack()
        deps.metrics.request("action", name, outcome, started)

    app.action(action_id)(listener)


# --- modal submissions -------------------------------------------------------------------------

ViewHandler = Callable[[Turn], ViewResult | None]


def on_view(app: App, deps: Deps, callback_id: str, handler: ViewHandler) -> None:
    """Register a modal submission. Field errors go back onto the fields; the modal stays open."""

    def listener(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        clean_request(body)
        started = time.monotonic()

        def work(session: Session) -> tuple[Turn, ViewResult]:
            turn = _open_turn(deps, session, body, client, ack)
            result = handler(turn) or ViewResult()
            if result.reply is not None:
                _queue_reply_in(session, deps, body, result.reply)
            return turn, result

        try:
            done, outcome = _transact_or_answer(deps, body, f"view {callback_id}", work)
        except FieldErrors as exc:
            ack(response_action="errors", errors=exc.errors)
            deps.metrics.request("view", callback_id, "refused", started)
            return
        turn, result = done if done is not None else (None, ViewResult())
        if turn is not None:
            _run_after(turn)
        if ack.response is None:
            if result.update is not None:
                ack(response_action="update", view=result.update)
            else:
                ack()
        deps.metrics.request("view", callback_id, outcome, started)

    app.view(callback_id)(listener)


# --- Events API --------------------------------------------------------------------------------

EventHandler = Callable[[Turn, dict[str, Any]], None]


def on_event(app: App, deps: Deps, event_type: str | dict[str, Any], handler: EventHandler) -> None:
    """Register an event. Each `event_id` is handled once: Slack's retries change nothing.

    The processed-event row is written in the same transaction as the handler's effects, so a
    failed attempt leaves no mark and the retry gets its chance.
    """

    name = str(event_type.get("type") if isinstance(event_type, dict) else event_type)

    def listener(body: dict[str, Any], event: dict[str, Any], client: WebClient, ack: Ack) -> None:
        clean_request(body)  # `event` is a part of `body`: cleaned with it
        started = time.monotonic()
        outcome = _handle_event(deps, body, event, client, ack, handler)
        deps.metrics.request("event", name, outcome, started)

    app.event(event_type)(listener)


def _handle_event(
    deps: Deps, body: dict[str, Any], event: dict[str, Any], client: WebClient, ack: Ack, handler: EventHandler
) -> str:
    """Handle one delivery of an event; its outcome (for the metrics)."""
    event_id = str(body.get("event_id") or "")

    def work(session: Session) -> Turn | None:
        if event_id:
            if session.get(ProcessedEvent, event_id) is not None:
                return None
            session.add(ProcessedEvent(event_id=event_id, received_at=deps.clock()))
            session.flush()
        # Events carry no gate (each handler decides); an unknown author stays unsaved.
        actor = load_actor(session, caller_id(body), deps.settings.organisers, create=False)
        turn = Turn(deps, session, actor, body, client, deps.clock(), ack, log)
        handler(turn, event)
        return turn

    try:
        turn = transact(deps, work)
        if turn is None:
            return "duplicate"
    except IntegrityError:
        log.info("event %s was handled concurrently; skipped", event_id)
        return "duplicate"
    except CbaError as exc:
        # The refusal's text is for the member and may quote what they wrote: only its kind is logged.
        log.info("event %s refused (%s)", event_id, type(exc).__name__)
        return "refused"
    except Exception:
        log.exception("event %s failed (ref %s)", event_id, _ref())
        return "error"
    _run_after(turn)
    return "answered"
