"""Organiser reports (SPEC 4.9): `/cba-admin report [COHORT]` and `cba-bot export report`."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from commands.reports import exports, listeners  # noqa: F401  (registration on import)


def register(app: App, deps: Deps) -> None:
    listeners.register(app, deps)
