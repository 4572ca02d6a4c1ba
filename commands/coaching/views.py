"""Block Kit for coaching: pure builders (slack_sdk.models), always with a text fallback.

Times are Slack date tokens (each reader sees their own zone) with a CBA_TIMEZONE fallback.
A page of open slots holds at most PAGE_SIZE slots: with a coach header and a day line per slot
at worst, that is 3 × 10 + 3 blocks, well inside the 50-block limit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)

from commands.coaching.ics import CalendarBooking
from commands.coaching.parse import AddSlots
from commands.coaching.service import AskFold, Booked, Cancelled, OpenSlot, Page, Published, Removed, SlotTaken
from commands.common import blockkit, paging
from commands.common.blockkit import Json
from commands.common.text import escape, truncate
from commands.common.timefmt import slack_date
from storage.models import CoachingBooking, CoachingOffer, CoachingSlot

BOOK_ACTION = "coaching_book"
PAGE_ACTION = "coaching_page"
CANCEL_ACTION = "coaching_cancel"
FOLD_ACTION = "coaching_add_fold"
SECTION_LIMIT = 2900
# Long lists page with "Next" (commands.common.paging). The coach's slots: a head, at most 40 sections of
# one slot line each, where we are and "Next" (43 blocks). Bookings: a section with its Cancel button each,
# two group headings, where we are and "Next" (44 blocks).
SLOTS_PAGE_SIZE = 40
SLOTS_NEXT = "coaching_slots_next"
MINE_PAGE_SIZE = 40
MINE_NEXT = "coaching_mine_next"
JOIN_WAITLIST_ACTION = "coaching_waitlist_join"
DECLINE_OFFER_ACTION = "coaching_offer_decline"


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def when(slot: CoachingSlot | OpenSlot, zone: ZoneInfo) -> str:
    return f"{slack_date(slot.starts_at, zone)} ({slot.minutes} min)"


def day_token(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return f"<!date^{int(instant.timestamp())}^{{date_long_pretty}}|{local:%A %Y-%m-%d}>"


def _link(url: str | None) -> str:
    return f"<{escape(url)}|meeting link>" if url else "the coach will share a meeting link"


def _book_button(slot: CoachingSlot | OpenSlot) -> Json:
    return blockkit.button("Book", f"{BOOK_ACTION}_{slot.id}", str(slot.id), style="primary")


# --- /cba-slots --------------------------------------------------------------------------------


def published_text(result: Published, zone: ZoneInfo) -> str:
    if len(result.slots) == 1:
        slot = result.slots[0]
        return f":white_check_mark: Published slot #{slot.id}: {when(slot, zone)}."
    lines = [f":white_check_mark: Published {len(result.slots)} slots:"]
    lines += [f"• slot #{slot.id}: {when(slot, zone)}" for slot in result.slots]
    return "\n".join(lines)


def fold_value(request: AddSlots, fold: int) -> str:
    return json.dumps(
        {
            "d": request.day.isoformat(),
            "t": request.at.strftime("%H:%M"),
            "m": int(request.length.total_seconds() // 60),
            "n": request.count,
            "u": request.meeting_url,
            "f": fold,
        },
        separators=(",", ":"),
    )


def fold_blocks(question: AskFold, zone: ZoneInfo) -> tuple[str, list[Block]]:
    req = question.request
    text = (
        f":clock2: {req.day.isoformat()} {req.at:%H:%M} happens twice in {zone.key} (the clocks go back that night). "
        "Which one do you mean? Nothing is published until you choose."
    )
    buttons = ActionsBlock(
        block_id="fold",
        elements=[
            ButtonElement(text=question.first_label, action_id=f"{FOLD_ACTION}_0", value=fold_value(req, 0)),
            ButtonElement(text=question.second_label, action_id=f"{FOLD_ACTION}_1", value=fold_value(req, 1)),
        ],
    )
    return text, [SectionBlock(text=_md(text)), buttons]


def coach_slots_page(
    rows: Sequence[tuple[CoachingSlot, CoachingBooking | None]],
    zone: ZoneInfo,
    start: int = 0,
    usage: str | None = None,
) -> tuple[str, list[Block]]:
    """One page of the coach's `/cba-slots list`: a line per slot, "Next" while more follow."""
    if not rows:
        paging.check_start(start, 0, usage=usage, noun="slots")
        text = "You have no slots from now on. Publish some with `/cba-slots add YYYY-MM-DD HH:MM [MINUTESm] [xCOUNT]`."
        return text, [SectionBlock(text=_md(text))]
    heading = f"*Your slots from now on ({len(rows)}):*"

    def render(shown: Sequence[tuple[CoachingSlot, CoachingBooking | None]]) -> list[Block]:
        return [SectionBlock(text=_md(chunk)) for chunk in _chunks([_slot_line(s, b, zone) for s, b in shown])]

    page = paging.page(
        rows,
        render,
        start=start,
        size=SLOTS_PAGE_SIZE,
        action_id=SLOTS_NEXT,
        state={},
        usage=usage,
        head=[SectionBlock(text=_md(heading))],
        noun="slots",
    )
    lines = [_slot_line(s, b, zone) for s, b in rows[page.start : page.end]]
    return "\n".join([heading, *lines]), page.blocks


