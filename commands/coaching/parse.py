"""Pure parsing of /cba-slots and /cba-book text into typed requests (or UsageError)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta

from bot.kernel.commands import spec
from commands.common.errors import UsageError
from commands.common.parsing import (
    first_word,
    is_url,
    parse_date,
    parse_id,
    parse_minutes,
    parse_time,
    parse_url,
    parse_user,
    split_words,
)

SLOTS = "/cba-slots"
BOOK = "/cba-book"
DEFAULT_LENGTH = timedelta(minutes=45)
MAX_COUNT = 12
_COUNT = re.compile(r"^x(\d{1,3})$", re.IGNORECASE)


def slots_usage() -> str:
    return spec(SLOTS).usage_text()


def book_usage() -> str:
    return spec(BOOK).usage_text()


@dataclass(frozen=True)
class AddSlots:
    day: date
    at: time
    length: timedelta = DEFAULT_LENGTH
    count: int = 1
    meeting_url: str | None = None


@dataclass(frozen=True)
class ListSlots:
    pass


@dataclass(frozen=True)
class RemoveSlot:
    slot_id: int


SlotsRequest = AddSlots | ListSlots | RemoveSlot


@dataclass(frozen=True)
class BrowseSlots:
    page: int = 0


@dataclass(frozen=True)
class BookSlot:
    slot_id: int


@dataclass(frozen=True)
class MyBookings:
    pass


@dataclass(frozen=True)
class CancelBooking:
    booking_id: int


@dataclass(frozen=True)
class JoinWaitlist:
    coach_slack_id: str | None = None  # None: the next free slot of any coach


@dataclass(frozen=True)
class LeaveWaitlist:
    pass


BookRequest = BrowseSlots | BookSlot | MyBookings | CancelBooking | JoinWaitlist | LeaveWaitlist


def parse_slots(text: str) -> SlotsRequest:
    usage = slots_usage()
    word, rest = first_word(text)
    if word in ("", "list"):
        if rest:
            raise UsageError(f"`{SLOTS} list` takes nothing after it.", usage=usage)
        return ListSlots()
    if word == "add":
        return parse_add(rest)
    if word == "remove":
        words = split_words(rest)
        if len(words) != 1:
            raise UsageError("Say which slot to remove, e.g. `/cba-slots remove 12`.", usage=usage)
        return RemoveSlot(parse_id(words[0], "slot", usage))
    raise UsageError(f"`{word}` is not a {SLOTS} subcommand.", usage=usage)


def parse_add(rest: str) -> AddSlots:
    usage = slots_usage()
    words = rest.split()
    if len(words) < 2:
        raise UsageError("Give the date and start time, e.g. `/cba-slots add 2026-12-03 10:00`.", usage=usage)
    day = parse_date(words[0], usage)
    at = parse_time(words[1], usage)
    length: timedelta | None = None
    count: int | None = None
    url: str | None = None
    for word in words[2:]:
        if _COUNT.match(word):
            if count is not None:
                raise UsageError("Give the number of slots (xCOUNT) only once.", usage=usage)
            count = int(_COUNT.match(word).group(1))  # type: ignore[union-attr]
            if not 1 <= count <= MAX_COUNT:
                raise UsageError(f"'{word}' is not a number of slots from x1 to x{MAX_COUNT}.", usage=usage)
        elif word[:1].isdigit():
            if length is not None:
                raise UsageError("Give the length (MINUTESm) only once.", usage=usage)
            length = parse_minutes(word, usage)
        elif is_url(word) or word.lower().startswith(("http", "<http")):
            if url is not None:
                raise UsageError("Give one meeting link only.", usage=usage)
            url = parse_url(word, usage)
        else:
            raise UsageError(f"'{word}' is not a length (45m), a count (x3) or a meeting link.", usage=usage)
    return AddSlots(day, at, length or DEFAULT_LENGTH, count or 1, url)


def book_writes(text: str) -> bool:
    """Whether a `/cba-book` text books or cancels (the listing and `mine` only read)."""
    word, _rest = first_word(text)
    return word in ("cancel", "waitlist") or bool(re.match(r"^#?\d", word))


def parse_book(text: str) -> BookRequest:
    usage = book_usage()
    word, rest = first_word(text)
    if word == "":
        return BrowseSlots()
    if word == "mine":
        if rest:
            raise UsageError(f"`{BOOK} mine` takes nothing after it.", usage=usage)
        return MyBookings()
    if word == "cancel":
        words = split_words(rest)
        if len(words) != 1:
            raise UsageError("Say which booking to cancel, e.g. `/cba-book cancel 5`.", usage=usage)
        return CancelBooking(parse_id(words[0], "booking", usage))
    if word == "waitlist":
        return parse_waitlist(rest)
    if rest:
        raise UsageError(f"`{word} {rest}` is not something {BOOK} understands.", usage=usage)
    if re.match(r"^#?\d", word):
        return BookSlot(parse_id(word, "slot", usage))
    raise UsageError(f"`{word}` is not a {BOOK} subcommand or a slot ID.", usage=usage)


def parse_waitlist(rest: str) -> JoinWaitlist | LeaveWaitlist:
    """`waitlist`, `waitlist @coach` or `waitlist leave`."""
    usage = book_usage()
    words = split_words(rest)
    if not words:
        return JoinWaitlist()
    if len(words) > 1:
        raise UsageError(
            "Give at most one coach, e.g. `/cba-book waitlist @clara`, or `/cba-book waitlist leave`.", usage=usage
        )
    if words[0].lower() == "leave":
        return LeaveWaitlist()
    return JoinWaitlist(parse_user(words[0], usage))
