"""Help texts, built from the command registry."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.kernel.commands import COMMANDS, CommandSpec, Usage

ROLE_NAMES = {"participant": "participant", "alumni": "alumni", "coach": "coach", "organiser": "organiser"}


def _visible_usages(command: CommandSpec, roles: frozenset[str]) -> list[Usage]:
    return command.usages_for(roles)


def _roles_line(roles: frozenset[str]) -> str:
    return "Your roles: " + ", ".join(sorted(roles)) + "."


def _offer_lines() -> list[str]:
    """What the bot does for members, one line a command (a newcomer's preview)."""
    return [
        f"• `{command.name}` — {command.description}"
        for command in COMMANDS
        if command.members_only and command.usages_for(frozenset({"participant", "alumni", "coach"}))
    ]


def newcomer_text(hint: str) -> str:
    """/cba-help for someone with no role: whom to ask, and what CBA Bot will do for them once registered."""
    lines = ["*CBA Bot — what you can do*", hint, "Once you are registered, CBA Bot lets you:", *_offer_lines()]
    lines.append("Until then, `/cba-help` is the command you can use.")
    return "\n".join(lines)


def newcomer_blocks(hint: str) -> list[Block]:
    offer = "\n".join(["*Once you are registered, CBA Bot lets you:*", *_offer_lines()])
    return [
        HeaderBlock(text="CBA Bot — what you can do"),
        SectionBlock(text=MarkdownTextObject(text=hint[:3000])),
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=offer[:3000])),
        ContextBlock(elements=[MarkdownTextObject(text="Until then, `/cba-help` is the command you can use.")]),
    ]


@lru_cache(maxsize=32)
def help_text(roles: frozenset[str]) -> str:
    """The help's text for a set of roles (the commands are fixed once the app is built: built once each)."""
    lines = ["*CBA Bot — what you can do*", _roles_line(roles)]
    for command in COMMANDS:
        for usage in _visible_usages(command, roles):
            lines.append(f"• `{usage.grammar}` — {usage.summary}. Example: `{usage.example}`")
    lines.append("Every command also answers `help`, e.g. `/cba-book help`.")
    return "\n".join(lines)


@lru_cache(maxsize=32)
def help_blocks_dicts(roles: frozenset[str]) -> tuple[dict[str, Any], ...]:
    """The help blocks as dicts, built and validated once per set of roles."""
    return tuple(block.to_dict() for block in help_blocks(roles))


def help_blocks(roles: frozenset[str]) -> list[Block]:
    blocks: list[Block] = [
        HeaderBlock(text="CBA Bot — what you can do"),
        ContextBlock(elements=[MarkdownTextObject(text=_roles_line(roles))]),
    ]
    for command in COMMANDS:
        usages = _visible_usages(command, roles)
        if not usages:
            continue
        lines = [f"*{command.name}* — {command.description}"]
        lines += [f"• `{u.grammar}` — {u.summary}\n   _e.g._ `{u.example}`" for u in usages]
        blocks.append(DividerBlock())
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(lines)[:3000])))
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text="Every command also answers `help`, e.g. `/cba-book help`.")])
    )
    return blocks
