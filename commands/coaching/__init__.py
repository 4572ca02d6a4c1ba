"""Coaching (SPEC 4.3): coaches publish slots (/cba-slots), participants book them (/cba-book)."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps

# Imported for their registrations: the reminder renderer, the CSV exporter and the demo step.
from commands.coaching import demo, exports, reminders  # noqa: F401


def register(app: App, deps: Deps) -> None:
    from commands.coaching import listeners

    listeners.register(app, deps)