def _slot_line(slot: CoachingSlot, booking: CoachingBooking | None, zone: ZoneInfo) -> str:
    if booking is None:
        who = "open"
    elif booking.participant.slack_id:
        who = f"booked by <@{booking.participant.slack_id}> (booking #{booking.id})"
    else:
        who = f"booked by a former member (booking #{booking.id})"
    return truncate(f"• slot #{slot.id}: {when(slot, zone)} — {who}", SECTION_LIMIT)


def _chunks(lines: Sequence[str]) -> list[str]:
    """Lines grouped into section-sized texts, split at line breaks."""
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + 1 + len(line) <= SECTION_LIMIT:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    return chunks


def removed_text(result: Removed) -> str:
    text = f":wastebasket: Withdrew slot #{result.slot.id}."
    if result.cancelled is not None:
        who = result.cancelled.participant_slack
        text += f" Its booking #{result.cancelled.booking_id} is cancelled and " + (
            f"<@{who}> has been told." if who else "the participant has been told."
        )
    return text


# --- /cba-book ---------------------------------------------------------------------------------


def browse_blocks(page: Page, zone: ZoneInfo, waiting: WaitlistPlace | None = None) -> tuple[str, list[Json]]:
    """The page of open slots. Plain dicts (commands.common.blockkit): this answers every `/cba-book`.

    Nothing open: a "Join the waitlist" button, or where the caller stands on it (`waiting`)."""
    if not page.slots:
        if page.page > 0:
            text = "No more open slots."
            return text, [blockkit.section(text), _nav(page)]
        text = "There are no open coaching slots right now."
        if waiting is not None:
            text += " " + standing_text(waiting) + " You get a DM as soon as a slot frees up for you."
            return text, [blockkit.section(text)]
        text += (
            " Join the waitlist: when a slot frees up, you get a DM and it is held for you for a while"
            " (`/cba-book waitlist [@coach]` to wait for one coach)."
        )
        button = blockkit.button("Join the waitlist", JOIN_WAITLIST_ACTION, "any", style="primary")
        return text, [blockkit.section(text, accessory=button)]
    text = f":calendar: Open coaching slots (page {page.page + 1}):"
    blocks = [blockkit.section(f"{text} press *Book* to take one.")]
    lines = [text]
    coach_id: int | None = None
    day: str | None = None
    for slot in page.slots:
        if slot.coach_id != coach_id:
            coach_id, day = slot.coach_id, None
            blocks.append(blockkit.section(f"*{escape(slot.coach_name)}*"))
        local_day = slot.starts_at.astimezone(zone).date().isoformat()
        if local_day != day:
            day = local_day
            blocks.append(blockkit.context(day_token(slot.starts_at, zone)))
        slot_when = when(slot, zone)
        if slot.held_until is not None:
            slot_when += f" — :lock: held for you (waitlist) until {slack_date(slot.held_until, zone)}"
        blocks.append(_slot_section(slot, slot_when))
        lines.append(f"• slot #{slot.id}: {slot_when} with {escape(slot.coach_name)}")
    if page.page > 0 or page.has_more:
        blocks.append(_nav(page))
    return "\n".join(lines), blocks


def _slot_section(slot: CoachingSlot | OpenSlot, slot_when: str) -> Json:
    return blockkit.section(f"slot #{slot.id}: {slot_when}", block_id=f"slot-{slot.id}", accessory=_book_button(slot))


def _nav(page: Page) -> Json:
    buttons = []
    if page.page > 0:
        buttons.append(blockkit.button("Previous", f"{PAGE_ACTION}_prev", str(page.page - 1)))
    if page.has_more:
        buttons.append(blockkit.button("Next", f"{PAGE_ACTION}_next", str(page.page + 1)))
    return blockkit.actions("pages", buttons)


def booked_text(result: Booked, zone: ZoneInfo) -> str:
    cal = result.calendar
    return (
        f":white_check_mark: Booked! booking #{cal.booking_id} — slot #{result.booking.slot_id} with "
        f"{escape(cal.coach.name)}, {slack_date(cal.starts_at, zone)} ({_minutes(cal)} min). "
        "You and your coach get a DM with the details and a calendar file."
    )


