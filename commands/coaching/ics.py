"""The "Add to calendar" file of a booking (RFC 5545 via the icalendar library).

One UID per booking for its whole life: the booking's REQUEST and its later CANCEL (with a
higher SEQUENCE) are the same event to every calendar application.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//Cluster Booster Academy//CBA Bot//EN"


@dataclass(frozen=True)
class Party:
    name: str
    email: str | None
    slack_id: str | None

    def address(self) -> vCalAddress:
        # A calendar address must be a URI; without an e-mail we use a non-routable one.
        mail = self.email or f"{(self.slack_id or 'member').lower()}@slack.invalid"
        address = vCalAddress(f"mailto:{mail}")
        address.params["cn"] = vText(self.name)
        return address


@dataclass(frozen=True)
class CalendarBooking:
    uid: str
    sequence: int
    booking_id: int
    starts_at: datetime
    ends_at: datetime
    coach: Party
    participant: Party
    meeting_url: str | None


def booking_ics(booking: CalendarBooking, *, method: str, stamp: datetime) -> bytes:
    """METHOD:REQUEST for a new booking, METHOD:CANCEL (same UID, higher SEQUENCE) when it is off."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {method}")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)

    event = Event()
    event.add("uid", booking.uid)
    event.add("sequence", booking.sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", booking.starts_at.astimezone(UTC))
    event.add("dtend", booking.ends_at.astimezone(UTC))
    event.add("summary", f"CBA coaching: {booking.coach.name} with {booking.participant.name}")
    description = f"Cluster Booster Academy coaching session (booking #{booking.booking_id})."
    if booking.meeting_url:
        description += f"\nMeeting link: {booking.meeting_url}"
        event.add("location", booking.meeting_url)
        event.add("url", booking.meeting_url)
    event.add("description", description)
    event.add("organizer", booking.coach.address())
    attendee = booking.participant.address()
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("ACCEPTED" if method == "REQUEST" else "DECLINED")
    event.add("attendee", attendee)
    event.add("status", "CONFIRMED" if method == "REQUEST" else "CANCELLED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return bytes(calendar.to_ical())
