"""`/cba-ask` text -> what the caller wants (pure; raises UsageError with the usage)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from bot.kernel.commands import spec
from commands.common.errors import UsageError
from commands.common.parsing import first_word, parse_id

COMMAND = "/cba-ask"
MIN_QUESTION_LENGTH = 10
MAX_QUESTION_LENGTH = 2500
MAX_SEARCH_LENGTH = 200


def usage() -> str:
    return spec(COMMAND).usage_text()


@dataclass(frozen=True)
class Ask:
    text: str
    anonymous: bool = False


@dataclass(frozen=True)
class ListOpen:
    page: int = 0


@dataclass(frozen=True)
class Search:
    words: str
    page: int = 0


@dataclass(frozen=True)
class Resolve:
    question_id: int


Request = Ask | ListOpen | Search | Resolve


def clean(text: str | None) -> str:
    """Drop control characters (NUL cannot even be stored in PostgreSQL), keeping newlines and tabs."""
    return "".join(ch for ch in (text or "") if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()


def parse(text: str | None) -> Request:
    raw = clean(text)
    word, rest = first_word(raw)
    if not word:
        raise UsageError("What would you like to ask the alumni?", usage=usage())
    if word == "list" and not rest:
        return ListOpen()
    if word == "search":
        if not rest:
            raise UsageError("Which words should I search for?", usage=usage())
        if len(rest) > MAX_SEARCH_LENGTH:
            raise UsageError(f"Search for at most {MAX_SEARCH_LENGTH} characters.", usage=usage())
        return Search(rest)
    if word == "resolve":
        if not rest or len(rest.split()) != 1:
            raise UsageError("Which question? Give its number, e.g. `/cba-ask resolve 7`.", usage=usage())
        return Resolve(parse_id(rest, "question", usage()))
    if word == "anon":
        return Ask(_question_text(rest), anonymous=True)
    return Ask(_question_text(raw))


def _question_text(text: str) -> str:
    text = text.strip()
    if len(text) < MIN_QUESTION_LENGTH:
        raise UsageError(
            f"A question needs at least {MIN_QUESTION_LENGTH} characters, so the alumni know what you mean.",
            usage=usage(),
        )
    if len(text) > MAX_QUESTION_LENGTH:
        raise UsageError(
            f"A question can be at most {MAX_QUESTION_LENGTH} characters; link to a document for more.",
            usage=usage(),
        )
    return text
