"""Every feature registers its listeners here."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from commands import help as help_feature


def register_all(app: App, deps: Deps) -> None:
    help_feature.register(app, deps)
    # Features register above this line; whatever is still unbuilt answers "coming soon".
    help_feature.register_placeholders(app, deps)
