"""Escaping of user-typed text before the bot shows it again."""

from __future__ import annotations


def escape(text: str | None) -> str:
    """Slack's three control characters, so nobody can ping @channel, fake a link or a mention."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"
