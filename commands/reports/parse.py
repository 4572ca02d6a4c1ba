"""`/cba-admin report [COHORT]`: the words, as a cohort code or None (the newest cohort)."""

from __future__ import annotations

import re

from bot.kernel.commands import spec
from commands.common.errors import UsageError
from commands.common.parsing import split_words

COMMAND = "/cba-admin"
COHORT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


def usage() -> str:
    """The usage line of `/cba-admin report`, exactly as in /cba-help."""
    lines = [
        f"• `{u.grammar}` — {u.summary}" for u in spec(COMMAND).usages if u.grammar.startswith(f"{COMMAND} report")
    ]
    return "*Usage:*\n" + "\n".join(lines)


def parse_report(rest: str) -> str | None:
    """One cohort code (case-folded to upper case), or None when no word is given."""
    words = split_words(rest)
    if not words:
        return None
    if len(words) > 1 or not COHORT_CODE.match(words[0]):
        raise UsageError("Give one cohort code, or none for the newest cohort.", usage=usage())
    return words[0].upper()
