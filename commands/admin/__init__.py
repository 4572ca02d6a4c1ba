"""/cba-admin: one slash command, subcommands contributed by features.

A feature registers `@admin_subcommand("event")` handlers in its own listeners module; this
package routes the first word to them. Every subcommand is organiser-only, checked here and
again by the handler's service (a refused action names the role it needs).
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App

from bot.deps import Deps
from bot.listener import Reply, Turn, on_command
from commands.common.errors import UsageError
from commands.common.parsing import first_word
from commands.registry import spec

COMMAND = "/cba-admin"
AdminHandler = Callable[[Turn, str], Reply | None]
_subcommands: dict[str, AdminHandler] = {}


def admin_subcommand(*names: str) -> Callable[[AdminHandler], AdminHandler]:
    """Route `/cba-admin NAME rest…` to `fn(turn, rest)`."""

    def register(fn: AdminHandler) -> AdminHandler:
        for name in names:
            _subcommands[name] = fn
        return fn

    return register


def usage_text() -> str:
    return spec(COMMAND).usage_text()


def _dispatch(turn: Turn) -> Reply | None:
    turn.actor.require("organiser", action=f"use {COMMAND}")
    word, rest = first_word(turn.text)
    if not word:
        raise UsageError("Which organiser task?", usage=usage_text())
    handler = _subcommands.get(word)
    if handler is None:
        raise UsageError(f"`{word}` is not a {COMMAND} subcommand.", usage=usage_text())
    return handler(turn, rest)


def register(app: App, deps: Deps) -> None:
    if _subcommands:
        on_command(app, deps, COMMAND, _dispatch)