def taken_blocks(error: SlotTaken, zone: ZoneInfo) -> tuple[str, list[Json]]:
    text = error.message
    if not error.alternatives:
        text += " That coach has no other open slot right now; see `/cba-book` for everyone's."
        return text, [blockkit.section(text)]
    text += " Other open slots with the same coach:"
    blocks = [blockkit.section(text)]
    blocks += [_slot_section(slot, when(slot, zone)) for slot in error.alternatives]
    lines = [text] + [f"• slot #{s.id}: {when(s, zone)} (`/cba-book {s.id}`)" for s in error.alternatives]
    return "\n".join(lines), blocks


def mine_blocks(
    held: Sequence[CoachingBooking],
    coached: Sequence[CoachingBooking],
    zone: ZoneInfo,
    start: int = 0,
    usage: str | None = None,
) -> tuple[str, list[Block]]:
    """One page of `/cba-book mine`: the bookings I hold, then those on my slots, each with Cancel."""
    if not held and not coached:
        paging.check_start(start, 0, usage=usage, noun="bookings")
        text = "You have no upcoming coaching bookings. See `/cba-book` for open slots."
        return text, [SectionBlock(text=_md(text))]
    rows = [(True, booking) for booking in held] + [(False, booking) for booking in coached]
    first = {id(kept[0]) for kept in (held, coached) if kept}  # a page starting mid-group says "continued"

    def heading(mine: bool, booking: CoachingBooking) -> str:
        more = "" if id(booking) in first else ", continued"
        if mine:
            return f"*Your bookings ({len(held)}{more}):*"
        return f"*Bookings on your slots ({len(coached)}{more}):*"

    def line(mine: bool, booking: CoachingBooking) -> str:
        slot = booking.slot
        if mine:
            return f"booking #{booking.id}: slot #{slot.id} with {escape(slot.coach.display_name)}, {when(slot, zone)}"
        who = f"<@{booking.participant.slack_id}>" if booking.participant.slack_id else "former member"
        return f"booking #{booking.id}: slot #{slot.id} booked by {who}, {when(slot, zone)}"

    def render(shown: Sequence[tuple[bool, CoachingBooking]]) -> list[Block]:
        blocks: list[Block] = []
        group: bool | None = None
        for mine, booking in shown:
            if mine is not group:
                group = mine
                blocks.append(SectionBlock(text=_md(heading(mine, booking))))
            blocks.append(
                SectionBlock(text=_md(truncate(line(mine, booking), SECTION_LIMIT)), accessory=_cancel_button(booking))
            )
        return blocks

    page = paging.page(
        rows, render, start=start, size=MINE_PAGE_SIZE, action_id=MINE_NEXT, state={}, usage=usage, noun="bookings"
    )
    lines: list[str] = []
    group: bool | None = None
    for mine, booking in rows[page.start : page.end]:
        if mine is not group:
            group = mine
            lines.append(heading(mine, booking))
        lines.append(f"• {line(mine, booking)}")
    return "\n".join(lines), page.blocks


def _cancel_button(booking: CoachingBooking) -> ButtonElement:
    return ButtonElement(
        text="Cancel", action_id=f"{CANCEL_ACTION}_{booking.id}", value=str(booking.id), style="danger"
    )


def cancelled_text(result: Cancelled) -> str:
    cal = result.calendar
    other = result.coach_slack if result.by == "participant" else result.participant_slack
    told = f"<@{other}> has been told." if other else "The other side has been told."
    if result.by == "organiser":
        told = "The participant and the coach have been told."
    late = " It was inside the booking notice, so it is recorded as a late cancellation." if result.late else ""
    reopened = "" if result.slot_removed else " The slot is open again."
    return f":x: Cancelled booking #{cal.booking_id} (slot #{result.slot_id}). {told}{late}{reopened}"


