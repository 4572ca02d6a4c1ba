"""Every feature registers its listeners here."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from commands import admin, coaching, events, home, homework, members, questions, reminders, reports
from commands import help as help_feature


def register_all(app: App, deps: Deps) -> None:
    help_feature.register(app, deps)
    members.register(app, deps)
    events.register(app, deps)
    reminders.register(app, deps)
    coaching.register(app, deps)
    homework.register(app, deps)
    questions.register(app, deps)
    reports.register(app, deps)
    home.register(app, deps)
    # After the features: they contribute /cba-admin subcommands at import time.
    admin.register(app, deps)
    # Whatever is still unbuilt answers "coming soon".
    help_feature.register_placeholders(app, deps)
