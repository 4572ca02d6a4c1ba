"""Programme days through Slack: organiser commands, reminders via the scheduler tick, RSVP and check-in."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot
from bot.console.driver import SlackDriver
from bot.console.fakeslack import Call, FakeSlack
from bot.features import build_registry
from bot.kernel.zones import refresh_zones
from bot.scheduler import tick
from commands.common.actors import get_or_create_member
from commands.common.csv_text import to_csv
from storage.models import CheckIn, Cohort, Event, Reminder, Rsvp
from tests.conftest import ORGANISER, Clock
from tests.factories import database_snapshot, make_cohort, make_member
from tests.factories_events import make_cohort_with_participants, make_event

CHANNEL = "C0COHORT3"


def _admin(slack: SlackDriver, text: str, user: str = ORGANISER) -> str:
    answer = slack.command(user, "/cba-admin", text)
    assert answer.status == 200
    assert answer.json.get("response_type", "ephemeral") == "ephemeral"
    return answer.text


@pytest.fixture
def cohort(sessions: sessionmaker[Session], fake_slack: FakeSlack) -> Cohort:
    with sessions.begin() as session:
        found, _ = make_cohort_with_participants(session, fake_slack, 3)
    return found


def _reminder_posts(fake: FakeSlack) -> list[Call]:
    """The reminders posted (not the announcements and other news about the days)."""
    return [
        c for c in fake.calls_to("chat.postMessage") if str(c.args.get("text", "")).startswith(":calendar: Reminder")
    ]


REMINDERS = Reminder.kind == "event"
HOMES = Reminder.kind == "home"  # App Home refreshes (tested in tests/scenario/test_home.py)


def _event_id(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalars(select(Event.id).order_by(Event.id.desc())).first() or 0


class TestOrganiserCommands:
    def test_cohort_add_creates_then_renames(self, slack: SlackDriver, sessions: sessionmaker[Session]) -> None:
        assert "Cohort CBA9 added" in _admin(slack, "cohort add cba9 Cluster Booster <Academy> 9")
        assert "Cohort CBA9 renamed" in _admin(slack, "cohort add CBA9 Cluster Booster Academy 9")
        with sessions() as session:
            assert [(c.code, c.name) for c in session.scalars(select(Cohort))] == [
                ("CBA9", "Cluster Booster Academy 9")
            ]

    def test_cohort_channel(self, slack: SlackDriver, sessions: sessionmaker[Session], cohort: Cohort) -> None:
        assert "now uses <#C0NEWCHAN>" in _admin(slack, "cohort channel CBA3 <#C0NEWCHAN|cba3>")
        with sessions() as session:
            assert session.get(Cohort, cohort.id).channel_id == "C0NEWCHAN"  # type: ignore[union-attr]

    def test_event_add_reads_the_organisers_zone_and_plans_reminders(
        self, slack: SlackDriver, sessions: sessionmaker[Session], cohort: Cohort, fake_slack: FakeSlack
    ) -> None:
        fake_slack.add_user(ORGANISER, "Olga", tz="Europe/Rome")
        with sessions.begin() as session:
            get_or_create_member(session, ORGANISER)
        refresh_zones(slack.deps)  # the scheduler's tick learns zones from Slack, never a request
        reply = _admin(slack, "event add CBA3 in-person 2026-12-10 09:30-17:00 Peer <learning> | Torino, MESAP")
        assert re.search(r"Added \*Peer &lt;learning&gt;\* \(event #\d+, in person\)", reply)
        assert "<!date^" in reply
        assert "Where: Torino, MESAP" in reply
        with sessions() as session:
            event = session.scalars(select(Event)).one()
            assert event.starts_at == datetime(2026, 12, 10, 8, 30, tzinfo=UTC)
            assert event.tz == "Europe/Rome"
            due = Counter((r.recipient, r.due_at) for r in session.scalars(select(Reminder).where(REMINDERS)))
        recipients = {CHANNEL, "U0CBA3P000", "U0CBA3P001", "U0CBA3P002"}
        expected = {
            (r, event.starts_at - d)
            for r in recipients
            for d in (timedelta(days=7), timedelta(days=1), timedelta(hours=1))
        }
        assert set(due) == expected
        assert set(due.values()) == {1}

    def test_event_add_accepts_a_slack_escaped_link(
        self, slack: SlackDriver, sessions: sessionmaker[Session], cohort: Cohort
    ) -> None:
        _admin(slack, "event add CBA3 online 2026-12-10 09:00-12:00 Kick-off | <https://meet.example.com/k|meet>")
        with sessions() as session:
            assert session.scalars(select(Event.location)).one() == "https://meet.example.com/k"

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("event", "Use `event add`"),
            ("event frob 1", "Use `event add`"),
            ("event add", "Give the cohort"),
            ("event add CBA3 online 2026-12-10 09:00-12:00", "Give the cohort"),
            ("event add CBA3 hybrid 2026-12-10 09:00-12:00 T", "neither online nor in-person"),
            ("event add CBA3 online 2026-13-10 09:00-12:00 T", "not a real date"),
            ("event add CBA3 online 10/12/2026 09:00-12:00 T", "YYYY-MM-DD"),
            ("event add CBA3 online 2026-12-10 0900-1200 T", "not a time span"),
            ("event add CBA3 online 2026-12-10 12:00-09:00 T", "must end after it starts"),
            ("event add CBA3 online 2026-12-10 09:00-25:00 T", "HH:MM"),
            ("event add NOPE online 2026-12-10 09:00-12:00 T", "no cohort NOPE"),
            ("event add CBA3 online 2026-11-24 09:00-12:00 T", "in the past"),
            ("event add CBA3 online 2027-03-28 02:30-04:00 T", "does not exist in Europe/Brussels"),
            ("event add CBA3 online 2027-10-31 02:30-04:00 T", "happens twice in Europe/Brussels"),
            ("event add CBA3 online 2026-12-10 09:00-12:00 T |", "Nothing follows"),
            ("event add CBA3 online 2026-12-10 09:00-12:00 T | <https://x|", "not a web link"),
            ("event remove", "Give one event ID"),
            ("event remove abc", "not an event ID"),
            ("event remove 1 2", "Give one event ID"),
            ("event remove 999", "no event #999"),
            ("event move 1", "Give the event ID"),
            ("event move x 2026-12-11 09:00-10:00", "not an event ID"),
            ("event move 999 2026-12-11 09:00-10:00", "no event #999"),
            ("event move 1 2026-11-20 09:00-10:00", "in the past"),
            ("events CBA3 CBA2", "at most one cohort"),
            ("events NOPE", "no cohort NOPE"),
            ("events !!", "not a cohort code"),
            ("checkin", "Give one event ID"),
            ("checkin 999", "no event #999"),
            ("cohort", "Use `cohort add`"),
            ("cohort add", "code and its name"),
            ("cohort add CBA3", "code and its name"),
            ("cohort add C@3 Name", "not a cohort code"),
            ("cohort channel CBA3", "code and its channel"),
            ("cohort channel CBA3 general", "not a channel"),
            ("cohort channel NOPE <#C0X|x>", "no cohort NOPE"),
        ],
    )
    def test_bad_input_answers_usage_and_changes_nothing(
        self,
        slack: SlackDriver,
        sessions: sessionmaker[Session],
        cohort: Cohort,
        clock: Clock,
        text: str,
        expected: str,
    ) -> None:
        _admin(slack, "event add CBA3 online 2026-12-10 09:00-12:00 Existing day")
        before = database_snapshot(sessions)
        reply = _admin(slack, text.replace(" 1 ", f" {_event_id(sessions)} ") if text.endswith("10:00") else text)
        assert expected in reply
        assert "/cba-admin" in reply  # the usage comes with it
        assert database_snapshot(sessions) == before

    def test_only_organisers(self, slack: SlackDriver, sessions: sessionmaker[Session], cohort: Cohort) -> None:
        before = database_snapshot(sessions)
        reply = _admin(slack, "event add CBA3 online 2026-12-10 09:00-12:00 T", user="U0CBA3P000")
        assert "You need to be an organiser" in reply
        assert database_snapshot(sessions) == before

    def test_move_moves_pending_reminders_and_remove_cancels_them(
        self,
        bot: Bot,
        slack: SlackDriver,
        sessions: sessionmaker[Session],
        cohort: Cohort,
        clock: Clock,
        fake_slack: FakeSlack,
    ) -> None:
        _admin(slack, "event add CBA3 online 2026-12-10 09:00-12:00 Day one")
        event_id = _event_id(sessions)
        assert "Its reminders moved too" in _admin(slack, f"event move {event_id} 2026-12-12 14:00-17:00")
        new_start = datetime(2026, 12, 12, 13, 0, tzinfo=UTC)
        with sessions() as session:
            assert {r.due_at for r in session.scalars(select(Reminder).where(REMINDERS))} == {
                new_start - timedelta(days=7),
                new_start - timedelta(days=1),
                new_start - timedelta(hours=1),
            }
        clock.set(datetime(2026, 12, 3, 8, 0, tzinfo=UTC))  # the old 7-day reminder time
        tick(bot.deps)
        assert _reminder_posts(fake_slack) == []
        clock.set(new_start - timedelta(days=7))
        tick(bot.deps)
        assert len(_reminder_posts(fake_slack)) == 4
        assert "8 pending reminders cancelled" in _admin(slack, f"event remove {event_id}")
        clock.set(new_start)
        tick(bot.deps)
        assert len(_reminder_posts(fake_slack)) == 4
        with sessions() as session:
            assert Counter(session.scalars(select(Reminder.status).where(REMINDERS))) == Counter(
                {"sent": 4, "cancelled": 8}
            )
        assert "No programme days" in _admin(slack, "events CBA3")


# --- news about the days: announcement, move, removal, through the outbox ------------------------------


def _buttons_of(message: Any) -> list[tuple[str, str, str]]:
    return [
        (e["text"]["text"], e["action_id"], e["value"])
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
    ]


class TestNews:
    def test_adding_a_day_announces_it_in_the_cohort_channel_with_rsvp_buttons(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, cohort: Cohort
    ) -> None:
        reply = _admin(slack, "event add CBA3 online 2026-12-10 09:00-12:00 Kick-off | https://meet.example.com/k")
        event_id = _event_id(sessions)
        assert f"Added *Kick-off* (event #{event_id}, online)" in reply
        assert f"Announced with RSVP buttons in <#{CHANNEL}>." in reply
        [post] = fake_slack.messages_in(CHANNEL)
        assert f"New programme day: *Kick-off* (event #{event_id}, online)" in post.text
        assert "<!date^" in post.text
        assert _buttons_of(post) == [
            ("I'll attend", "event_rsvp_yes", str(event_id)),
            ("I can't attend", "event_rsvp_no", str(event_id)),
        ]
        with sessions() as session:
            [row] = session.scalars(select(Reminder).where(Reminder.kind != "event", ~HOMES)).all()
            homes = sorted(r.recipient for r in session.scalars(select(Reminder).where(HOMES)))
        assert homes == ["U0CBA3P000", "U0CBA3P001", "U0CBA3P002"]  # the cohort's Home tabs list the day
        assert (row.recipient, row.subject_type, row.subject_id, row.status) == (
            CHANNEL,
            "event-notice",
            event_id,
            "sent",
        )
        assert row.slack_ts == post.ts
        # The buttons of the announcement answer for the day.
        slack.action("U0CBA3P000", "event_rsvp_yes", value=str(event_id), channel_id=CHANNEL)
        assert "You're attending" in str(fake_slack.calls_to("response_url")[-1].args.get("text"))

    def test_a_cohort_without_a_channel_is_told_nothing_and_the_organiser_is_told_why(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack
    ) -> None:
        with sessions.begin() as session:
            make_cohort_with_participants(session, fake_slack, 2, code="CBA8", channel=None)
        reply = _admin(slack, "event add CBA8 online 2026-12-10 09:00-12:00 Quiet day")
        assert "Added *Quiet day*" in reply
        assert "Cohort CBA8 has no channel yet, so nothing was posted" in reply
        assert "`/cba-admin cohort channel CBA8 #channel`" in reply
        assert fake_slack.calls_to("chat.postMessage") == []

    def test_moving_and_removing_a_day_posts_in_the_channel_and_dms_those_attending(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, cohort: Cohort
    ) -> None:
        _admin(slack, "event add CBA3 in-person 2026-12-10 09:00-17:00 Torino | MESAP")
        event_id = _event_id(sessions)
        coming, not_coming, silent = "U0CBA3P000", "U0CBA3P001", "U0CBA3P002"
        _click(slack, fake_slack, coming, "event_rsvp_yes", event_id)
        _decline(slack, fake_slack, not_coming, event_id, "Holiday")
        assert fake_slack.dms_to(coming) == []

        reply = _admin(slack, f"event move {event_id} 2026-12-11 10:00-18:00")
        assert f"Moved *Torino* (event #{event_id}, in person)" in reply
        assert f"Posted in <#{CHANNEL}>. 1 attendee told by DM." in reply
        moved = fake_slack.messages_in(CHANNEL)[-1]
        assert f"Programme day moved: *Torino* (event #{event_id}" in moved.text
        assert "(was <!date^" in moved.text
        assert str(int(datetime(2026, 12, 11, 9, 0, tzinfo=UTC).timestamp())) in moved.text
        assert [b[1] for b in _buttons_of(moved)] == ["event_rsvp_yes", "event_rsvp_no"]
        [dm] = fake_slack.dms_to(coming)
        assert f"you said you'd attend has moved: *Torino* (event #{event_id}" in dm.text
        assert [m.text for m in fake_slack.dms_to(not_coming) if "moved" in m.text] == []
        assert fake_slack.dms_to(silent) == []

        reply = _admin(slack, f"event remove {event_id}")
        assert f"Removed event #{event_id} *Torino*" in reply
        assert f"Posted in <#{CHANNEL}>. 1 attendee told by DM." in reply
        removed = fake_slack.messages_in(CHANNEL)[-1]
        assert f"Programme day cancelled: *Torino* (event #{event_id})" in removed.text
        assert "no longer takes place" in removed.text
        assert len(fake_slack.messages_in(CHANNEL)) == 3  # announced, moved, removed: each once
        assert "is cancelled: *Torino*" in fake_slack.dms_to(coming)[-1].text
        assert len(fake_slack.dms_to(coming)) == 2
        assert [m.text for m in fake_slack.dms_to(not_coming) if "cancelled" in m.text] == []

    def test_news_written_while_slack_is_down_goes_out_once_when_it_is_back(
        self,
        bot: Bot,
        slack: SlackDriver,
        sessions: sessionmaker[Session],
        fake_slack: FakeSlack,
        clock: Clock,
        cohort: Cohort,
    ) -> None:
        fake_slack.fail("chat.postMessage", "service_unavailable", status=503)
        reply = _admin(slack, "event add CBA3 online 2026-12-10 09:00-12:00 Kick-off")
        assert f"Announced with RSVP buttons in <#{CHANNEL}>" in reply  # true once delivered: the outbox holds it
        event_id = _event_id(sessions)
        assert fake_slack.messages_in(CHANNEL) == []
        with sessions() as session:
            [row] = session.scalars(select(Reminder).where(Reminder.subject_type == "event-notice")).all()
        assert (row.status, row.last_error) == ("pending", "slack service_unavailable")
        fake_slack.clear_faults()
        clock.advance(timedelta(seconds=31))
        tick(bot.deps)
        tick(bot.deps)
        [post] = fake_slack.messages_in(CHANNEL)
        assert f"(event #{event_id}" in post.text

    def test_removing_a_day_drops_its_news_not_yet_delivered(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, cohort: Cohort
    ) -> None:
        fake_slack.fail("chat.postMessage", "service_unavailable", status=503)
        _admin(slack, "event add CBA3 online 2026-12-10 09:00-12:00 Kick-off")
        _admin(slack, f"event remove {_event_id(sessions)}")
        with sessions() as session:
            rows = session.scalars(
                select(Reminder).where(Reminder.subject_type == "event-notice").order_by(Reminder.id)
            ).all()
            news = [(r.status, str((r.payload or {}).get("text", "")).split(":")[2].strip()) for r in rows]
        assert news == [("cancelled", "New programme day"), ("pending", "Programme day cancelled")]


# --- reminders through the scheduler tick -------------------------------------------------------------


class TestEventReminders:
    def test_a_40_participant_cohort_gets_every_reminder_exactly_once(
        self, bot: Bot, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock
    ) -> None:
        with sessions.begin() as session:
            make_cohort_with_participants(session, fake_slack, 40)
        for text in (
            "event add CBA3 online 2026-12-10 09:00-12:30 Online one",
            "event add CBA3 online 2026-12-11 09:00-12:30 Online two",
            "event add CBA3 in-person 2027-01-20 09:30-17:00 Torino one | MESAP, Torino",
            "event add CBA3 in-person 2027-01-21 09:00-15:00 Torino two | MESAP, Torino",
        ):
            assert "Added" in _admin(slack, text)
        with sessions() as session:
            dues = sorted(set(session.scalars(select(Reminder.due_at).where(REMINDERS))))
            assert session.scalar(select(func.count()).select_from(Reminder).where(REMINDERS)) == 41 * 12
        for due in dues:
            clock.set(due - timedelta(seconds=1))
            tick(bot.deps)
            clock.set(due + timedelta(seconds=20))
            tick(bot.deps)
            tick(bot.deps)
        clock.advance(timedelta(days=60))
        tick(bot.deps)
        posts = _reminder_posts(fake_slack)
        per_recipient_event = Counter(
            (call.args["channel"], re.search(r"event #(\d+)", call.args["text"]).group(1))  # type: ignore[union-attr]
            for call in posts
        )
        assert len(per_recipient_event) == 41 * 4
        assert set(per_recipient_event.values()) == {3}
        with sessions() as session:
            assert set(session.scalars(select(Reminder.status))) == {"sent"}
        first = fake_slack.dms_to("U0CBA3P007")[0]
        assert "<!date^" in first.text
        assert [e["text"]["text"] for e in first.blocks[1]["elements"]] == ["I'll attend", "I can't attend"]

    def test_bot_down_past_the_start_skips_and_logs(
        self,
        bot: Bot,
        sessions: sessionmaker[Session],
        fake_slack: FakeSlack,
        clock: Clock,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        with sessions.begin() as session:
            cohort, _ = make_cohort_with_participants(session, fake_slack, 2)
            soon = make_event(session, cohort, clock.now + timedelta(hours=2), now=clock.now, title="Soon")
            later = make_event(session, cohort, clock.now + timedelta(days=2), now=clock.now, title="Later")
        caplog.set_level(logging.INFO)
        clock.advance(timedelta(hours=3))  # down across "Soon"'s 1h reminder and its start
        tick(bot.deps)
        with sessions() as session:
            statuses = Counter((r.subject_id, r.status, r.last_error) for r in session.scalars(select(Reminder)))
        assert statuses == Counter({(soon.id, "skipped", "event already began"): 3, (later.id, "pending", None): 6})
        assert "skipped: event already began" in caplog.text
        assert fake_slack.calls_to("chat.postMessage") == []
        clock.set(later.starts_at - timedelta(days=1))
        tick(bot.deps)
        assert len(fake_slack.calls_to("chat.postMessage")) == 3

    def test_one_inactive_account_is_recorded_and_the_others_are_served(
        self, bot: Bot, sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock
    ) -> None:
        with sessions.begin() as session:
            cohort, people = make_cohort_with_participants(session, fake_slack, 5)
            event = make_event(session, cohort, clock.now + timedelta(hours=2), now=clock.now)
        fake_slack.add_user(people[2].slack_id or "", "Left", deleted=True)
        clock.set(event.starts_at - timedelta(hours=1))
        tick(bot.deps)
        with sessions() as session:
            rows = {r.recipient: r for r in session.scalars(select(Reminder))}
        assert (rows[people[2].slack_id].status, rows[people[2].slack_id].last_error) == ("failed", "account_inactive")
        assert {r.status for k, r in rows.items() if k != people[2].slack_id} == {"sent"}

    @pytest.mark.parametrize(
        ("today", "day", "start_utc"),
        [
            (datetime(2026, 3, 1, tzinfo=UTC), "2026-03-29", datetime(2026, 3, 29, 8, 0, tzinfo=UTC)),
            (datetime(2026, 10, 1, tzinfo=UTC), "2026-10-25", datetime(2026, 10, 25, 9, 0, tzinfo=UTC)),
        ],
        ids=["spring-forward", "fall-back"],
    )
    def test_a_day_across_the_dst_change_is_reminded_at_the_right_instant(
        self,
        bot: Bot,
        slack: SlackDriver,
        sessions: sessionmaker[Session],
        fake_slack: FakeSlack,
        clock: Clock,
        cohort: Cohort,
        today: datetime,
        day: str,
        start_utc: datetime,
    ) -> None:
        clock.set(today)
        _admin(slack, f"event add CBA3 online {day} 10:00-12:00 DST day")
        with sessions() as session:
            assert session.scalars(select(Event.starts_at)).one() == start_utc
            dues = set(session.scalars(select(Reminder.due_at).where(REMINDERS)))
        expected = [start_utc - timedelta(days=7), start_utc - timedelta(days=1), start_utc - timedelta(hours=1)]
        assert dues == set(expected)  # real elapsed time: 24 h before is 24 h, whatever the wall clock does
        for index, due in enumerate(expected, start=1):
            clock.set(due - timedelta(seconds=1))
            tick(bot.deps)
            assert len(_reminder_posts(fake_slack)) == 4 * (index - 1)
            clock.set(due)
            tick(bot.deps)
            assert len(_reminder_posts(fake_slack)) == 4 * index


# --- RSVP and check-in ---------------------------------------------------------------------------------


def _click(slack: SlackDriver, fake: FakeSlack, user: str, action: str, event_id: int) -> str:
    slack.action(user, action, value=str(event_id), channel_id=fake.dm_channel(user))
    answers = fake.calls_to("response_url")
    return str(answers[-1].args.get("text", "")) if answers else ""


def _decline(slack: SlackDriver, fake: FakeSlack, user: str, event_id: int, reason: str) -> Any:
    _click(slack, fake, user, "event_rsvp_no", event_id)
    view = fake.calls_to("views.open")[-1].args["view"]
    return slack.submit(user, view, {"reason": {"reason": {"type": "plain_text_input", "value": reason}}})


class TestRsvp:
    def test_attend_double_click_records_one_answer(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock, cohort: Cohort
    ) -> None:
        with sessions.begin() as session:
            event = make_event(session, cohort, clock.now + timedelta(days=5), now=clock.now)
        assert "You're attending" in _click(slack, fake_slack, "U0CBA3P000", "event_rsvp_yes", event.id)
        assert "already said" in _click(slack, fake_slack, "U0CBA3P000", "event_rsvp_yes", event.id)
        with sessions() as session:
            assert [(r.answer, r.late_cancellation) for r in session.scalars(select(Rsvp))] == [("yes", False)]

    def test_late_in_person_decline_is_flagged_and_shown_to_organisers(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock, cohort: Cohort
    ) -> None:
        with sessions.begin() as session:
            soon = make_event(
                session, cohort, clock.now + timedelta(days=13), kind="in-person", title="Torino", now=clock.now
            )
            far = make_event(
                session, cohort, clock.now + timedelta(days=15), kind="in-person", title="Far", now=clock.now
            )
            online = make_event(session, cohort, clock.now + timedelta(days=2), title="Online", now=clock.now)
        user = "U0CBA3P001"
        _click(slack, fake_slack, user, "event_rsvp_yes", soon.id)
        assert _decline(slack, fake_slack, user, soon.id, "Flight <cancelled>").status == 200
        dm = fake_slack.dms_to(user)[-1].text
        assert "late cancellation" in dm
        with sessions() as session:  # the answer to the form went through the outbox, delivered
            [told] = session.scalars(select(Reminder).where(Reminder.recipient == user, ~REMINDERS, ~HOMES)).all()
            assert (told.method, told.status) == ("chat.postMessage", "sent")
            assert "late cancellation" in str((told.payload or {}).get("text"))
        assert _decline(slack, fake_slack, user, soon.id, "Flight <cancelled>").status == 200  # double submit
        assert "Already noted" in fake_slack.dms_to(user)[-1].text
        _decline(slack, fake_slack, user, far.id, "Holiday")
        _decline(slack, fake_slack, user, online.id, "Clash")
        with sessions() as session:
            rsvps = {r.event_id: r for r in session.scalars(select(Rsvp))}
        assert len(rsvps) == 3
        assert (rsvps[soon.id].answer, rsvps[soon.id].late_cancellation, rsvps[soon.id].reason) == (
            "no",
            True,
            "Flight <cancelled>",
        )
        assert rsvps[far.id].late_cancellation is False
        assert rsvps[online.id].late_cancellation is False
        listing = _admin(slack, "events CBA3")
        assert "Late cancellations (1): Participant 001" in listing
        with sessions() as session:
            exported = list(
                csv.reader(io.StringIO(to_csv(build_registry().exporters.get("attendance")(session, "CBA3"))))
            )  # type: ignore[misc]
        header, rows = exported[0], exported[1:]
        assert header[:2] == ["event_id", "cohort"]
        assert len(rows) == 3 * 3  # 3 participants x 3 days
        row = next(r for r in rows if r[0] == str(soon.id) and r[6] == user)
        assert (row[8], row[9], row[11]) == ("no", "yes", "no")

    def test_a_decline_from_the_cohort_channel_is_answered_there_ephemerally(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock, cohort: Cohort
    ) -> None:
        with sessions.begin() as session:
            event = make_event(session, cohort, clock.now + timedelta(days=5), now=clock.now)
        user = "U0CBA3P002"
        slack.action(user, "event_rsvp_no", value=str(event.id), channel_id=CHANNEL)
        view = fake_slack.calls_to("views.open")[-1].args["view"]
        answer = slack.submit(user, view, {"reason": {"reason": {"type": "plain_text_input", "value": "Ill"}}})
        assert answer.status == 200
        [ephemeral] = fake_slack.calls_to("chat.postEphemeral")
        assert (ephemeral.args["channel"], ephemeral.args["user"]) == (CHANNEL, user)
        assert f"you can't attend *Training day* (event #{event.id}" in ephemeral.args["text"]
        assert fake_slack.dms_to(user) == []
        with sessions() as session:
            [told] = session.scalars(select(Reminder).where(Reminder.recipient == user, ~REMINDERS, ~HOMES)).all()
            assert (told.method, told.status) == ("chat.postEphemeral", "sent")

    def test_decline_form_needs_a_reason_and_others_may_not_answer(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock, cohort: Cohort
    ) -> None:
        with sessions.begin() as session:
            event = make_event(session, cohort, clock.now + timedelta(days=5), now=clock.now)
            make_member(session, "U0OUTSIDER", "Outsider", "alumni")
        fake_slack.add_user("U0OUTSIDER", "Outsider")
        answer = _decline(slack, fake_slack, "U0CBA3P002", event.id, "   ")
        assert answer.json["response_action"] == "errors"
        assert "reason" in answer.json["errors"]
        assert "You need to be a participant" in _click(slack, fake_slack, "U0OUTSIDER", "event_rsvp_yes", event.id)
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Rsvp)) == 0

    def test_answers_close_when_the_day_begins(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock, cohort: Cohort
    ) -> None:
        with sessions.begin() as session:
            event = make_event(session, cohort, clock.now + timedelta(hours=1), now=clock.now)
        clock.advance(timedelta(hours=1))
        assert "already begun" in _click(slack, fake_slack, "U0CBA3P000", "event_rsvp_yes", event.id)


class TestCheckIn:
    def test_checkin_window_and_once_per_member(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock, cohort: Cohort
    ) -> None:
        with sessions.begin() as session:
            event = make_event(session, cohort, clock.now + timedelta(hours=2), hours=3, now=clock.now)
        assert "Posting a check-in button" in _admin(slack, f"checkin {event.id}")
        posted = fake_slack.wait_for("chat.postMessage")[-1]
        assert posted.args["channel"] == CHANNEL
        user = "U0CBA3P000"
        clock.set(event.starts_at - timedelta(minutes=31))
        assert "opens 30 minutes before" in _click(slack, fake_slack, user, "event_checkin", event.id)
        clock.set(event.starts_at - timedelta(minutes=30))
        assert "You're checked in" in _click(slack, fake_slack, user, "event_checkin", event.id)
        assert "already checked in" in _click(slack, fake_slack, user, "event_checkin", event.id)
        clock.set(event.ends_at + timedelta(seconds=1))
        assert "check-in is closed" in _click(slack, fake_slack, "U0CBA3P001", "event_checkin", event.id)
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(CheckIn)) == 1
        assert "is over" in _admin(slack, f"checkin {event.id}")

    def test_checkin_needs_a_cohort_channel(
        self, slack: SlackDriver, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        with sessions.begin() as session:
            bare = make_cohort(session, "CBA7", "Seven", None)
            event = make_event(session, bare, clock.now + timedelta(hours=2), now=clock.now)
        assert "has no channel yet" in _admin(slack, f"checkin {event.id}")


def test_demo_step_places_four_days_with_reminders(sessions: sessionmaker[Session], clock: Clock) -> None:
    from bot.demo import load_demo

    for _ in range(2):  # idempotent
        with sessions.begin() as session:
            load_demo(session, clock.now, build_registry())
    with sessions() as session:
        events = list(session.scalars(select(Event).order_by(Event.starts_at)))
        assert [e.kind for e in events] == ["online", "online", "in-person", "in-person"]
        assert all(clock.now < e.starts_at < clock.now + timedelta(days=40) for e in events)
        assert session.scalar(select(func.count()).select_from(Reminder)) > 0