def _minutes(cal: CalendarBooking) -> int:
    return int((cal.ends_at - cal.starts_at).total_seconds() // 60)


# --- direct messages ---------------------------------------------------------------------------


def booking_dm(cal: CalendarBooking, *, to: str, zone: ZoneInfo, slot_id: int) -> tuple[str, list[Block]]:
    """The confirmation DM to the participant (`to="participant"`) or the coach."""
    starts_at, coach, participant = cal.starts_at, cal.coach, cal.participant
    booking_id, url = cal.booking_id, cal.meeting_url
    if to == "participant":
        headline = f":calendar: Your coaching session with {escape(coach.name)} is booked (booking #{booking_id}, slot #{slot_id})."
    else:
        who = f"<@{participant.slack_id}>" if participant.slack_id else escape(participant.name)
        headline = f":calendar: {who} booked your coaching slot #{slot_id} (booking #{booking_id})."
    details = (
        f"*When:* {slack_date(starts_at, zone)}\n*Length:* {_minutes(cal)} minutes\n*Meeting:* {_link(url)}\n"
        "Add it to your calendar with the file below. Cancel with "
        f"`/cba-book cancel {booking_id}`."
    )
    text = f"{headline}\n{details}"
    return text, [SectionBlock(text=_md(headline)), DividerBlock(), SectionBlock(text=_md(details))]


def cancellation_dm(result: Cancelled, *, to: str, zone: ZoneInfo) -> str:
    cal = result.calendar
    when_text = slack_date(cal.starts_at, zone)
    if result.by == "erased":
        cause = ("the participant's" if to == "coach" else "the coach's") + " data was erased at their request"
    elif result.slot_removed:
        cause = "the coach withdrew the slot"
    elif result.by == "participant":
        cause = "the participant cancelled"
    elif result.by == "coach":
        cause = "the coach cancelled"
    else:
        cause = "an organiser cancelled it"
    who = f"with {escape(cal.coach.name)}" if to == "participant" else f"with {escape(cal.participant.name)}"
    text = (
        f":x: Your coaching session {who} on {when_text} (booking #{cal.booking_id}, slot #{result.slot_id}) "
        f"is cancelled: {cause}. The calendar file below removes it from your calendar."
    )
    if to == "participant" and result.by != "participant":
        text += " See `/cba-book` for other open slots."
    return text


# --- the waitlist ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitlistPlace:
    """Where a participant stands: their place in the queue and whom they wait for (None: any coach)."""

    position: int
    coach_name: str | None


def standing_text(place: WaitlistPlace) -> str:
    whom = f"of {escape(place.coach_name)}" if place.coach_name else "of any coach"
    return (
        f":hourglass_flowing_sand: You are on the waitlist for the next free slot {whom} (position {place.position})."
    )


def joined_text(place: WaitlistPlace, *, already: bool, changed: bool, open_now: int, hold: str) -> str:
    if already:
        text = standing_text(place).replace("You are on", "You are already on")
    elif changed:
        text = standing_text(place) + " (Updated: you keep your place.)"
    else:
        text = standing_text(place).replace("You are on", "You joined")
    text += (
        f" When a slot frees up for you, you get a DM with a *Book* button and it is held for you alone for {hold}."
        " Leave with `/cba-book waitlist leave`."
    )
    if open_now:
        text += f" Note: {open_now} open slot{'s' if open_now != 1 else ''} fit{'s' if open_now == 1 else ''} right now: `/cba-book`."
    return text


def left_text(released: int) -> str:
    text = ":wave: You left the coaching waitlist."
    if released:
        text += " The slot held for you passes to the next person waiting."
    return text


def offer_line(offer: CoachingOffer, zone: ZoneInfo) -> str:
    slot = offer.slot
    return (
        f"slot #{slot.id} with {escape(slot.coach.display_name)}, {when(slot, zone)} — held for you until "
        f"{slack_date(offer.expires_at, zone)}"
    )


def offer_dm(offer: CoachingOffer, zone: ZoneInfo) -> tuple[str, list[Json]]:
    """The offer to the first waiter: the slot, its coach and time, the hold's end, "Book" and "No thanks"."""
    slot = offer.slot
    text = (
        f":tada: A coaching slot freed up for you (you are on the waitlist): slot #{slot.id} with "
        f"{escape(slot.coach.display_name)}, {when(slot, zone)}. It is held for you alone until "
        f"{slack_date(offer.expires_at, zone)}; then it passes to the next person waiting. "
        f"Book it with the button or `/cba-book {slot.id}`."
    )
    buttons = [
        blockkit.button("Book", f"{BOOK_ACTION}_{slot.id}", str(slot.id), style="primary"),
        blockkit.button("No thanks", DECLINE_OFFER_ACTION, str(offer.id)),
    ]
    return text, [blockkit.section(text), blockkit.actions(f"offer-{offer.id}", buttons)]


def offer_expired_text(offer: CoachingOffer, zone: ZoneInfo) -> str:
    return (
        f":hourglass: The hold on slot #{offer.slot_id} ({slack_date(offer.slot.starts_at, zone)}) ran out: it has "
        "passed to the next person waiting. You stay on the waitlist."
    )


def offer_withdrawn_text(offer: CoachingOffer, zone: ZoneInfo) -> str:
    return (
        f":wastebasket: Slot #{offer.slot_id} ({slack_date(offer.slot.starts_at, zone)}), held for you, was withdrawn "
        "by its coach. You stay on the waitlist."
    )


def declined_text(slot_id: int, position: int | None) -> str:
    text = f":ok_hand: You passed on slot #{slot_id}; it goes to the next person waiting."
    if position is not None:
        text += f" You stay on the waitlist (position {position}); leave it with `/cba-book waitlist leave`."
    return text
