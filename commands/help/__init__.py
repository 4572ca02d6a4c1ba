"""/cba-help: the commands the caller may use, with an example each."""

from __future__ import annotations

from bot.kernel.registry import Registry
from bot.kernel.request import Reply, Turn
from commands.help.views import help_blocks_dicts, help_text


def show_help(turn: Turn) -> Reply:
    roles = turn.actor.roles
    return Reply(help_text(roles), blocks=list(help_blocks_dicts(roles)))


def register(registry: Registry) -> None:
    registry.command("/cba-help", show_help)
