"""Pure parsing of the organisers' programme commands: text -> dataclass, or UsageError with the usage."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

from bot.kernel.commands import spec
from commands.common.errors import UsageError
from commands.common.parsing import parse_channel, parse_date, parse_id, parse_time, parse_url

COMMAND = "/cba-admin"
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_SPAN = re.compile(r"^(\d{1,2}:\d{2})-(\d{1,2}:\d{2})$")
KINDS = ("online", "in-person")


def usage(*subcommands: str) -> str:
    """The usage lines of `/cba-admin SUBCOMMAND…` (exactly as in /cba-help)."""
    prefixes = tuple(f"{COMMAND} {name}" for name in subcommands)
    lines = [f"• `{u.grammar}` — {u.summary}" for u in spec(COMMAND).usages if u.grammar.startswith(prefixes)]
    return "*Usage:*\n" + "\n".join(lines)


COHORT_USAGE = usage("cohort")
EVENT_USAGE = usage("event ")
EVENT_ADD_USAGE = usage("event add")
EVENT_REMOVE_USAGE = usage("event remove")
EVENT_MOVE_USAGE = usage("event move")
EVENTS_USAGE = usage("events")
CHECKIN_USAGE = usage("checkin")


@dataclass(frozen=True)
class CohortAdd:
    code: str
    name: str


@dataclass(frozen=True)
class CohortChannel:
    code: str
    channel_id: str


@dataclass(frozen=True)
class Span:
    day: date
    start: time
    end: time


@dataclass(frozen=True)
class EventAdd:
    cohort: str
    kind: str
    span: Span
    title: str
    location: str


@dataclass(frozen=True)
class EventMove:
    event_id: int
    span: Span


def parse_code(token: str, usage_text: str) -> str:
    if not _CODE.match(token):
        raise UsageError(f"'{token}' is not a cohort code (letters and digits, e.g. CBA3).", usage=usage_text)
    return token.upper()


def parse_cohort_add(rest: str) -> CohortAdd:
    code, _, name = rest.strip().partition(" ")
    if not code or not name.strip():
        raise UsageError("Give the cohort's code and its name.", usage=usage("cohort add"))
    name = " ".join(name.split())
    if len(name) > 200:
        raise UsageError("A cohort name has at most 200 characters.", usage=usage("cohort add"))
    return CohortAdd(parse_code(code, usage("cohort add")), name)


def parse_cohort_channel(rest: str) -> CohortChannel:
    words = rest.split()
    if len(words) != 2:
        raise UsageError("Give the cohort's code and its channel.", usage=usage("cohort channel"))
    return CohortChannel(
        parse_code(words[0], usage("cohort channel")), parse_channel(words[1], usage("cohort channel"))
    )


def parse_span(day_token: str, span_token: str, usage_text: str) -> Span:
    day = parse_date(day_token, usage_text)
    match = _SPAN.match(span_token)
    if not match:
        raise UsageError(f"'{span_token}' is not a time span such as 09:00-12:30.", usage=usage_text)
    start, end = parse_time(match.group(1), usage_text), parse_time(match.group(2), usage_text)
    if end <= start:
        raise UsageError(f"The day must end after it starts ({span_token}).", usage=usage_text)
    return Span(day, start, end)


def parse_event_add(rest: str) -> EventAdd:
    head, bar, location = rest.partition("|")
    words = head.split()
    if len(words) < 5:
        raise UsageError(
            "Give the cohort, online or in-person, the date, the times and a title.", usage=EVENT_ADD_USAGE
        )
    cohort = parse_code(words[0], EVENT_ADD_USAGE)
    kind = words[1].lower()
    if kind not in KINDS:
        raise UsageError(f"'{words[1]}' is neither online nor in-person.", usage=EVENT_ADD_USAGE)
    span = parse_span(words[2], words[3], EVENT_ADD_USAGE)
    title = " ".join(words[4:])
    if len(title) > 200:
        raise UsageError("A title has at most 200 characters.", usage=EVENT_ADD_USAGE)
    location = location.strip()
    if bar and not location:
        raise UsageError("Nothing follows `|`: give the place or the link.", usage=EVENT_ADD_USAGE)
    if location.startswith(("<http", "http")) and " " not in location:
        location = parse_url(location, EVENT_ADD_USAGE)  # plain or Slack-escaped: stored as the bare URL
    if len(location) > 500:
        raise UsageError("A place or link has at most 500 characters.", usage=EVENT_ADD_USAGE)
    return EventAdd(cohort, kind, span, title, location)


def parse_event_id(rest: str, usage_text: str) -> int:
    words = rest.split()
    if len(words) != 1:
        raise UsageError("Give one event ID.", usage=usage_text)
    return parse_id(words[0], "event", usage_text)


def parse_event_move(rest: str) -> EventMove:
    words = rest.split()
    if len(words) != 3:
        raise UsageError("Give the event ID, the new date and the new times.", usage=EVENT_MOVE_USAGE)
    return EventMove(parse_id(words[0], "event", EVENT_MOVE_USAGE), parse_span(words[1], words[2], EVENT_MOVE_USAGE))


def events_state(state: dict[str, object]) -> str | None:
    """The cohort a "Next" button of `/cba-admin events` carries (None: every cohort); forged → usage."""
    code = state.get("c")
    if set(state) != {"c"} or not (code is None or (isinstance(code, str) and _CODE.fullmatch(code))):
        raise UsageError("That page is no longer available.", usage=EVENTS_USAGE)
    return code.upper() if isinstance(code, str) else None


def parse_events(rest: str) -> str | None:
    words = rest.split()
    if len(words) > 1:
        raise UsageError("Give at most one cohort code.", usage=EVENTS_USAGE)
    return parse_code(words[0], EVENTS_USAGE) if words else None
