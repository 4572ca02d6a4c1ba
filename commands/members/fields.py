"""Profile fields: how each is read, checked and normalised (pure; no database, no Slack)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlparse

from commands.common.errors import UsageError
from commands.common.parsing import is_url, parse_url
from commands.members.eligibility import is_country

MAX_NAME = 100
MAX_TEXT = 200
MAX_BIO = 600
MAX_TAGS = 20
MAX_TAG = 50
YES = frozenset({"yes", "y", "on", "true", "1"})
NO = frozenset({"no", "n", "off", "false", "0"})
CLEAR = frozenset({"-", "none", "clear"})

# The fields `/cba-profile set FIELD VALUE` accepts, in the order the card and the modal show them.
FIELDS = (
    "name",
    "organisation",
    "country",
    "region",
    "sectors",
    "expertise",
    "bio",
    "linkedin",
    "eccp",
    "visible",
    "questions",
)
FIELD_ALIASES = {"organization": "organisation", "org": "organisation", "sector": "sectors", "tags": "expertise"}

_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str | None) -> str:
    """Lower-case ASCII: accents stripped, case folded ('Škoda Straße' -> 'skoda strasse')."""
    if text is None or text.isascii():
        return (text or "").lower()  # the same result, without decomposing it letter by letter
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).encode("ascii", "ignore").decode()


def words(text: str | None) -> list[str]:
    """The searchable words of a text: folded, alphanumerics only."""
    return _WORD.findall(fold(text))


def tag_key(tag: str) -> str:
    """A tag as the filters match it: 'Smart-Mobility ' and 'smart mobility' are the same tag."""
    return " ".join(words(tag))


def sort_key(name: str) -> str:
    return "".join(words(name))[:200]


def normalise_tags(raw: str | list[str]) -> list[str]:
    """Comma-separated (or listed) tags: trimmed, inner spaces collapsed, de-duplicated, shown as typed."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    seen: set[str] = set()
    tags: list[str] = []
    for item in items:
        tag = " ".join(str(item).split())
        key = tag_key(tag)
        if not key or key in seen:
            continue
        if len(tag) > MAX_TAG:
            raise ValueError(f"'{tag[:MAX_TAG]}…' is longer than {MAX_TAG} characters")
        seen.add(key)
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return tags


def parse_country(raw: str) -> str | None:
    value = raw.strip().upper()
    if value.lower() in CLEAR or not value:
        return None
    if len(value) != 2 or not is_country(value):
        raise ValueError(f"'{raw.strip()}' is not an ISO 3166 country code (two letters, e.g. IT, DE, UA)")
    return value


def parse_link(raw: str, *, linkedin: bool) -> str | None:
    value = raw.strip()
    if not value or value.lower() in CLEAR:
        return None
    if not is_url(value):
        raise ValueError(f"'{value}' is not a web link starting with https://")
    url = parse_url(value, usage="")
    host = (urlparse(url).hostname or "").lower()
    if linkedin and not (host == "linkedin.com" or host.endswith(".linkedin.com")):
        raise ValueError(f"'{value}' is not a LinkedIn profile link (https://www.linkedin.com/in/…)")
    if len(url) > 500:
        raise ValueError("that link is longer than 500 characters")
    return url


def parse_flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    raise ValueError(f"'{raw.strip()}' is not yes or no")


def parse_text(raw: str, limit: int, *, required: bool = False, label: str = "it") -> str:
    value = " ".join(raw.split()) if limit <= MAX_TEXT else raw.strip()
    if required and not value:
        raise ValueError(f"{label} cannot be empty")
    if len(value) > limit:
        raise ValueError(f"{label} is longer than {limit} characters")
    return value


@dataclass(frozen=True)
class FieldValue:
    """One checked field: its column name on Member and the value to store."""

    column: str
    value: object


def check_field(field: str, raw: str) -> FieldValue:
    """Read one field as typed (in a command or a modal); ValueError says what is wrong."""
    if field == "name":
        return FieldValue("name", parse_text(raw, MAX_NAME, required=True, label="the name"))
    if field in ("organisation", "region"):
        return FieldValue(field, parse_text(raw, MAX_TEXT, label=f"the {field}"))
    if field == "country":
        return FieldValue("country", parse_country(raw))
    if field in ("sectors", "expertise"):
        return FieldValue(field, normalise_tags(raw))
    if field == "bio":
        return FieldValue("bio", parse_text(raw, MAX_BIO, label="the bio"))
    if field in ("linkedin", "eccp"):
        return FieldValue(field, parse_link(raw, linkedin=field == "linkedin"))
    if field == "visible":
        return FieldValue("visible", parse_flag(raw))
    if field == "questions":
        return FieldValue("accepts_questions", parse_flag(raw))
    raise ValueError(f"'{field}' is not a profile field")


def field_name(word: str, usage: str) -> str:
    name = FIELD_ALIASES.get(word.lower(), word.lower())
    if name not in FIELDS:
        raise UsageError(f"'{word}' is not a profile field. Fields: {', '.join(FIELDS)}.", usage=usage)
    return name
