"""Homework (SPEC 4.4): assignments, versioned submissions, late flags, feedback and reminders."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from bot.listener import on_action, on_command, on_view

# Imported for their registrations: the reminder renderer, the CSV exporter and the demo step.
from commands.homework import demo, export, listeners, reminders, replan, views  # noqa: F401


def register(app: App, deps: Deps) -> None:
    on_command(app, deps, "/cba-homework", listeners.handle_command)
    on_action(app, deps, views.SUBMIT_ACTION, listeners.handle_submit_button)
    on_action(app, deps, listeners.PAGE_ACTIONS, listeners.handle_page)
    on_view(app, deps, views.MODAL_CALLBACK, listeners.handle_modal)
