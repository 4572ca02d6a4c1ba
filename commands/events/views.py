"""Block Kit for programme days: reminders with RSVP buttons, the decline form, check-in, the list."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from commands.common import paging
from commands.common.text import escape, truncate
from commands.common.timefmt import slack_date_range, zone_of
from storage.models import Event

RSVP_YES = "event_rsvp_yes"
RSVP_NO = "event_rsvp_no"
CHECKIN = "event_checkin"
DECLINE_CALLBACK = "event_decline"
REASON_BLOCK = "reason"
REASON_ACTION = "reason"
LIST_PAGE_SIZE = 45  # a heading, 45 days, where we are and "Next": 48 blocks
LIST_NEXT = "events_list_next"
KIND_LABEL = {"online": "online", "in-person": "in person"}


def event_zone(event: Event, default: ZoneInfo) -> ZoneInfo:
    return zone_of(event.tz, default)


def place(event: Event) -> str:
    if not event.location:
        return ""
    if event.location.startswith(("http://", "https://")):
        return f"<{event.location}|{escape(truncate(event.location, 80))}>"
    return escape(event.location)


def event_line(event: Event, zone: ZoneInfo) -> str:
    where = place(event)
    line = (
        f"*{escape(event.title)}* (event #{event.id}, {KIND_LABEL.get(event.kind, event.kind)}) — "
        f"{slack_date_range(event.starts_at, event.ends_at, zone)}"
    )
    return f"{line}\n{'Join: ' if event.kind == 'online' else 'Where: '}{where}" if where else line


def rsvp_buttons(event: Event) -> ActionsBlock:
    return ActionsBlock(
        block_id=f"event_rsvp_{event.id}",
        elements=[
            ButtonElement(text="I'll attend", action_id=RSVP_YES, value=str(event.id), style="primary"),
            ButtonElement(text="I can't attend", action_id=RSVP_NO, value=str(event.id)),
        ],
    )


def _with_buttons(text: str, event: Event, note: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000))), rsvp_buttons(event)]
    if note:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    return text, [block.to_dict() for block in blocks]


def reminder_message(event: Event, zone: ZoneInfo, offset_label: str) -> tuple[str, list[dict[str, Any]]]:
    return _with_buttons(f":calendar: Reminder: {event_line(event, zone)}", event)


def announcement(event: Event, zone: ZoneInfo) -> tuple[str, list[dict[str, Any]]]:
    """The post in the cohort channel when a programme day is added."""
    return _with_buttons(
        f":calendar: New programme day: {event_line(event, zone)}",
        event,
        "Will you be there? Your answer can be changed later.",
    )


def _was(starts_at: datetime, ends_at: datetime, zone: ZoneInfo) -> str:
    return f"(was {slack_date_range(starts_at, ends_at, zone)})"


def moved_post(event: Event, zone: ZoneInfo, was: tuple[datetime, datetime]) -> tuple[str, list[dict[str, Any]]]:
    text = f":arrows_counterclockwise: Programme day moved: {event_line(event, zone)}\n{_was(*was, zone)}"
    return _with_buttons(text, event, "Answers given before the move still stand; change yours here.")


def moved_dm(event: Event, zone: ZoneInfo, was: tuple[datetime, datetime]) -> tuple[str, list[dict[str, Any]]]:
    text = (
        f":arrows_counterclockwise: A programme day you said you'd attend has moved: {event_line(event, zone)}\n"
        f"{_was(*was, zone)}"
    )
    return _with_buttons(text, event, "Still coming? Your answer stands unless you change it here.")


def removed_post(event: Event, zone: ZoneInfo) -> str:
    return (
        f":wastebasket: Programme day cancelled: *{escape(event.title)}* (event #{event.id}), "
        f"{slack_date_range(event.starts_at, event.ends_at, zone)}, no longer takes place."
    )


def removed_dm(event: Event, zone: ZoneInfo) -> str:
    return (
        f":wastebasket: A programme day you said you'd attend is cancelled: *{escape(event.title)}* "
        f"(event #{event.id}), {slack_date_range(event.starts_at, event.ends_at, zone)}. It no longer takes place."
    )


def checkin_message(event: Event, zone: ZoneInfo) -> tuple[str, list[Block]]:
    text = f":wave: Check in for {event_line(event, zone)}"
    return text, [
        SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000))),
        ActionsBlock(
            block_id=f"event_checkin_{event.id}",
            elements=[ButtonElement(text="Check in", action_id=CHECKIN, value=str(event.id), style="primary")],
        ),
        ContextBlock(elements=[MarkdownTextObject(text="Opens 30 minutes before the start, closes at the end.")]),
    ]


def decline_modal(event: Event, zone: ZoneInfo, *, channel_id: str | None, late: bool) -> View:
    note = f"You can't attend {event_line(event, zone)}"
    if late:
        note += (
            "\n:warning: This in-person day is less than 14 days away: declining now is recorded as a "
            "late cancellation."
        )
    return View(
        type="modal",
        callback_id=DECLINE_CALLBACK,
        title="Can't attend",
        submit="Send",
        close="Cancel",
        private_metadata=json.dumps({"event_id": event.id, "channel_id": channel_id}),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=truncate(note, 3000))),
            InputBlock(
                block_id=REASON_BLOCK,
                label="Why can't you attend?",
                element=PlainTextInputElement(action_id=REASON_ACTION, multiline=True, max_length=500),
            ),
        ],
    )


def events_list(
    lines: list[str], heading: str, *, code: str | None, start: int = 0, usage: str | None = None
) -> tuple[str, list[Block]]:
    """One page of `/cba-admin events [COHORT]`: a line per day, "Next" while more follow."""

    def render(shown: Sequence[str]) -> list[Block]:
        return [SectionBlock(text=MarkdownTextObject(text=truncate(line, 3000))) for line in shown]

    page = paging.page(
        lines,
        render,
        start=start,
        size=LIST_PAGE_SIZE,
        action_id=LIST_NEXT,
        state={"c": code},
        usage=usage,
        head=[SectionBlock(text=MarkdownTextObject(text=heading))],
        noun="programme days",
    )
    return heading + "\n" + "\n".join(lines[page.start : page.end]), page.blocks
