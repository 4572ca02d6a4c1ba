"""Pure helpers that read what users type. They raise UsageError with the usage line."""

from __future__ import annotations

import json
import re
import shlex
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from commands.common.errors import UsageError
from commands.common.text import clean_payload

_ID = re.compile(r"^#?(\d{1,9})$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL_MENTION = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$")
_LINK = re.compile(r"^<(https?://[^|>\s]+)(?:\|[^>]*)?>$")
_PLAIN_URL = re.compile(r"^https?://[^\s<>|]+\.[^\s<>|]+$")


def split_words(text: str | None) -> list[str]:
    """Split like a shell where quotes balance, else on whitespace (users type stray quotes)."""
    text = (text or "").strip()
    if not text:
        return []
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def first_word(text: str | None) -> tuple[str, str]:
    """('subcommand', 'rest of the text') — the rest keeps its spacing."""
    stripped = (text or "").strip()
    if not stripped:
        return "", ""
    head, _, rest = stripped.partition(" ")
    return head.lower(), rest.strip()


def parse_id(token: str, kind: str, usage: str) -> int:
    match = _ID.match(token.strip())
    if not match:
        article = "an" if kind[:1] in "aeiou" else "a"
        raise UsageError(f"'{token}' is not {article} {kind} ID (a number such as 12 or #12).", usage=usage)
    return int(match.group(1))


# The dates the bot takes: wide enough for any programme, narrow enough that adding a length, a reminder offset
# or a time zone to one can never leave what `datetime` represents (year 1 and year 9999 would).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


# No ID or page the bot puts on a button is larger; a forged or mangled value could be.
MAX_BUTTON_NUMBER = 999_999_999


def button_number(value: object) -> int | None:
    """The number a button carries (an ID, a page), or None: 0 to MAX_BUTTON_NUMBER, ASCII digits if text
    ("²".isdigit() is true, and int() refuses it)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_BUTTON_NUMBER else None
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= len(str(MAX_BUTTON_NUMBER)):
        return int(text)
    return None


# No list the bot pages through is this long; a larger page number is forged and would overflow an OFFSET.
MAX_PAGE = 10_000


def button_page(value: object) -> int | None:
    """The page a "Next"/"Previous" button carries, or None (see `button_number`)."""
    number = button_number(value)
    return number if number is not None and number <= MAX_PAGE else None


def button_data(value: str) -> Any:
    """A button's JSON value, decoded and cleaned as every payload is (a JSON escape can carry a NUL);
    ValueError if it is not JSON."""
    return clean_payload(json.loads(value))


def parse_date(token: str, usage: str) -> date:
    match = _DATE.match(token.strip())
    if not match:
        raise UsageError(f"'{token}' is not a date in the form YYYY-MM-DD.", usage=usage)
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise UsageError(f"'{token}' is not a real date.", usage=usage) from None
    check_date_range(day, usage)
    return day


def check_date_range(day: date, usage: str) -> None:
    """Refuse a date outside FIRST_DAY..LAST_DAY with the usage (for dates that come from elsewhere too)."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise UsageError(
            f"{day.isoformat()} is out of range: dates go from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}.",
            usage=usage,
        )


def parse_time(token: str, usage: str) -> time:
    match = _TIME.match(token.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise UsageError(f"'{token}' is not a time in the form HH:MM (24-hour clock).", usage=usage)
    return time(int(match.group(1)), int(match.group(2)))


def parse_user(token: str, usage: str) -> str:
    """A Slack user mention (`<@U123|name>`) or a bare user ID -> the user ID."""
    token = token.strip()
    match = _USER_MENTION.match(token)
    if match:
        return match.group(1)
    if re.match(r"^[UW][A-Z0-9]{2,}$", token):
        return token
    raise UsageError(f"'{token}' is not a member: mention them, e.g. @name.", usage=usage)


def parse_channel(token: str, usage: str) -> str:
    token = token.strip()
    match = _CHANNEL_MENTION.match(token)
    if match:
        return match.group(1)
    if re.match(r"^[CG][A-Z0-9]{2,}$", token):
        return token
    raise UsageError(f"'{token}' is not a channel: mention it, e.g. #cohort-channel.", usage=usage)


def parse_url(token: str, usage: str) -> str:
    """A link typed plain or as Slack escapes it (`<https://…>`, `<https://…|label>`)."""
    token = token.strip()
    match = _LINK.match(token)
    url = match.group(1) if match else token
    if not _PLAIN_URL.match(url):
        raise UsageError(f"'{token}' is not a web link starting with https://.", usage=usage)
    return url


def is_url(token: str) -> bool:
    token = token.strip()
    return bool(_LINK.match(token) or _PLAIN_URL.match(token))


def parse_minutes(token: str, usage: str) -> timedelta:
    match = re.match(r"^(\d{1,3})m$", token.strip().lower())
    if not match or not 5 <= int(match.group(1)) <= 480:
        raise UsageError(f"'{token}' is not a length such as 45m (5 to 480 minutes).", usage=usage)
    return timedelta(minutes=int(match.group(1)))


class NonexistentLocalTime(ValueError):
    """The wall-clock time falls in a daylight-saving gap."""


class AmbiguousLocalTime(ValueError):
    """The wall-clock time happens twice (daylight-saving fold)."""


def local_to_utc(day: date, at: time, zone: ZoneInfo, *, fold: int | None = None) -> datetime:
    """Wall time in `zone` -> aware UTC instant, refusing gaps and (unless `fold` is given) folds."""
    from datetime import UTC

    naive = datetime.combine(day, at)
    early = naive.replace(tzinfo=zone, fold=0)
    late = naive.replace(tzinfo=zone, fold=1)
    if early.utcoffset() != late.utcoffset():
        # A gap if the time does not survive a round trip through UTC; otherwise a fold.
        round_trip = early.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if round_trip != naive:
            raise NonexistentLocalTime(f"{day.isoformat()} {at.strftime('%H:%M')} does not exist in {zone.key}")
        if fold is None:
            raise AmbiguousLocalTime(f"{day.isoformat()} {at.strftime('%H:%M')} happens twice in {zone.key}")
        return (late if fold else early).astimezone(UTC)
    return early.astimezone(UTC)
