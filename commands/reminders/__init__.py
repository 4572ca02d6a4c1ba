"""The reminder engine: planning (planning.py), what each kind says (kinds.py), delivery (engine.py)."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from commands.reminders import engine  # noqa: F401  (registers the "reminders" tick)


def register(app: App, deps: Deps) -> None:
    """Reminders have no slash command; the scheduler drives delivery."""
