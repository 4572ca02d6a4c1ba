"""The Home tab and the "Ask alumni" modal (pure Block Kit builders with slack_sdk.models)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from commands.coaching.views import BOOK_ACTION as COACHING_BOOK_ACTION
from commands.coaching.views import CANCEL_ACTION, WaitlistPlace, offer_line, standing_text
from commands.common import availability
from commands.common.text import escape, truncate
from commands.common.timefmt import slack_date
from commands.events.views import KIND_LABEL, event_zone, rsvp_buttons
from commands.home.parse import MAX_QUESTION_LENGTH
from commands.home.service import Dashboard, OrganiserCounts
from commands.homework.service import IN_GRACE, LATE, ON_TIME, Mine
from commands.homework.views import SUBMIT_ACTION
from commands.members.views import OPEN_PROFILE
from commands.questions.views import ANSWER_ACTION
from storage.models import CoachingBooking, CoachingOffer, CoachingSlot, Event, Member, Question

BOOK_ACTION = "home_book"
ASK_ACTION = "home_ask"
ASK_MODAL = "home_ask_modal"
QUESTION_BLOCK = "question"
QUESTION_INPUT = "text"
ANONYMOUS_BLOCK = "anonymous"
ANONYMOUS_INPUT = "anonymous"
MAX_LINES = 8  # per section: the Home tab is a glance, the commands have the full lists
SECTION_BUDGET = 2900  # under Slack's 3000 characters per section text
TITLE_LENGTH = 80

T = TypeVar("T")


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def listing(items: Sequence[T], line_of: Callable[[T], str], *, more_hint: str = "", limit: int = MAX_LINES) -> str:
    """Up to `limit` lines within the section budget, then "…and N more" for the rest."""
    shown: list[str] = []
    used = 0
    for item in items[:limit]:
        line = truncate(line_of(item), 600)
        if used + len(line) + 1 > SECTION_BUDGET - 120:
            break
        shown.append(line)
        used += len(line) + 1
    rest = len(items) - len(shown)
    if rest:
        shown.append(f"_…and {rest} more{f' — {more_hint}' if more_hint else ''}_")
    return "\n".join(shown)


def _who(member: Member | None) -> str:
    if member is None:
        return "a former member"
    return f"<@{member.slack_id}>" if member.slack_id else escape(member.display_name)


def _title(text: str) -> str:
    return escape(truncate(" ".join(text.split()), TITLE_LENGTH))


ANSWER_LABEL = {
    "yes": ":white_check_mark: you're coming",
    "no": ":no_entry_sign: you declined",
    "late": ":no_entry_sign: you declined (a late cancellation)",
}


def day_line(event: Event, answer: str | None, zone: ZoneInfo) -> str:
    said = ANSWER_LABEL.get(answer or "", ":grey_question: not answered yet")
    kind = KIND_LABEL.get(event.kind, event.kind)
    return (
        f"• *{_title(event.title)}* (event #{event.id}, {kind}) — "
        f"{slack_date(event.starts_at, event_zone(event, zone))} — {said}"
    )


def booking_line(booking: CoachingBooking, zone: ZoneInfo) -> str:
    slot = booking.slot
    link = f" — <{slot.meeting_url}|join>" if slot.meeting_url else ""
    return f"• booking #{booking.id} with {_who(slot.coach)} — {slot_when(slot, zone)}{link}"


def slot_when(slot: CoachingSlot, zone: ZoneInfo) -> str:
    return f"{slack_date(slot.starts_at, zone)} ({slot.minutes} min)"


def slot_line(slot: CoachingSlot, booking: CoachingBooking | None, zone: ZoneInfo) -> str:
    who = f"booked by {_who(booking.participant)} (booking #{booking.id})" if booking else "_open_"
    return f"• slot #{slot.id} — {slot_when(slot, zone)} — {who}"


def homework_state(item: Mine, now: datetime) -> str:
    state = item.progress.state
    if state == ON_TIME:
        return ":white_check_mark: submitted on time"
    if state == IN_GRACE:
        return ":hourglass_flowing_sand: submitted late (within grace)"
    if state == LATE:
        return ":hourglass: submitted late"
    if item.assignment.due_at > now:
        return ":pencil2: not submitted yet"
    return ":x: missing"


def homework_line(item: Mine, zone: ZoneInfo, now: datetime) -> str:
    assignment = item.assignment
    feedback = item.progress.feedback_count
    read_it = f" — :speech_balloon: feedback received{f' ({feedback})' if feedback > 1 else ''}" if feedback else ""
    return (
        f"• assignment #{assignment.id} *{_title(assignment.title)}* — due "
        f"{slack_date(assignment.due_at, zone, '{date_short_pretty}')} — {homework_state(item, now)}{read_it}"
    )


def question_line(question: Question) -> str:
    answers = len(question.answers)
    counted = f"{answers} answer{'s' if answers != 1 else ''}"
    link = f" — <{question.permalink}|open the thread>" if question.permalink else ""
    return f"• question #{question.id}: “{_title(question.text)}” — {counted}{link}"


def counts_text(counts: OrganiserCounts) -> str:
    roles = ", ".join(f"{count} {role}" for role, count in counts.by_role)
    return "\n".join(
        [
            f"*Members:* {counts.members}" + (f" ({roles})" if roles else ""),
            f"*Pending RSVPs for upcoming days:* {counts.pending_rsvps}",
            f"*Late cancellations:* {counts.late_rsvps} programme day{'s' if counts.late_rsvps != 1 else ''}, "
            f"{counts.late_bookings} coaching session{'s' if counts.late_bookings != 1 else ''}",
            f"*Open questions:* {counts.open_questions}",
        ]
    )


def _section(title: str, body: str) -> list[Block]:
    return [SectionBlock(text=_md(f"*{title}*\n{body}"))]


def acting_section(
    title: str,
    items: Sequence[T],
    blocks_of: Callable[[T], list[Block]],
    *,
    empty: str,
    more_hint: str = "",
    limit: int = MAX_LINES,
) -> list[Block]:
    """A titled list whose items carry their own buttons: a few blocks per item, then "…and N more"."""
    if not items:
        return _section(title, empty)
    blocks: list[Block] = [SectionBlock(text=_md(f"*{title}*"))]
    for item in items[:limit]:
        blocks.extend(blocks_of(item))
    rest = len(items) - min(len(items), limit)
    if rest:
        blocks.append(ContextBlock(elements=[_md(f"_…and {rest} more{f' — {more_hint}' if more_hint else ''}_")]))
    return blocks


def _line(text: str, button: ButtonElement | None = None) -> SectionBlock:
    """One item of an acting section, with its button on the right when it has one."""
    return SectionBlock(text=_md(truncate(text, SECTION_BUDGET)), accessory=button)


def day_blocks(event: Event, answer: str | None, zone: ZoneInfo) -> list[Block]:
    """The day, the viewer's answer, and the same RSVP buttons as the announcement (an answer can change)."""
    return [_line(day_line(event, answer, zone)), rsvp_buttons(event)]


