"""Telling people after commit: DMs with the calendar file (files upload v2 into the DM)."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from commands.coaching import views
from commands.coaching.ics import CalendarBooking, booking_ics
from commands.coaching.service import Cancelled

log = logging.getLogger(__name__)


def _dm_with_calendar(
    client: WebClient,
    slack_id: str | None,
    text: str,
    blocks: list[Block] | None,
    ics: bytes,
    filename: str,
    comment: str,
) -> None:
    """One recipient: a failure is logged and never stops the other side being told."""
    if not slack_id:
        return
    try:
        channel = client.conversations_open(users=slack_id)["channel"]["id"]
        client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        client.files_upload_v2(
            channel=channel,
            content=ics,
            filename=filename,
            title="Add to calendar" if "cancel" not in filename else "Remove from calendar",
            initial_comment=comment,
        )
    except SlackApiError as exc:
        log.warning("coaching DM not delivered: %s", exc.response.get("error"))


def send_booked(
    client: WebClient,
    cal: CalendarBooking,
    *,
    slot_id: int,
    participant: str | None,
    coach: str | None,
    zone: ZoneInfo,
    stamp: datetime,
) -> None:
    ics = booking_ics(cal, method="REQUEST", stamp=stamp)
    filename = f"cba-coaching-booking-{cal.booking_id}.ics"
    comment = f":calendar: Add to calendar: booking #{cal.booking_id}"
    for to, slack_id in (("participant", participant), ("coach", coach)):
        text, blocks = views.booking_dm(cal, to=to, zone=zone, slot_id=slot_id)
        _dm_with_calendar(client, slack_id, text, blocks, ics, filename, comment)


def send_cancelled(client: WebClient, result: Cancelled, *, zone: ZoneInfo, stamp: datetime) -> None:
    """Both sides get the METHOD:CANCEL file (same UID, higher SEQUENCE); the other side is told why."""
    ics = booking_ics(result.calendar, method="CANCEL", stamp=stamp)
    filename = f"cba-coaching-booking-{result.booking_id}-cancel.ics"
    comment = f":x: Remove from calendar: booking #{result.booking_id}"
    for to, slack_id in (("participant", result.participant_slack), ("coach", result.coach_slack)):
        text = views.cancellation_dm(result, to=to, zone=zone)
        _dm_with_calendar(client, slack_id, text, None, ics, filename, comment)
