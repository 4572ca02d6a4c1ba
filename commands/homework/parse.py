"""`/cba-homework` text -> a typed command, or UsageError with the usage. Pure: no database, no Slack."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.kernel.commands import spec
from commands.common.errors import UsageError
from commands.common.parsing import is_url, parse_date, parse_id, parse_url

COMMAND = "/cba-homework"
TITLE_MAX = 200
DESCRIPTION_MAX = 2500
TEXT_MAX = 10_000
LINK_MAX = 1000
FEEDBACK_MAX = 2900

_SLACK_LINK = re.compile(r"<(https?://[^|>\s]+)(?:\|([^>]*))?>")
_PLAIN_LINK = re.compile(r"https?://[^\s<>|]+")
_HOURS = re.compile(r"(\d{1,3})(?:[.,](\d{1,2}))?h?")
GRACE_MAX_HOURS = 168


def usage(roles: frozenset[str] | None = None) -> str:
    return spec(COMMAND).usage_text(roles)


@dataclass(frozen=True)
class ListMine:
    """`/cba-homework` (or `list`): the caller's view of the assignments."""


@dataclass(frozen=True)
class NewAssignment:
    cohort: str
    due: date
    title: str
    description: str = ""


@dataclass(frozen=True)
class ChangeDue:
    assignment_id: int
    due: date


@dataclass(frozen=True)
class SetGrace:
    assignment_id: int
    minutes: int


@dataclass(frozen=True)
class Withdraw:
    assignment_id: int


@dataclass(frozen=True)
class Status:
    assignment_id: int


@dataclass(frozen=True)
class Submit:
    """Without text and link, the caller gets a modal to fill in."""

    assignment_id: int
    text: str = ""
    link: str | None = None

    @property
    def empty(self) -> bool:
        return not self.text and not self.link


@dataclass(frozen=True)
class Review:
    submission_id: int
    feedback: str


@dataclass(frozen=True)
class Show:
    submission_id: int


Command = ListMine | NewAssignment | ChangeDue | SetGrace | Withdraw | Status | Submit | Review | Show


def unescape_slack(text: str) -> str:
    """Slack sends `&`, `<`, `>` typed by the user as entities; store what they typed (shown escaped again)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _split_bar(text: str) -> tuple[str, str | None]:
    """Split at the first `|` outside Slack markup (`<https://…|label>` keeps its bar)."""
    depth = 0
    for index, char in enumerate(text):
        if char == "<":
            depth += 1
        elif char == ">" and depth:
            depth -= 1
        elif char == "|" and depth == 0:
            return text[:index], text[index + 1 :]
    return text, None


def parse_answer(raw: str, roles: frozenset[str] | None = None) -> tuple[str, str | None]:
    """TEXT-OR-LINK -> (text, link). A lone link (plain, `<https://…>`, a Slack file permalink) is a link;
    a text keeps its links readable and its first link is also kept as the submission's link."""
    raw = raw.strip()
    if not raw:
        return "", None
    if is_url(raw):
        return "", _check_link(parse_url(raw, usage(roles)), roles)
    first = _SLACK_LINK.search(raw)
    plain = _PLAIN_LINK.search(_SLACK_LINK.sub(" ", raw))
    link = first.group(1) if first else (plain.group(0) if plain else None)
    text = unescape_slack(_SLACK_LINK.sub(lambda m: m.group(1), raw)).strip()
    if len(text) > TEXT_MAX:
        raise UsageError(f"Your answer is too long ({len(text)} characters; at most {TEXT_MAX}).", usage=usage(roles))
    return text, _check_link(link, roles) if link else None


def _check_link(link: str, roles: frozenset[str] | None) -> str:
    if len(link) > LINK_MAX:
        raise UsageError(f"That link is too long (at most {LINK_MAX} characters).", usage=usage(roles))
    return link


def _need(words: list[str], count: int, what: str, roles: frozenset[str] | None) -> None:
    if len(words) < count:
        raise UsageError(f"Missing {what}.", usage=usage(roles))


