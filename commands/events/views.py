"""Block Kit for programme days: reminders with RSVP buttons, the decline form, check-in, the list."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

from commands.common.text import escape, truncate
from commands.common.timefmt import slack_date_range
from storage.models import Event

RSVP_YES = "event_rsvp_yes"
RSVP_NO = "event_rsvp_no"
CHECKIN = "event_checkin"
DECLINE_CALLBACK = "event_decline"
REASON_BLOCK = "reason"
REASON_ACTION = "reason"
MAX_LISTED = 45
KIND_LABEL = {"online": "online", "in-person": "in person"}


def event_zone(event: Event, default: ZoneInfo) -> ZoneInfo:
    try:
        return ZoneInfo(event.tz)
    except (ZoneInfoNotFoundError, ValueError):
        return default


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


def reminder_message(event: Event, zone: ZoneInfo, offset_label: str) -> tuple[str, list[dict[str, Any]]]:
    text = f":calendar: Reminder: {event_line(event, zone)}"
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000))),
        ActionsBlock(
            block_id=f"event_rsvp_{event.id}",
            elements=[
                ButtonElement(text="I'll attend", action_id=RSVP_YES, value=str(event.id), style="primary"),
                ButtonElement(text="I can't attend", action_id=RSVP_NO, value=str(event.id)),
            ],
        ),
    ]
    return text, [block.to_dict() for block in blocks]


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


def events_list(lines: list[str], total: int, heading: str) -> tuple[str, list[Block]]:
    shown = lines[:MAX_LISTED]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=heading))]
    blocks += [SectionBlock(text=MarkdownTextObject(text=truncate(line, 3000))) for line in shown]
    if total > len(shown):
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text=f"{total - len(shown)} more: give a cohort code to narrow the list.")]
            )
        )
    return heading + "\n" + "\n".join(shown), blocks
