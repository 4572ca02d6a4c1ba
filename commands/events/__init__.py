"""Programme days, RSVP and check-in (SPEC 4.6), their reminders, attendance export and demo data."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from commands.events import demo, exports, listeners, reminders, replan  # noqa: F401  (registration on import)


def register(app: App, deps: Deps) -> None:
    listeners.register(app, deps)
