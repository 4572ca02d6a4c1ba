"""Members: profiles, the directory, roles, onboarding, roster import/export and privacy (SPEC 4.2, 4.9)."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from commands.members import data, listeners  # noqa: F401  (data registers the exporter and the demo step)


def register(app: App, deps: Deps) -> None:
    listeners.register(app, deps)