def booking_blocks(booking: CoachingBooking, zone: ZoneInfo) -> list[Block]:
    cancel = ButtonElement(
        text="Cancel",
        action_id=f"{CANCEL_ACTION}_{booking.id}",
        value=str(booking.id),
        style="danger",
        confirm=ConfirmObject(
            title="Cancel this booking?",
            text=f"Booking #{booking.id} is cancelled and the coach is told.",
            confirm="Cancel it",
            deny="Keep it",
        ),
    )
    return [_line(booking_line(booking, zone), cancel)]


def offer_blocks(offer: CoachingOffer, zone: ZoneInfo) -> list[Block]:
    """A slot held for the viewer (waitlist offer), with the same "Book" as the offer's DM."""
    book = ButtonElement(
        text="Book", action_id=f"{COACHING_BOOK_ACTION}_{offer.slot_id}", value=str(offer.slot_id), style="primary"
    )
    return [_line(f"• :tada: {offer_line(offer, zone)}", book)]


def waitlist_section(board: Dashboard, zone: ZoneInfo) -> list[Block]:
    """Where the viewer stands on the coaching waitlist, and the slots held for them now."""
    place = board.waiting
    head = (
        standing_text(WaitlistPlace(place.position, place.coach_name)) + " Leave: `/cba-book waitlist leave`."
        if place is not None
        else "You are not on the waitlist."
    )
    blocks: list[Block] = [SectionBlock(text=_md(truncate(f"*Coaching waitlist*\n{head}", SECTION_BUDGET)))]
    for offer in board.offers[:MAX_LINES]:
        blocks.extend(offer_blocks(offer, zone))
    return blocks


def homework_blocks(item: Mine, zone: ZoneInfo, now: datetime) -> list[Block]:
    """Each open assignment with "Submit" (a new version once submitted): the homework feature's own form."""
    value = str(item.assignment.id)
    if item.progress.state in (ON_TIME, IN_GRACE, LATE):
        button = ButtonElement(text="Submit a new version", action_id=SUBMIT_ACTION, value=value)
    else:
        button = ButtonElement(text="Submit", action_id=SUBMIT_ACTION, value=value, style="primary")
    return [_line(homework_line(item, zone, now), button)]


def question_blocks(question: Question) -> list[Block]:
    answer = ButtonElement(text="Answer", action_id=ANSWER_ACTION, value=str(question.id), style="primary")
    return [_line(question_line(question), answer)]


def actions(board: Dashboard) -> ActionsBlock:
    buttons = [ButtonElement(text="Edit profile", action_id=OPEN_PROFILE, value="home")]
    if board.has("participant"):
        buttons.append(ButtonElement(text="Book coaching", action_id=BOOK_ACTION, value="0"))
    buttons.append(ButtonElement(text="Ask alumni", action_id=ASK_ACTION, value="home"))
    return ActionsBlock(block_id="home_actions", elements=buttons)


