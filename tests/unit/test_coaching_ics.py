"""The calendar file parses with icalendar and carries the right instant, UID and parties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from commands.coaching.ics import CalendarBooking, Party, booking_ics

BERLIN = ZoneInfo("Europe/Berlin")


def _booking(sequence: int = 0, url: str | None = "https://meet.example.com/a") -> CalendarBooking:
    start = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=1)  # the second 02:30: 01:30Z
    return CalendarBooking(
        uid="cba-booking-1234@cba-bot",
        sequence=sequence,
        booking_id=7,
        starts_at=start,
        ends_at=start + timedelta(minutes=45),
        coach=Party("Clara Coach", "clara@example.org", "U0COACH"),
        participant=Party("Pia, Participant", None, "U0PART"),
        meeting_url=url,
    )


def test_request_has_the_right_instant_in_utc_and_the_parties() -> None:
    stamp = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    calendar = icalendar.Calendar.from_ical(booking_ics(_booking(), method="REQUEST", stamp=stamp))
    assert str(calendar["method"]) == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert event["dtstart"].dt == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert event["dtstart"].dt.utcoffset() == timedelta(0)
    assert event["dtend"].dt - event["dtstart"].dt == timedelta(minutes=45)
    assert str(event["uid"]) == "cba-booking-1234@cba-bot"
    assert int(event["sequence"]) == 0
    assert str(event["organizer"]) == "mailto:clara@example.org"
    assert event["organizer"].params["CN"] == "Clara Coach"
    # No e-mail known: a non-routable address, the name kept (commas survive quoting).
    assert str(event["attendee"]) == "mailto:u0part@slack.invalid"
    assert event["attendee"].params["CN"] == "Pia, Participant"
    assert str(event["location"]) == "https://meet.example.com/a"


def test_cancel_shares_the_uid_with_a_higher_sequence() -> None:
    stamp = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    request = icalendar.Calendar.from_ical(booking_ics(_booking(0), method="REQUEST", stamp=stamp))
    cancel = icalendar.Calendar.from_ical(booking_ics(_booking(1, None), method="CANCEL", stamp=stamp))
    [first], [second] = request.walk("VEVENT"), cancel.walk("VEVENT")
    assert str(cancel["method"]) == "CANCEL"
    assert str(second["uid"]) == str(first["uid"])
    assert int(second["sequence"]) > int(first["sequence"])
    assert str(second["status"]) == "CANCELLED"
    assert "location" not in second


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError):
        booking_ics(_booking(), method="PUBLISH", stamp=datetime.now(UTC))
