"""/cba-help, and the answer of commands that are not built yet."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from bot.listener import Reply, Turn, on_command
from commands.help.views import coming_soon_text, help_blocks_dicts, help_text
from commands.registry import COMMANDS


def register(app: App, deps: Deps) -> None:
    def show_help(turn: Turn) -> Reply:
        roles = turn.actor.roles
        return Reply(help_text(roles), blocks=list(help_blocks_dicts(roles)))

    on_command(app, deps, "/cba-help", show_help)


def register_placeholders(app: App, deps: Deps) -> None:
    """Commands listed in the manifest whose feature is not built yet answer that it is coming."""
    from commands.admin import _subcommands as admin_subcommands

    for command in COMMANDS:
        if command.name == "/cba-admin" and admin_subcommands:
            continue
        if not command.implemented:
            name = command.name

            def coming(turn: Turn, name: str = name) -> Reply:
                return Reply(coming_soon_text(name))

            on_command(app, deps, name, coming)
