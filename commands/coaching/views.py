"""Block Kit for coaching: pure builders (slack_sdk.models), always with a text fallback.

Times are Slack date tokens (each reader sees their own zone) with a CBA_TIMEZONE fallback.
A page of open slots holds at most PAGE_SIZE slots: with a coach header and a day line per slot
at worst, that is 3 × 10 + 3 blocks, well inside the 50-block limit.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)

from commands.coaching.ics import CalendarBooking
from commands.coaching.parse import AddSlots
from commands.coaching.service import AskFold, Booked, Cancelled, OpenSlot, Page, Published, Removed, SlotTaken
from commands.common import blockkit
from commands.common.blockkit import Json
from commands.common.text import escape, truncate
from commands.common.timefmt import slack_date
from storage.models import CoachingBooking, CoachingSlot

BOOK_ACTION = "coaching_book"
PAGE_ACTION = "coaching_page"
CANCEL_ACTION = "coaching_cancel"
FOLD_ACTION = "coaching_add_fold"
SECTION_LIMIT = 2900


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


def coach_slots_text(rows: list[tuple[CoachingSlot, CoachingBooking | None]], zone: ZoneInfo) -> str:
    if not rows:
        return "You have no slots from now on. Publish some with `/cba-slots add YYYY-MM-DD HH:MM [MINUTESm] [xCOUNT]`."
    lines = [f"*Your slots from now on ({len(rows)}):*"]
    for slot, booking in rows:
        if booking is None:
            who = "open"
        elif booking.participant.slack_id:
            who = f"booked by <@{booking.participant.slack_id}> (booking #{booking.id})"
        else:
            who = f"booked by a former member (booking #{booking.id})"
        lines.append(f"• slot #{slot.id}: {when(slot, zone)} — {who}")
    return "\n".join(lines)


def text_blocks(text: str) -> list[Block]:
    """Long text split into sections under the 3000-character limit, at line breaks."""
    blocks: list[Block] = []
    chunk = ""
    for line in text.split("\n"):
        if chunk and len(chunk) + len(line) + 1 > SECTION_LIMIT:
            blocks.append(SectionBlock(text=_md(chunk)))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else truncate(line, SECTION_LIMIT)
        if len(blocks) >= 45:
            break
    if chunk and len(blocks) < 49:
        blocks.append(SectionBlock(text=_md(chunk)))
    return blocks


def removed_text(result: Removed) -> str:
    text = f":wastebasket: Withdrew slot #{result.slot.id}."
    if result.cancelled is not None:
        who = result.cancelled.participant_slack
        text += f" Its booking #{result.cancelled.booking_id} is cancelled and " + (
            f"<@{who}> has been told." if who else "the participant has been told."
        )
    return text


# --- /cba-book ---------------------------------------------------------------------------------


def browse_blocks(page: Page, zone: ZoneInfo) -> tuple[str, list[Json]]:
    """The page of open slots. Plain dicts (commands.common.blockkit): this answers every `/cba-book`."""
    if not page.slots:
        text = (
            "There are no open coaching slots right now. Check again later."
            if page.page == 0
            else "No more open slots."
        )
        blocks = [blockkit.section(text)]
        if page.page > 0:
            blocks.append(_nav(page))
        return text, blocks
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


def mine_blocks(held: list[CoachingBooking], coached: list[CoachingBooking], zone: ZoneInfo) -> tuple[str, list[Block]]:
    if not held and not coached:
        text = "You have no upcoming coaching bookings. See `/cba-book` for open slots."
        return text, [SectionBlock(text=_md(text))]
    lines: list[str] = []
    blocks: list[Block] = []
    budget = 46
    if held:
        lines.append(f"*Your bookings ({len(held)}):*")
        blocks.append(SectionBlock(text=_md(lines[-1])))
        for booking in held:
            slot = booking.slot
            line = f"booking #{booking.id}: slot #{slot.id} with {escape(slot.coach.display_name)}, {when(slot, zone)}"
            lines.append(f"• {line}")
            if len(blocks) < budget:
                blocks.append(SectionBlock(text=_md(line), accessory=_cancel_button(booking)))
    if coached:
        lines.append(f"*Bookings on your slots ({len(coached)}):*")
        if len(blocks) < budget:
            blocks.append(SectionBlock(text=_md(lines[-1])))
        for booking in coached:
            slot = booking.slot
            who = f"<@{booking.participant.slack_id}>" if booking.participant.slack_id else "former member"
            line = f"booking #{booking.id}: slot #{slot.id} booked by {who}, {when(slot, zone)}"
            lines.append(f"• {line}")
            if len(blocks) < budget:
                blocks.append(SectionBlock(text=_md(line), accessory=_cancel_button(booking)))
    if len(blocks) >= budget:
        blocks.append(ContextBlock(elements=[_md("More bookings are listed in the notification text.")]))
    return "\n".join(lines), blocks


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
