"""App Home (SPEC 4.8): the viewer's own dashboard, and buttons to the main actions."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from bot.listener import on_action, on_event, on_view
from commands.home import listeners, views


def register(app: App, deps: Deps) -> None:
    on_event(app, deps, "app_home_opened", listeners.home_opened)
    on_action(app, deps, views.BOOK_ACTION, listeners.book_button)
    on_action(app, deps, views.ASK_ACTION, listeners.ask_button)
    on_view(app, deps, views.ASK_MODAL, listeners.ask_submitted)
