"""/cba-help: the commands the caller may use, with an example each."""

from __future__ import annotations

from bot.kernel.registry import Registry
from bot.kernel.request import Reply, Turn
from commands.common.actors import organisers_to_ask
from commands.common.errors import not_registered_text
from commands.help.views import help_blocks_dicts, help_text, newcomer_blocks, newcomer_text


def show_help(turn: Turn) -> Reply:
    roles = turn.actor.roles
    if not roles:
        hint = not_registered_text(organisers_to_ask(turn.session, turn.deps.settings.organisers))
        return Reply(newcomer_text(hint), blocks=newcomer_blocks(hint))
    return Reply(help_text(roles), blocks=list(help_blocks_dicts(roles)))


def register(registry: Registry) -> None:
    registry.command("/cba-help", show_help)
