"""Ask alumni (SPEC 4.5): /cba-ask, its buttons and modal, thread answers, the nudge, export and demo."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from bot.listener import on_action, on_command, on_event, on_view
from commands.questions import demo, exports, listeners, nudge, views

__all__ = ["demo", "exports", "nudge", "register"]


def register(app: App, deps: Deps) -> None:
    on_command(app, deps, "/cba-ask", listeners.handle_command)
    on_action(app, deps, views.ANSWER_ACTION, listeners.answer_button)
    on_action(app, deps, views.RESOLVE_ACTION, listeners.resolve_button)
    on_action(app, deps, views.PAGE_PREVIOUS_ACTION, listeners.page_button)
    on_action(app, deps, views.PAGE_NEXT_ACTION, listeners.page_button)
    on_view(app, deps, views.ANSWER_VIEW, listeners.submit_answer)
    on_event(app, deps, "message", listeners.thread_reply)