def _header(board: Dashboard) -> list[Block]:
    name = " ".join(board.name.split())
    title = f"Welcome, {name}" if name else "Welcome to CBA"
    return [
        HeaderBlock(text=PlainTextObject(text=truncate(title, 150))),
        ContextBlock(elements=[_md(f"Your roles: {escape(', '.join(board.roles))}")]),
    ]


def away_text(board: Dashboard, zone: ZoneInfo, now: datetime) -> str | None:
    """The viewer's absence, current or planned (SPEC 4.8); None if there is none ahead."""
    absence = availability.planned_absence(board, now, zone)
    if absence is None:
        return None
    first, last = absence
    if availability.is_away(board, now, zone):
        lead = f":palm_tree: *You are away until {last.isoformat()}*: no reminders or routed questions reach you"
    else:
        when = f"{first.isoformat()} to {last.isoformat()}"
        lead = f":palm_tree: *Planned absence:* {when}: no reminders or routed questions then"
    return f"{lead} (coaching reminders still do). `/cba-profile set away off` ends it."


def not_registered_view(hint: str) -> View:
    """The Home of someone with no role (SPEC 3, Membership): whom to ask, no buttons (each would be refused)."""
    return View(
        type="home",
        blocks=[
            HeaderBlock(text=PlainTextObject(text="Welcome to CBA")),
            SectionBlock(text=_md(truncate(hint, SECTION_BUDGET))),
            ContextBlock(elements=[_md("`/cba-help` shows what CBA Bot does for members of the Academy.")]),
        ],
    )


def home_view(board: Dashboard, zone: ZoneInfo, now: datetime) -> View:
    """The viewer's dashboard: a few short sections, each capped, so it always fits Slack's limits."""
    blocks: list[Block] = [*_header(board)]
    away = away_text(board, zone, now)
    if away is not None:
        blocks.append(SectionBlock(block_id="home_away", text=_md(away)))
    blocks.append(actions(board))
    sections: list[list[Block]] = []
    if board.cohort is not None:
        cohort = escape(board.cohort.code)
        sections.append(
            acting_section(
                f"Next programme days — {cohort}",
                board.days,
                lambda day: day_blocks(day[0], day[1], zone),
                empty="_No programme days planned yet._",
            )
        )
    if board.has("participant"):
        sections.append(
            acting_section(
                "Your coaching bookings",
                board.bookings,
                lambda b: booking_blocks(b, zone),
                empty="_No coaching booked._ Press *Book coaching* to see the open slots.",
                more_hint="`/cba-book mine`",
            )
        )
        if board.waiting is not None or board.offers:
            sections.append(waitlist_section(board, zone))
        sections.append(
            acting_section(
                "Your homework",
                board.homework,
                lambda item: homework_blocks(item, zone, now),
                empty="_No homework for your cohort yet._",
                more_hint="`/cba-homework`",
            )
        )
    if board.has("coach"):
        body = (
            listing(board.slots, lambda row: slot_line(row[0], row[1], zone), more_hint="`/cba-slots list`")
            if board.slots
            else "_No upcoming slots._ Publish some with `/cba-slots add`."
        )
        sections.append(_section("Your coaching slots", body))
    if board.my_questions:
        sections.append(
            _section("Your open questions", listing(board.my_questions, question_line, more_hint="`/cba-ask list`"))
        )
    if board.has("alumni"):
        sections.append(
            acting_section(
                "Open questions for your expertise",
                board.matching,
                question_blocks,
                empty="_No open question matches your expertise right now._",
                more_hint="`/cba-ask list`",
            )
        )
    if board.counts is not None:
        sections.append(_section("Programme at a glance", counts_text(board.counts)))
    for section in sections:
        blocks.append(DividerBlock())
        blocks.extend(section)
    return View(type="home", blocks=blocks)


def ask_modal() -> View:
    option = Option(value="yes", text="Ask anonymously (organisers still see who asked)")
    return View(
        type="modal",
        callback_id=ASK_MODAL,
        title="Ask alumni",
        submit="Ask",
        close="Cancel",
        blocks=[
            SectionBlock(
                text=_md(
                    "Your question is posted in the questions channel and sent to the alumni whose "
                    "expertise matches. You get a DM for each answer."
                )
            ),
            InputBlock(
                block_id=QUESTION_BLOCK,
                label="Your question",
                element=PlainTextInputElement(action_id=QUESTION_INPUT, multiline=True, max_length=MAX_QUESTION_LENGTH),
            ),
            InputBlock(
                block_id=ANONYMOUS_BLOCK,
                label="Anonymous",
                optional=True,
                element=CheckboxesElement(action_id=ANONYMOUS_INPUT, options=[option]),
            ),
        ],
    )
