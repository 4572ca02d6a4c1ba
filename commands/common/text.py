"""Escaping of user-typed text before the bot shows it again."""

from __future__ import annotations

import re
from typing import Any


def escape(text: str | None) -> str:
    """Slack's three control characters, so nobody can ping @channel, fake a link or a mention."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


# What no stored text may hold: C0 control characters but tab and newline (carriage returns become newlines),
# DEL, C1 control characters, and lone surrogates (JSON can carry them; no database can store them).
# NUL is among them: PostgreSQL refuses it in text.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` without control characters: line breaks normalised to newline, tab kept, the rest removed."""
    if not _UNWANTED.search(text):
        return text
    return _UNWANTED.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def clean_payload(value: Any) -> Any:
    """Every string in a decoded payload (dicts and lists, in place) passed through `clean_text`; keys too."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        for key in list(value):
            item = value[key]
            cleaned = clean_payload(item)
            if isinstance(key, str) and _UNWANTED.search(key):
                del value[key]
                value[clean_text(key)] = cleaned
            elif cleaned is not item:
                value[key] = cleaned
    elif isinstance(value, list):
        for index, item in enumerate(value):
            cleaned = clean_payload(item)
            if cleaned is not item:
                value[index] = cleaned
    return value
