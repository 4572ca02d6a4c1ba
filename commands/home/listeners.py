"""Bolt glue for the App Home: publish the dashboard, and its buttons (thin: call services, render)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.kernel.request import Reply, Turn, ViewResult
from commands.coaching import service as coaching
from commands.coaching import views as coaching_views
from commands.home import parse, service, views
from commands.questions import listeners as questions
from commands.questions.parse import Ask

log = logging.getLogger(__name__)


def home_opened(turn: Turn, event: dict[str, Any]) -> None:
    """Only the Home tab: the Messages and About tabs open the same event and show nothing of ours."""
    if event.get("tab") != "home" or not turn.user_id:
        return
    board = service.dashboard(turn.session, turn.actor, turn.now)
    view = views.home_view(board, turn.deps.settings.zone, turn.now)
    client, user_id = turn.client, turn.user_id

    def publish() -> None:
        try:
            client.views_publish(user_id=user_id, view=view)
        except SlackApiError as exc:
            log.warning("views.publish failed: %s", exc.response.get("error"))

    turn.later(publish)


def book_button(turn: Turn) -> Reply:
    """The open slots, as /cba-book shows them (the answer arrives by DM: the Home tab has no channel)."""
    settings = turn.deps.settings
    page = coaching.open_slots(turn.session, turn.actor, turn.now, settings)
    text, blocks = coaching_views.browse_blocks(page, settings.zone)
    return Reply(text, blocks)


def ask_button(turn: Turn) -> None:
    trigger, client, modal = turn.trigger_id, turn.client, views.ask_modal()

    def open_it() -> None:
        client.views_open(trigger_id=trigger, view=modal)

    turn.later(open_it)


def ask_submitted(turn: Turn) -> ViewResult:
    values = ((turn.body.get("view") or {}).get("state") or {}).get("values") or {}
    form = parse.read_ask_form(values, views.QUESTION_BLOCK, views.ANONYMOUS_BLOCK)
    return ViewResult(reply=questions.ask(turn, Ask(form.text, anonymous=form.anonymous)))