def _head(text: str) -> tuple[str, str]:
    """('first word', 'the rest, as typed') split at any whitespace (Slack keeps newlines)."""
    parts = text.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""


def parse_command(text: str, roles: frozenset[str] | None = None) -> Command:
    word, rest = _head(text)
    word = word.lower()
    use = usage(roles)
    if word in ("", "list", "mine"):
        if rest:
            raise UsageError(f"`{word}` takes no arguments.", usage=use)
        return ListMine()
    if word == "new":
        return _parse_new(rest, roles)
    if word in ("due", "grace", "withdraw", "status", "submit", "review", "show"):
        ident_token, remainder = _head(rest)
        kind = "submission" if word in ("review", "show") else "assignment"
        if not ident_token:
            raise UsageError(f"Which {kind}? Give its ID, e.g. `{COMMAND} {word} 3`.", usage=use)
        ident = parse_id(ident_token, kind, use)
        if word == "due":
            if not remainder or len(remainder.split()) != 1:
                raise UsageError("Give the new due date as YYYY-MM-DD.", usage=use)
            return ChangeDue(ident, parse_date(remainder, use))
        if word == "grace":
            return SetGrace(ident, parse_grace_hours(remainder, use))
        if word in ("withdraw", "status", "show"):
            if remainder:
                raise UsageError(f"`{word}` takes only the {kind} ID.", usage=use)
            if word == "withdraw":
                return Withdraw(ident)
            return Status(ident) if word == "status" else Show(ident)
        if word == "submit":
            answer, link = parse_answer(remainder, roles)
            return Submit(ident, answer, link)
        feedback = unescape_slack(remainder).strip()
        if not feedback:
            raise UsageError("Write the feedback after the submission ID.", usage=use)
        if len(feedback) > FEEDBACK_MAX:
            raise UsageError(f"Feedback is too long (at most {FEEDBACK_MAX} characters).", usage=use)
        return Review(ident, feedback)
    raise UsageError(f"`{word}` is not a {COMMAND} subcommand.", usage=use)


def parse_grace_hours(text: str, use: str) -> int:
    """HOURS (`2`, `1.5`, `0`, `36h`) -> whole minutes, 0 to GRACE_MAX_HOURS hours; UsageError otherwise."""
    words = text.split()
    match = _HOURS.fullmatch(words[0].lower()) if len(words) == 1 else None
    if match is None:
        raise UsageError(
            f"Give the grace window in hours, 0 to {GRACE_MAX_HOURS} (e.g. `2` or `1.5`; `0` for none).", usage=use
        )
    whole, fraction = int(match.group(1)), match.group(2) or ""
    minutes = whole * 60 + round(int(fraction.ljust(2, "0")) * 60 / 100) if fraction else whole * 60
    if minutes > GRACE_MAX_HOURS * 60:
        raise UsageError(f"The grace window is at most {GRACE_MAX_HOURS} hours (a week).", usage=use)
    return minutes


def _parse_new(rest: str, roles: frozenset[str] | None) -> NewAssignment:
    use = usage(roles)
    head, description = _split_bar(rest)
    words = head.split()
    _need(words, 1, "the cohort code", roles)
    _need(words, 2, "the due date (YYYY-MM-DD)", roles)
    cohort = words[0].upper()
    due = parse_date(words[1], use)
    title = unescape_slack(" ".join(words[2:])).strip()
    if not title:
        raise UsageError("The assignment needs a title.", usage=use)
    if len(title) > TITLE_MAX:
        raise UsageError(f"The title is too long (at most {TITLE_MAX} characters).", usage=use)
    desc = unescape_slack(description or "").strip()
    if len(desc) > DESCRIPTION_MAX:
        raise UsageError(f"The description is too long (at most {DESCRIPTION_MAX} characters).", usage=use)
    return NewAssignment(cohort, due, title, desc)
