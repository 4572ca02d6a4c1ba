"""Feature package: homework (listeners registered by register())."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps


def register(app: App, deps: Deps) -> None:
    """Not built yet."""
