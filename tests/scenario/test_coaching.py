"""Coaching end to end: signed requests through Bolt, the fake Slack API and the real database."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from slack_sdk import WebClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot, build
from bot.console import slack_payloads as payloads
from bot.console.driver import Dispatched, SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.features import build_registry
from bot.kernel.kinds import Outgoing, Skip
from bot.kernel.settings import Settings
from bot.scheduler import tick
from commands.common.csv_text import to_csv
from storage.models import CoachingBooking, CoachingSlot, Member, Reminder
from tests.conftest import ORGANISER, Clock
from tests.factories import database_snapshot, make_cohort, make_member
from tests.factories_coaching import COACH, COACH2, OUTSIDER, PARTICIPANTS, make_booking, make_slot, seed_people

P1, P2, P3 = PARTICIPANTS
SLOTS_USAGE = "Usage of `/cba-slots`"
BOOK_USAGE = "Usage of `/cba-book`"


@pytest.fixture
def people(sessions: sessionmaker[Session], fake_slack: FakeSlack) -> dict[str, int]:
    with sessions.begin() as session:
        members = seed_people(session, fake_slack)
        return {slack_id: member.id for slack_id, member in members.items()}


def _count(sessions: sessionmaker[Session], model: type, *where: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _slot(sessions: sessionmaker[Session], coach: str, starts_at: datetime, minutes: int = 45, **kw: Any) -> int:
    with sessions.begin() as session:
        member = session.scalar(select(Member).where(Member.slack_id == coach))
        assert member is not None
        return make_slot(session, member, starts_at, minutes, **kw).id


def _answer(fake: FakeSlack) -> str:
    """The last ephemeral answer to a button (sent through its response_url)."""
    return str(fake.calls_to("response_url")[-1].args.get("text", ""))


def _answer_blocks(fake: FakeSlack) -> list[dict[str, Any]]:
    return list(fake.calls_to("response_url")[-1].args.get("blocks") or [])


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        if block.get("accessory", {}).get("type") == "button":
            found.append(block["accessory"])
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            found.append(element)
    return found


def _calendar(fake: FakeSlack, user: str) -> list[icalendar.Calendar]:
    return [icalendar.Calendar.from_ical(f.content) for f in fake.files if f.channel_id == fake.dm_channel(user)]


def _event(calendar: icalendar.Calendar) -> Any:
    return next(iter(calendar.walk("VEVENT")))


def _ephemeral(answer: Dispatched) -> str:
    assert answer.status == 200
    assert answer.json.get("response_type") == "ephemeral"
    return answer.text


ZONE = ZoneInfo("Europe/Brussels")
SOON = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # a week after the test clock's start


# --- /cba-slots add ----------------------------------------------------------------------------


class TestSlotsAdd:
    def test_publishes_one_slot_in_the_coachs_time_zone(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        text = _ephemeral(slack.command(COACH, "/cba-slots", "add 2026-12-03 10:00"))
        assert "Published slot #1" in text
        assert "<!date^" in text
        with sessions() as session:
            slot = session.scalars(select(CoachingSlot)).one()
            # Berlin is UTC+1 in December.
            assert slot.starts_at == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
            assert slot.ends_at - slot.starts_at == timedelta(minutes=45)
            assert slot.meeting_url is None

    def test_publishes_back_to_back_slots_with_length_and_link(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        text = _ephemeral(
            slack.command(COACH, "/cba-slots", "add 2026-12-03 10:00 30m x3 <https://meet.example.com/abc>")
        )
        assert "Published 3 slots" in text
        with sessions() as session:
            slots = session.scalars(select(CoachingSlot).order_by(CoachingSlot.starts_at)).all()
        assert [s.starts_at.strftime("%H:%M") for s in slots] == ["09:00", "09:30", "10:00"]
        assert all(s.minutes == 30 and s.meeting_url == "https://meet.example.com/abc" for s in slots)

    def test_refuses_a_past_time(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        text = _ephemeral(slack.command(COACH, "/cba-slots", "add 2026-11-25 09:30"))  # 08:30Z: before the clock
        assert "is in the past" in text
        assert SLOTS_USAGE in text
        assert _count(sessions, CoachingSlot) == 0

    def test_refuses_an_overlap_with_the_coachs_own_slots(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        existing = _slot(sessions, COACH, SOON, 45)
        text = _ephemeral(slack.command(COACH, "/cba-slots", "add 2026-12-03 09:30 60m x2"))  # 08:30Z-10:30Z
        assert f"overlaps your slot #{existing}" in text
        assert _count(sessions, CoachingSlot) == 1

    def test_another_coachs_slot_at_the_same_time_is_no_overlap(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        _slot(sessions, COACH2, SOON, 45)
        assert "Published slot" in _ephemeral(slack.command(COACH, "/cba-slots", "add 2026-12-03 10:00"))

    def test_only_coaches_publish(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        text = _ephemeral(slack.command(P1, "/cba-slots", "add 2026-12-03 10:00"))
        assert "You need to be a coach" in text
        assert _count(sessions, CoachingSlot) == 0

    @pytest.mark.parametrize(
        "text",
        [
            "add",
            "add 2026-12-03",
            "add 2026-13-03 10:00",
            "add 03/12/2026 10:00",
            "add 2026-12-03 25:00",
            "add 2026-12-03 10:00 4m",
            "add 2026-12-03 10:00 45m 30m",
            "add 2026-12-03 10:00 x0",
            "add 2026-12-03 10:00 x99",
            "add 2026-12-03 10:00 banana",
            "add 2026-12-03 10:00 ftp://example.com",
            "add 2026-12-03 10:00 https://a.example https://b.example",
            "frobnicate",
            "remove",
            "remove abc",
            "remove 1 2",
            "list everything",
        ],
    )
    def test_bad_input_answers_usage_and_changes_nothing(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int], text: str
    ) -> None:
        _slot(sessions, COACH, SOON)
        before = database_snapshot(sessions)
        answer = _ephemeral(slack.command(COACH, "/cba-slots", text))
        assert SLOTS_USAGE in answer
        assert "Traceback" not in answer
        assert database_snapshot(sessions) == before


class TestDaylightSaving:
    """A Europe/Berlin coach types times on the days the clocks change (2026-03-29, 2026-10-25)."""

    @pytest.fixture(autouse=True)
    def _early_in_the_year(self, clock: Clock) -> None:
        clock.set(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))

    @pytest.mark.parametrize(
        ("typed", "utc"),
        [
            ("2026-03-29 10:00", datetime(2026, 3, 29, 8, 0, tzinfo=UTC)),  # CEST, UTC+2
            ("2026-03-29 01:30", datetime(2026, 3, 29, 0, 30, tzinfo=UTC)),  # still CET
            ("2026-03-29 03:00", datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),  # first CEST minute
            ("2026-10-25 10:00", datetime(2026, 10, 25, 9, 0, tzinfo=UTC)),  # CET again, UTC+1
        ],
    )
    def test_a_slot_on_the_day_of_a_change_is_stored_at_the_right_instant(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int], typed: str, utc: datetime
    ) -> None:
        assert "Published slot" in _ephemeral(slack.command(COACH, "/cba-slots", f"add {typed}"))
        with sessions() as session:
            assert session.scalars(select(CoachingSlot.starts_at)).one() == utc

    def test_a_time_in_the_spring_gap_is_refused_with_an_explanation(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        text = _ephemeral(slack.command(COACH, "/cba-slots", "add 2026-03-29 02:30"))
        assert "does not exist in Europe/Berlin" in text
        assert "CET → CEST" in text
        assert "03:30" in text
        assert _count(sessions, CoachingSlot) == 0

    @pytest.mark.parametrize(
        ("choice", "utc"),
        [(0, datetime(2026, 10, 25, 0, 30, tzinfo=UTC)), (1, datetime(2026, 10, 25, 1, 30, tzinfo=UTC))],
    )
    def test_a_time_in_the_autumn_fold_asks_which_one(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        people: dict[str, int],
        choice: int,
        utc: datetime,
    ) -> None:
        answer = slack.command(COACH, "/cba-slots", "add 2026-10-25 02:30 x2")
        assert "happens twice" in _ephemeral(answer)
        assert _count(sessions, CoachingSlot) == 0
        buttons = _buttons(answer.json["blocks"])
        assert [b["text"]["text"] for b in buttons] == ["first 02:30 (CEST)", "second 02:30 (CET)"]
        slack.action(COACH, buttons[choice]["action_id"], value=buttons[choice]["value"])
        assert "Published 2 slots" in _answer(fake_slack)
        with sessions() as session:
            starts = session.scalars(select(CoachingSlot.starts_at).order_by(CoachingSlot.starts_at)).all()
        assert starts == [utc, utc + timedelta(minutes=45)]

    def test_a_forged_fold_button_is_refused(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slack.action(COACH, "coaching_add_fold_0", value='{"d":"nonsense"}')
        assert SLOTS_USAGE in _answer(fake_slack)
        assert _count(sessions, CoachingSlot) == 0


# --- /cba-slots list and remove -----------------------------------------------------------------


class TestSlotsListAndRemove:
    def test_lists_own_future_slots_with_who_booked(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int], clock: Clock
    ) -> None:
        booked = _slot(sessions, COACH, SOON)
        open_slot = _slot(sessions, COACH, SOON + timedelta(hours=2))
        _slot(sessions, COACH, clock.now - timedelta(days=1))  # past: not listed
        _slot(sessions, COACH2, SOON)  # someone else's
        with sessions.begin() as session:
            make_booking(session, session.get(CoachingSlot, booked), session.get(Member, people[P1]))
        for text in ("", "list"):
            answer = _ephemeral(slack.command(COACH, "/cba-slots", text))
            assert "Your slots from now on (2)" in answer
            assert f"slot #{booked}" in answer
            assert f"booked by <@{P1}>" in answer
            assert f"slot #{open_slot}" in answer
            assert "open" in answer

    def test_removing_a_booked_slot_cancels_the_booking_and_tells_the_participant(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        people: dict[str, int],
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        assert "Booked!" in _ephemeral(slack.command(P1, "/cba-book", str(slot_id)))
        assert _count(sessions, Reminder, Reminder.status == "pending") == 4
        text = _ephemeral(slack.command(COACH, "/cba-slots", f"remove {slot_id}"))
        assert f"Withdrew slot #{slot_id}" in text
        assert f"<@{P1}> has been told" in text
        with sessions() as session:
            booking = session.scalars(select(CoachingBooking)).one()
            assert booking.status == "cancelled"
            assert booking.cancelled_by_id == people[COACH]
            assert session.get(CoachingSlot, slot_id).removed_at is not None  # type: ignore[union-attr]
        assert _count(sessions, Reminder, Reminder.status == "pending") == 0
        told = [m.text for m in fake_slack.dms_to(P1) if "cancelled" in m.text]
        assert told
        assert "the coach withdrew the slot" in told[0]
        request, cancel = _calendar(fake_slack, P1)
        assert str(cancel["method"]) == "CANCEL"
        assert str(_event(cancel)["uid"]) == str(_event(request)["uid"])
        # Withdrawn: it is not offered again.
        assert f"slot #{slot_id}" not in _ephemeral(slack.command(P2, "/cba-book"))

    def test_a_coach_cannot_remove_another_coachs_slot(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slot_id = _slot(sessions, COACH2, SOON)
        text = _ephemeral(slack.command(COACH, "/cba-slots", f"remove {slot_id}"))
        assert "You need to be an organiser" in text
        assert _count(sessions, CoachingSlot, CoachingSlot.removed_at.is_not(None)) == 0

    def test_unknown_and_already_removed_slots(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        assert "There is no slot #99" in _ephemeral(slack.command(COACH, "/cba-slots", "remove 99"))
        slot_id = _slot(sessions, COACH, SOON)
        _ephemeral(slack.command(COACH, "/cba-slots", f"remove #{slot_id}"))
        assert "already withdrawn" in _ephemeral(slack.command(COACH, "/cba-slots", f"remove {slot_id}"))


# --- /cba-book ---------------------------------------------------------------------------------


class TestBrowse:
    def test_lists_open_future_slots_grouped_by_coach_with_book_buttons(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int], clock: Clock
    ) -> None:
        a = _slot(sessions, COACH, SOON)
        b = _slot(sessions, COACH2, SOON + timedelta(days=1))
        taken = _slot(sessions, COACH, SOON + timedelta(hours=3))
        too_soon = _slot(sessions, COACH, clock.now + timedelta(hours=2))
        with sessions.begin() as session:
            make_booking(session, session.get(CoachingSlot, taken), session.get(Member, people[P2]))
        answer = slack.command(P1, "/cba-book")
        text = _ephemeral(answer)
        assert f"slot #{a}" in text
        assert f"slot #{b}" in text
        assert f"slot #{taken}" not in text
        assert f"slot #{too_soon}" not in text
        blocks = answer.json["blocks"]
        headers = [blk["text"]["text"] for blk in blocks if blk["type"] == "section" and "accessory" not in blk]
        assert "*Carl Coach*" in headers
        assert "*Clara Coach*" in headers
        assert sorted(int(b["value"]) for b in _buttons(blocks)) == sorted([a, b])

    def test_paginates_with_next_and_previous(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        ids = [_slot(sessions, COACH, SOON + timedelta(hours=i)) for i in range(23)]
        first = slack.command(P1, "/cba-book")
        assert len(first.json["blocks"]) <= 50
        nav = [b for b in _buttons(first.json["blocks"]) if b["text"]["text"] in ("Next", "Previous")]
        assert [b["text"]["text"] for b in nav] == ["Next"]
        slack.action(P1, nav[0]["action_id"], value=nav[0]["value"])
        second = _answer_blocks(fake_slack)
        assert fake_slack.calls_to("response_url")[-1].args.get("replace_original") is True
        assert {int(b["value"]) for b in _buttons(second) if b["text"]["text"] == "Book"} == set(ids[10:20])
        assert {b["text"]["text"] for b in _buttons(second)} >= {"Next", "Previous"}

    def test_only_participants_browse(self, slack: SlackDriver, people: dict[str, int]) -> None:
        assert "You need to be a participant" in _ephemeral(slack.command(OUTSIDER, "/cba-book"))

    def test_no_open_slots(self, slack: SlackDriver, people: dict[str, int]) -> None:
        assert "no open coaching slots" in _ephemeral(slack.command(P1, "/cba-book"))


class TestBook:
    def test_booking_confirms_and_dms_both_sides_with_a_calendar_file(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        people: dict[str, int],
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON, 60, url="https://meet.example.com/x?a=1&b=2")
        text = _ephemeral(slack.command(P1, "/cba-book", str(slot_id)))
        assert f"Booked! booking #1 — slot #{slot_id}" in text
        with sessions() as session:
            booking = session.scalars(select(CoachingBooking)).one()
            assert (booking.participant_id, booking.status, booking.ics_sequence) == (people[P1], "active", 0)
            reminders = session.scalars(
                select(Reminder).where(Reminder.kind == "coaching").order_by(Reminder.due_at, Reminder.recipient)
            ).all()
            notices = session.scalars(select(Reminder).where(Reminder.kind.not_in(("coaching", "home")))).all()
            homes = session.scalars(select(Reminder).where(Reminder.kind == "home")).all()
        assert {(r.kind, r.subject_type, r.subject_id) for r in reminders} == {("coaching", "booking", booking.id)}
        # Both sides' Home tabs list the booking: one refresh each, in the booking's transaction.
        assert sorted((r.method, r.recipient, r.status) for r in homes) == [
            ("views.publish", COACH, "sent"),
            ("views.publish", P1, "sent"),
        ]
        # The confirmations went through the outbox: a DM and a file for each side, delivered once.
        assert sorted((r.method, r.recipient, r.status) for r in notices) == sorted(
            (method, user, "sent") for method in ("chat.postMessage", "files.upload") for user in (P1, COACH)
        )
        assert {(r.subject_type, r.subject_id) for r in notices} == {("booking-notice", booking.id)}
        assert sorted((r.offset_label, r.recipient) for r in reminders) == sorted(
            [("1d", P1), ("1d", COACH), ("1h", P1), ("1h", COACH)]
        )
        assert {r.due_at for r in reminders} == {SOON - timedelta(hours=24), SOON - timedelta(hours=1)}
        for user in (P1, COACH):
            dm = fake_slack.dms_to(user)
            message = next(m for m in dm if "booking #1" in m.text and not m.files)
            assert "<!date^" in message.text
            assert "60 minutes" in message.text
            assert "https://meet.example.com/x?a=1&amp;b=2" in message.text
            [calendar] = _calendar(fake_slack, user)
            event = _event(calendar)
            assert str(calendar["method"]) == "REQUEST"
            assert str(event["uid"]) == booking.ics_uid
            assert event["dtstart"].dt == SOON
            assert event["dtend"].dt == SOON + timedelta(hours=1)
            assert event["dtstart"].dt.utcoffset() == timedelta(0)
            assert str(event["organizer"]) == "mailto:clara@example.org"
            assert str(event["attendee"]) == "mailto:p1@example.org"
            assert int(event["sequence"]) == 0
        uploads = fake_slack.calls_to("files.completeUploadExternal")
        assert {c.args["channel_id"] for c in uploads} == {fake_slack.dm_channel(P1), fake_slack.dm_channel(COACH)}

    def test_the_book_button_books_and_rechecks_the_rules(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        button = _buttons(slack.command(P1, "/cba-book").json["blocks"])[0]
        slack.action(P1, button["action_id"], value=button["value"])
        assert "Booked!" in _answer(fake_slack)
        # A stale list: someone else presses the same button later.
        slack.action(P2, button["action_id"], value=button["value"])
        assert f"slot #{slot_id} was just taken" in _answer(fake_slack)
        assert _count(sessions, CoachingBooking) == 1

    def test_a_taken_slot_is_refused_with_alternatives_from_the_same_coach(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        other = _slot(sessions, COACH, SOON + timedelta(hours=1))
        _slot(sessions, COACH2, SOON + timedelta(hours=1))
        slack.command(P1, "/cba-book", str(slot_id))
        answer = slack.command(P2, "/cba-book", str(slot_id))
        assert f"slot #{slot_id} was just taken" in _ephemeral(answer)
        assert [int(b["value"]) for b in _buttons(answer.json["blocks"])] == [other]
        assert _count(sessions, CoachingBooking) == 1

    def test_refuses_inside_the_minimum_notice(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int], clock: Clock
    ) -> None:
        slot_id = _slot(sessions, COACH, clock.now + timedelta(hours=11, minutes=59))
        text = _ephemeral(slack.command(P1, "/cba-book", str(slot_id)))
        assert "starts in less than 12h" in text
        assert _count(sessions, CoachingBooking) == 0

    def test_refuses_a_past_slot(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int], clock: Clock
    ) -> None:
        slot_id = _slot(sessions, COACH, clock.now - timedelta(hours=1))
        assert "is in the past" in _ephemeral(slack.command(P1, "/cba-book", str(slot_id)))
        assert _count(sessions, CoachingBooking) == 0

    def test_refuses_your_own_slot(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        with sessions.begin() as session:
            from storage.models import RoleGrant

            session.add(RoleGrant(member_id=people[COACH], role="participant"))
        slot_id = _slot(sessions, COACH, SOON)
        assert "your own slot" in _ephemeral(slack.command(COACH, "/cba-book", str(slot_id)))
        assert _count(sessions, CoachingBooking) == 0

    def test_refuses_a_withdrawn_slot(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        slack.command(COACH, "/cba-slots", f"remove {slot_id}")
        assert "was withdrawn" in _ephemeral(slack.command(P1, "/cba-book", str(slot_id)))
        assert _count(sessions, CoachingBooking) == 0

    def test_limits_active_future_bookings(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int], clock: Clock
    ) -> None:
        ids = [_slot(sessions, COACH, SOON + timedelta(hours=i)) for i in range(3)]
        past = _slot(sessions, COACH2, clock.now - timedelta(days=2))
        with sessions.begin() as session:  # a past booking does not count
            make_booking(session, session.get(CoachingSlot, past), session.get(Member, people[P1]))
        assert "Booked!" in _ephemeral(slack.command(P1, "/cba-book", str(ids[0])))
        assert "Booked!" in _ephemeral(slack.command(P1, "/cba-book", str(ids[1])))
        text = _ephemeral(slack.command(P1, "/cba-book", str(ids[2])))
        assert "the most allowed (2)" in text
        assert _count(sessions, CoachingBooking, CoachingBooking.slot_id == ids[2]) == 0
        # Cancelling one frees a place.
        slack.command(P1, "/cba-book", "cancel 2")
        assert "Booked!" in _ephemeral(slack.command(P1, "/cba-book", str(ids[2])))

    def test_only_participants_book(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        assert "You need to be a participant" in _ephemeral(slack.command(OUTSIDER, "/cba-book", str(slot_id)))
        assert _count(sessions, CoachingBooking) == 0

    def test_unknown_slot(self, slack: SlackDriver, people: dict[str, int]) -> None:
        text = _ephemeral(slack.command(P1, "/cba-book", "#404"))
        assert "There is no slot #404" in text
        assert BOOK_USAGE in text

    @pytest.mark.parametrize(
        "text", ["abc", "12 13", "cancel", "cancel x", "cancel 1 2", "mine please", "book 12", "-1", "1.5"]
    )
    def test_bad_input_answers_usage_and_changes_nothing(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int], text: str
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        slack.command(P1, "/cba-book", str(slot_id))
        before = database_snapshot(sessions)
        answer = _ephemeral(slack.command(P1, "/cba-book", text))
        assert BOOK_USAGE in answer
        assert database_snapshot(sessions) == before

    def test_a_double_click_books_once(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        start = threading.Barrier(2)

        def click() -> None:
            start.wait()
            slack.action(P1, f"coaching_book_{slot_id}", value=str(slot_id))

        threads = [threading.Thread(target=click) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        answers = [str(c.args.get("text")) for c in fake_slack.calls_to("response_url")]
        assert sum("Booked!" in a for a in answers) == 1
        assert sum(f"You already booked slot #{slot_id}" in a or "was just taken" in a for a in answers) == 1
        assert _count(sessions, CoachingBooking) == 1
        assert len(fake_slack.files) == 2  # one confirmation each side, not two


# --- /cba-book mine and cancel ------------------------------------------------------------------


class TestMineAndCancel:
    def test_mine_lists_bookings_for_participants_and_coaches(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        slack.command(P1, "/cba-book", str(slot_id))
        mine = slack.command(P1, "/cba-book", "mine")
        assert "booking #1" in _ephemeral(mine)
        assert "Clara Coach" in mine.text
        assert [b["text"]["text"] for b in _buttons(mine.json["blocks"])] == ["Cancel"]
        assert f"booked by <@{P1}>" in _ephemeral(slack.command(COACH, "/cba-book", "mine"))
        assert "no upcoming coaching bookings" in _ephemeral(slack.command(P2, "/cba-book", "mine"))

    def test_participant_cancels_the_coach_is_told_and_the_slot_reopens(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        slack.command(P1, "/cba-book", str(slot_id))
        text = _ephemeral(slack.command(P1, "/cba-book", "cancel 1"))
        assert "Cancelled booking #1" in text
        assert "The slot is open again" in text
        assert "late" not in text
        with sessions() as session:
            booking = session.scalars(select(CoachingBooking)).one()
            assert (booking.status, booking.late, booking.ics_sequence) == ("cancelled", False, 1)
            assert booking.cancelled_by_id == people[P1]
        assert _count(sessions, Reminder, Reminder.status == "pending") == 0
        assert _count(sessions, Reminder, Reminder.status == "cancelled") == 4
        assert any("the participant cancelled" in m.text for m in fake_slack.dms_to(COACH))
        request, cancel = _calendar(fake_slack, COACH)
        assert str(cancel["method"]) == "CANCEL"
        assert str(_event(cancel)["uid"]) == str(_event(request)["uid"])
        assert int(_event(cancel)["sequence"]) > int(_event(request)["sequence"])
        assert str(_event(cancel)["status"]) == "CANCELLED"
        assert _event(cancel)["dtstart"].dt == SOON
        assert f"slot #{slot_id}" in _ephemeral(slack.command(P2, "/cba-book"))
        assert "Booked!" in _ephemeral(slack.command(P2, "/cba-book", str(slot_id)))

    def test_a_cancellation_inside_the_notice_is_recorded_as_late(
        self,
        slack: SlackDriver,
        sessions: sessionmaker[Session],
        people: dict[str, int],
        clock: Clock,
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        slack.command(P1, "/cba-book", str(slot_id))
        clock.set(SOON - timedelta(hours=3))
        assert "late cancellation" in _ephemeral(slack.command(P1, "/cba-book", "cancel 1"))
        with sessions() as session:
            assert session.scalars(select(CoachingBooking.late)).one() is True
            rows = list(build_registry().exporters.get("bookings")(session, None))  # type: ignore[misc]
        assert rows[1][rows[0].index("late_cancellation")] == "yes"
        assert rows[1][rows[0].index("cancelled_by")] == "participant"

    def test_a_coach_cancels_a_booking_on_their_slot_and_the_participant_is_told(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        slack.command(P1, "/cba-book", str(slot_id))
        assert f"<@{P1}> has been told" in _ephemeral(slack.command(COACH, "/cba-book", "cancel 1"))
        assert any("the coach cancelled" in m.text for m in fake_slack.dms_to(P1))
        assert str(_calendar(fake_slack, P1)[-1]["method"]) == "CANCEL"

    def test_an_organiser_cancels_any_booking(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        slack.command(P1, "/cba-book", str(slot_id))
        assert "Cancelled booking #1" in _ephemeral(slack.command(ORGANISER, "/cba-book", "cancel 1"))

    @pytest.mark.parametrize("who", [P2, COACH2, OUTSIDER])
    def test_someone_elses_booking_cannot_be_cancelled(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int], who: str
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        slack.command(P1, "/cba-book", str(slot_id))
        before = database_snapshot(sessions)
        text = _ephemeral(slack.command(who, "/cba-book", "cancel 1"))
        if who == OUTSIDER:  # an alumnus: refused before the booking is even looked up
            assert "You need to be a participant or coach or organiser to cancel coaching bookings" in text
        else:
            assert "You need to be an organiser to cancel booking #1" in text
        assert database_snapshot(sessions) == before

    def test_cancelling_twice_and_unknown_bookings(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        slack.command(P1, "/cba-book", str(slot_id))
        slack.command(P1, "/cba-book", "cancel 1")
        assert "already cancelled" in _ephemeral(slack.command(P1, "/cba-book", "cancel 1"))
        assert "There is no booking #7" in _ephemeral(slack.command(P1, "/cba-book", "cancel 7"))
        # The Cancel button of a stale list says the same.
        slack.action(P1, "coaching_cancel_1", value="1")
        assert "already cancelled" in _answer(fake_slack)


# --- reminders, export, demo --------------------------------------------------------------------


class TestReminderRenderer:
    def _reminder(self, sessions: sessionmaker[Session], recipient: str) -> Reminder:
        with sessions() as session:
            return session.scalars(select(Reminder).where(Reminder.recipient == recipient)).first()  # type: ignore[return-value]

    def test_renders_for_both_sides_and_skips_once_cancelled_or_begun(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON, url="https://meet.example.com/r")
        slack.command(P1, "/cba-book", str(slot_id))
        render = build_registry().renderers.get("coaching")
        assert render is not None
        with sessions() as session:
            for recipient, other in ((P1, COACH), (COACH, P1)):
                reminder = session.scalars(
                    select(Reminder).where(Reminder.recipient == recipient, Reminder.kind == "coaching")
                ).first()
                assert reminder is not None
                out = render(session, reminder, SOON - timedelta(hours=1), ZONE)
                assert isinstance(out, Outgoing)
                assert f"<@{other}>" in out.text
                assert "booking #1" in out.text
                assert out.blocks
                assert render(session, reminder, SOON, ZONE) == Skip("session already began")
        slack.command(P1, "/cba-book", "cancel 1")
        with sessions() as session:
            reminder = session.scalars(select(Reminder).where(Reminder.kind == "coaching")).first()
            assert isinstance(render(session, reminder, SOON - timedelta(hours=1), ZONE), Skip)  # type: ignore[arg-type]


class TestExport:
    def test_bookings_csv_with_cohort_filter(
        self, slack: SlackDriver, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        slack.command(P1, "/cba-book", str(slot_id))
        export = build_registry().exporters.get("bookings")
        assert export is not None
        with sessions() as session:
            csv_text = to_csv(export(session, None))
            assert to_csv(export(session, "CBA3")) == csv_text
            other = to_csv(export(session, "NOPE"))
        header, row = csv_text.splitlines()
        assert header.startswith("booking_id,slot_id,cohort,participant")
        assert row.startswith(f"1,{slot_id},CBA3,Pia Participant 1,p1@example.org,Clara Coach")
        assert "2026-12-03T09:00:00Z" in row
        assert ",active," in row
        assert other.splitlines() == [header]


class TestDemo:
    def test_demo_has_slots_and_one_booking_idempotently(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        from bot.demo import load_demo

        for _ in range(2):
            with sessions.begin() as session:
                load_demo(session, clock.now, build_registry())
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(CoachingSlot)) == 10
            booking = session.scalars(select(CoachingBooking)).one()
            assert booking.slot.starts_at > clock.now
            assert session.scalar(select(func.count()).select_from(Reminder).where(Reminder.kind == "coaching")) == 4


# --- durable notices: through the outbox, whatever Slack does -----------------------------------


def _withdrawal_notices(fake: FakeSlack, user: str) -> list[str]:
    return [m.text for m in fake.dms_to(user) if "the coach withdrew the slot" in m.text]


def _cancel_files(fake: FakeSlack, user: str) -> list[icalendar.Calendar]:
    return [c for c in _calendar(fake, user) if str(c["method"]) == "CANCEL"]


WRITES = (
    "chat.postMessage",
    "conversations.open",
    "files.getUploadURLExternal",
    "file_upload",
    "files.completeUploadExternal",
)


def _slack_down(fake: FakeSlack) -> None:
    """Every call that would tell someone something answers 503."""
    for method in WRITES:
        fake.fail(method, "service_unavailable", status=503)


DELIVERY_BOUND = 120  # seconds for 80 DMs when every post takes 3 s (4 senders, each conversation paced)


class TestNoticesThroughTheOutbox:
    def test_a_withdrawal_while_slack_is_down_reaches_the_participant_once_after_a_restart(
        self,
        bot: Bot,
        slack: SlackDriver,
        settings: Settings,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        people: dict[str, int],
        clock: Clock,
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        assert "Booked!" in _ephemeral(slack.command(P1, "/cba-book", str(slot_id)))
        _slack_down(fake_slack)
        text = _ephemeral(slack.command(COACH, "/cba-slots", f"remove {slot_id}"))
        # The answer comes from the database alone, at once; the notice waits in the outbox.
        assert f"Withdrew slot #{slot_id}. Its booking #1 is cancelled and <@{P1}> has been told." in text
        with sessions() as session:
            assert session.get(CoachingSlot, slot_id).removed_at is not None  # type: ignore[union-attr]
            waiting = session.scalars(
                select(Reminder).where(Reminder.subject_type == "booking-notice", Reminder.status != "sent")
            ).all()
        assert sorted((r.recipient, r.method) for r in waiting) == sorted(
            (user, method) for user in (P1, COACH) for method in ("chat.postMessage", "files.upload")
        )
        # Each side's first notice was tried and failed; the file behind it waits its turn (order per recipient).
        assert {r.status for r in waiting} == {"pending"}
        assert {r.last_error for r in waiting} <= {"slack service_unavailable", None}
        assert {r.recipient for r in waiting if r.last_error} == {P1, COACH}
        assert _withdrawal_notices(fake_slack, P1) == []
        assert _cancel_files(fake_slack, P1) == []

        # The bot process goes away; a new one starts on the same database, and Slack comes back.
        assert bot.deps.courier is not None
        bot.deps.courier.stop()
        restarted = build(
            settings,
            client=WebClient(token=settings.slack_bot_token, base_url=fake_slack.url),
            sessions=sessions,
            clock=clock,
            registry=build_registry(),
        )
        try:
            fake_slack.clear_faults()
            tick(restarted.deps)  # still inside the retry back-off: nothing is sent early
            assert _withdrawal_notices(fake_slack, P1) == []
            clock.advance(timedelta(seconds=31))
            tick(restarted.deps)
            tick(restarted.deps)  # and a second tick sends nothing twice
        finally:
            if restarted.deps.courier is not None:
                restarted.deps.courier.stop()
        [notice] = _withdrawal_notices(fake_slack, P1)
        assert "booking #1" in notice
        assert f"slot #{slot_id}" in notice
        [cancel] = _cancel_files(fake_slack, P1)
        assert str(_event(cancel)["status"]) == "CANCELLED"
        assert len(_cancel_files(fake_slack, COACH)) == 1
        with sessions() as session:
            statuses = set(session.scalars(select(Reminder.status).where(Reminder.subject_type == "booking-notice")))
        assert statuses == {"sent"}

    def test_a_confirmation_not_yet_delivered_is_dropped_when_the_booking_is_cancelled(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        slot_id = _slot(sessions, COACH, SOON)
        _slack_down(fake_slack)
        assert "Booked!" in _ephemeral(slack.command(P1, "/cba-book", str(slot_id)))
        assert "Cancelled booking #1" in _ephemeral(slack.command(P1, "/cba-book", "cancel 1"))
        with sessions() as session:
            rows = session.scalars(select(Reminder).where(Reminder.subject_type == "booking-notice")).all()
        # "Booked" must never arrive after "cancelled": the undelivered confirmation is cancelled,
        # the cancellation notice (DM + CANCEL file to each side) waits for Slack.
        assert sorted((r.status, r.method, r.recipient) for r in rows) == sorted(
            [("cancelled", m, u) for m in ("chat.postMessage", "files.upload") for u in (P1, COACH)]
            + [("pending", m, u) for m in ("chat.postMessage", "files.upload") for u in (P1, COACH)]
        )

    @pytest.mark.slow
    def test_forty_bookings_against_a_slow_slack_are_acknowledged_in_time_and_each_confirmed_once(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict[str, int]
    ) -> None:
        booked, answers = _rush(slack, fake_slack, sessions)
        slowest = max(elapsed for elapsed, _ in answers.values())
        assert slowest < 3.0, f"the slowest acknowledgement took {slowest:.2f} s"
        for user, (_, answer) in answers.items():
            assert f"Booked! booking #{booked[user]} — slot #" in _ephemeral(answer)
        with sessions() as session:  # every confirmation was queued with its booking
            queued = Counter(
                (r.subject_id, r.recipient, r.method)
                for r in session.scalars(select(Reminder).where(Reminder.subject_type == "booking-notice"))
            )
        assert set(queued.values()) == {1}
        assert {booking for booking, _, _ in queued} == set(booked.values())
        assert len(queued) == 2 * 2 * RUSH  # a DM and a file, to each participant and to their coach

        fake_slack.delay(None, 0)
        fake_slack.delay("chat.postMessage", 3.0)  # every message still takes 3 s; the files go at full speed
        try:
            # Eighty DMs to eighty conversations go out side by side (the engine's senders own whole
            # conversations), each conversation in order and paced: not one after another for minutes.
            expected = 2 * RUSH
            deadline = time.monotonic() + DELIVERY_BOUND
            dms = 0
            while time.monotonic() < deadline:
                dms = sum(1 for m in fake_slack.messages if "booking #" in m.text and not m.files)
                if dms >= expected:
                    break
                time.sleep(0.5)
            assert dms == expected, f"after {DELIVERY_BOUND} s, {dms} of {expected} confirmation DMs had arrived"
        finally:
            fake_slack.delay(None, 0)
            slack.settle(timeout=120)
        _assert_confirmed_once(fake_slack, booked)  # each participant and each coach, once
        assert len(fake_slack.files) == expected


RUSH = 40
RUSH_COACHES = 8  # the programme's coaches, each told of their own bookings


def _rush(
    slack: SlackDriver, fake: FakeSlack, sessions: sessionmaker[Session]
) -> tuple[dict[str, int], dict[str, tuple[float, Dispatched]]]:
    """RUSH participants each book a different slot at the same moment, against a Slack that answers
    every call in 3 s. Returns {user: booking id} and {user: (seconds to the acknowledgement, answer)}."""
    coaches = [f"U0RUSHC{index}" for index in range(RUSH_COACHES)]
    with sessions.begin() as session:
        cohort = make_cohort(session)
        for index in range(RUSH):
            make_member(session, f"U0RUSH{index:03d}", f"Rusher {index:03d}", "participant", cohort=cohort)
            fake.add_user(f"U0RUSH{index:03d}", f"Rusher {index:03d}")
        for coach in coaches:
            make_member(session, coach, f"Coach {coach}", "coach")
            fake.add_user(coach, f"Coach {coach}")
    users = [f"U0RUSH{index:03d}" for index in range(RUSH)]
    slots = [_slot(sessions, coaches[i % RUSH_COACHES], SOON + timedelta(hours=i)) for i in range(RUSH)]
    # A bot that has served a request before (Bolt checks its token with auth.test on the first one).
    assert "Usage of `/cba-book`" in _ephemeral(slack.command(users[0], "/cba-book", "help"))
    fake.delay(None, 3.0)  # from now on every Slack call takes 3 s to answer
    start = threading.Barrier(RUSH)
    answers: dict[str, tuple[float, Dispatched]] = {}

    def book(user: str, slot_id: int) -> None:
        fields = payloads.slash_command(
            user, "/cba-book", str(slot_id), response_url=fake.new_response_url(), trigger_id=fake.new_trigger_id()
        )
        body = payloads.form_body(fields)
        start.wait()
        began = time.monotonic()
        answer = slack.dispatch(body, payloads.FORM, wait=False)
        answers[user] = (time.monotonic() - began, answer)

    threads = [threading.Thread(target=book, args=pair) for pair in zip(users, slots, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == users
    with sessions() as session:
        booked = {b.participant.slack_id or "": b.id for b in session.scalars(select(CoachingBooking))}
    assert sorted(booked) == users
    return booked, answers


def _assert_confirmed_once(fake: FakeSlack, booked: dict[str, int]) -> None:
    for user, booking_id in booked.items():
        confirmations = [m for m in fake.dms_to(user) if f"booking #{booking_id}" in m.text and not m.files]
        assert len(confirmations) == 1, user
        assert len(_calendar(fake, user)) == 1, user
    for coach in (f"U0RUSHC{index}" for index in range(RUSH_COACHES)):
        assert len([m for m in fake.dms_to(coach) if "booked your coaching slot" in m.text]) == RUSH // RUSH_COACHES
        assert len(_calendar(fake, coach)) == RUSH // RUSH_COACHES
