"""Profile fields: how each is read, checked and normalised (pure; no database, no Slack)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlparse

from commands.common.availability import DEFAULT_CAPACITY, MAX_CAPACITY
from commands.common.errors import UsageError
from commands.common.parsing import is_url, parse_date, parse_url, split_words
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
    "capacity",
    "away",
)
FIELD_ALIASES = {
    "organization": "organisation",
    "org": "organisation",
    "sector": "sectors",
    "tags": "expertise",
    "absence": "away",
}
# What `set capacity` takes instead of a number: back to the default.
DEFAULT_WORDS = frozenset({"default", *CLEAR})

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


def parse_capacity(raw: str) -> int | None:
    """Routed questions a month: 0 (none) to MAX_CAPACITY; `default` (or empty) is None, the default."""
    value = raw.strip().lower()
    if not value or value in DEFAULT_WORDS:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_CAPACITY:
        raise ValueError(
            f"'{raw.strip()[:20]}' is not a capacity: a whole number from 0 to {MAX_CAPACITY} "
            f"(questions routed to you in 30 days; 0 for none, `default` for {DEFAULT_CAPACITY})"
        )
    return int(value)


AWAY_EXAMPLE = "`away 2026-12-20 2027-01-06` or `away off`"


def parse_away(raw: str) -> tuple[date, date] | None:
    """`FROM TO` (calendar days, both inclusive) or `off`. Whether TO has passed needs the member's day: the
    service checks that (`check_away_ahead`)."""
    tokens = split_words(raw)
    if len(tokens) == 1 and tokens[0].lower() in ("off", "no", "none", "clear", "-"):
        return None
    if len(tokens) != 2:
        raise ValueError(f"an absence is two dates, FROM and TO: {AWAY_EXAMPLE}")
    try:
        first, last = (parse_date(token, usage="") for token in tokens)
    except UsageError as exc:
        raise ValueError(str(exc).rstrip(".")) from None
    if first > last:
        raise ValueError(f"the absence ends ({last.isoformat()}) before it begins ({first.isoformat()})")
    return first, last


@dataclass(frozen=True)
class FieldValue:
    """One checked field: its column name on Member and the value to store (`away`: both dates, or None)."""

    column: str
    value: object

    def assignments(self) -> list[tuple[str, object]]:
        """The Member columns to set: an absence is two."""
        if self.column == "away":
            first, last = self.value if isinstance(self.value, tuple) else (None, None)
            return [("away_from", first), ("away_until", last)]
        return [(self.column, self.value)]


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
    if field == "capacity":
        return FieldValue("question_capacity", parse_capacity(raw))
    if field == "away":
        return FieldValue("away", parse_away(raw))
    raise ValueError(f"'{field}' is not a profile field")


def field_name(word: str, usage: str) -> str:
    name = FIELD_ALIASES.get(word.lower(), word.lower())
    if name not in FIELDS:
        raise UsageError(f"'{word}' is not a profile field. Fields: {', '.join(FIELDS)}.", usage=usage)
    return name
