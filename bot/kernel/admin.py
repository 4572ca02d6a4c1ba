"""/cba-admin: one slash command, its subcommands contributed by features.

A feature registers `registry.admin_subcommand(handler, "event")`; this module routes the first
word to it. Every subcommand is organiser-only, checked here and again by the handler's service
(a refused action names the role it needs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.kernel.commands import spec
from bot.kernel.request import CommandHandler, Reply, Turn
from commands.common.errors import UsageError
from commands.common.parsing import first_word

if TYPE_CHECKING:
    from bot.kernel.registry import AdminHandler

COMMAND = "/cba-admin"


def usage_text() -> str:
    return spec(COMMAND).usage_text()


def dispatcher(subcommands: Mapping[str, AdminHandler]) -> CommandHandler:
    """The /cba-admin handler over the registered subcommands."""

    def dispatch(turn: Turn) -> Reply | None:
        turn.actor.require("organiser", action=f"use {COMMAND}")
        word, rest = first_word(turn.text)
        if not word:
            raise UsageError("Which organiser task?", usage=usage_text())
        handler = subcommands.get(word)
        if handler is None:
            raise UsageError(f"`{word}` is not a {COMMAND} subcommand.", usage=usage_text())
        return handler(turn, rest)

    return dispatch
