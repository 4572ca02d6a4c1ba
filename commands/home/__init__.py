"""App Home (SPEC 4.8): the viewer's own dashboard, and buttons to the main actions."""

from __future__ import annotations

from bot.kernel import outbox
from bot.kernel.registry import Registry
from commands.home import listeners, views


def register(registry: Registry) -> None:
    registry.event("app_home_opened", listeners.home_opened)
    registry.reminder_kind(outbox.HOME_KIND, listeners.render_home)
    registry.action(views.BOOK_ACTION, listeners.book_button)
    registry.action(views.ASK_ACTION, listeners.ask_button)
    registry.view(views.ASK_MODAL, listeners.ask_submitted)
