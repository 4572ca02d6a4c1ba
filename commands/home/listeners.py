"""Bolt glue for the App Home: queue the dashboard's refresh, draw it at send time, and its buttons."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.kernel import outbox
from bot.kernel.kinds import PUBLISH, Outgoing, Skip
from bot.kernel.request import Reply, Turn, ViewResult
from commands.coaching import listeners as coaching_listeners
from commands.common.actors import load_actor, organisers_to_ask
from commands.common.errors import not_registered_text
from commands.home import parse, service, views
from commands.questions import listeners as questions
from commands.questions.parse import Ask
from storage.models import Reminder


def home_opened(turn: Turn, event: dict[str, Any]) -> None:
    """Only the Home tab: the Messages and About tabs open the same event and show nothing of ours."""
    if event.get("tab") != "home" or not turn.user_id:
        return
    if not turn.actor.roles:
        # Not registered (SPEC 3, Membership): whom to ask, as an answer the engine forgets once shown.
        hint = not_registered_text(organisers_to_ask(turn.session, turn.deps.settings.organisers))
        view = views.not_registered_view(hint).to_dict()
        outbox.queue(
            turn.session, turn.user_id, now=turn.now, method=PUBLISH, args={"view": view}, kind=outbox.ANSWER_KIND
        )
        return
    outbox.publish_home(turn.session, turn.actor.member, now=turn.now, organisers=turn.deps.settings.organisers)


def render_home(session: Session, row: Reminder, now: datetime, zone: ZoneInfo) -> Outgoing | Skip:
    """The recipient's Home view, drawn from the database when the refresh is sent (read only)."""
    organisers = frozenset({row.recipient}) if (row.payload or {}).get(outbox.ORGANISER_MARK) else frozenset()
    actor = load_actor(session, row.recipient, organisers, create=False)
    if actor.member.erased_at is not None:
        return Skip("the member's data was erased")
    if not actor.roles:  # a role removed since the refresh was queued
        hint = not_registered_text(organisers_to_ask(session, frozenset()))
        return Outgoing(method=PUBLISH, args={"view": views.not_registered_view(hint).to_dict()})
    board = service.dashboard(session, actor, now)
    view = views.home_view(board, zone, now)
    return Outgoing(method=PUBLISH, args={"view": view.to_dict()})


def book_button(turn: Turn) -> Reply:
    """The open slots, as /cba-book shows them (the answer arrives by DM: the Home tab has no channel)."""
    return coaching_listeners.browse(turn, 0)


def ask_button(turn: Turn) -> None:
    trigger, client, modal = turn.trigger_id, turn.client, views.ask_modal()

    def open_it() -> None:
        client.views_open(trigger_id=trigger, view=modal)

    turn.later(open_it)


def ask_submitted(turn: Turn) -> ViewResult:
    values = ((turn.body.get("view") or {}).get("state") or {}).get("values") or {}
    form = parse.read_ask_form(values, views.QUESTION_BLOCK, views.ANONYMOUS_BLOCK)
    return ViewResult(reply=questions.ask(turn, Ask(form.text, anonymous=form.anonymous)))
