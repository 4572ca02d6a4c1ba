"""The organisers' digest (SPEC 4.9): `/cba-admin digest [COHORT]` and the scheduled DM at CBA_DIGEST,
through signed requests and the real scheduler tick with a frozen clock."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot, build
from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.kernel.deps import Deps
from bot.kernel.digest import DIGEST_KIND, plan_digests
from bot.kernel.erasure import REMOVED
from bot.kernel.settings import Settings
from bot.scheduler import tick
from commands.members import views as member_views
from storage.models import Answer, CoachingBooking, Question, Reminder, Rsvp
from tests.conftest import ORGANISER, Clock, with_settings
from tests.factories import make_cohort, make_member
from tests.factories_coaching import make_booking, make_slot
from tests.factories_events import make_cohort_with_participants, make_event
from tests.factories_homework import make_assignment, make_submission
from tests.factories_questions import QUESTIONS_CHANNEL, make_alumni, make_person, make_question, make_routing

BRUSSELS = ZoneInfo("Europe/Brussels")
ORGANISER2 = "U0ORGTWO"
COACH = "U0COACHD"
ALUMNI = "U0ALUMD"
# Monday 7 December 2026, 09:00 in Brussels (CET, UTC+1).
MONDAY_NINE = datetime(2026, 12, 7, 9, 0, tzinfo=BRUSSELS)


def _seed(session: Session, fake: FakeSlack, now: datetime) -> dict[str, int]:
    """A cohort with one thing of each kind needing attention, and things that must not show."""
    make_member(session, ORGANISER, "Olga Organiser", "organiser")
    make_person(session, fake, ORGANISER2, "Otto Organiser", "organiser")
    cohort, (p0, p1, p2) = make_cohort_with_participants(session, fake, 3, code="CBA3")
    make_cohort(session, "CBA1", "Cluster Booster Academy 1", None)  # an old cohort: nothing to act on
    alumni = make_alumni(session, fake, ALUMNI, "Alma Alumni", expertise=["funding"])
    coach = make_person(session, fake, COACH, "Cora Coach", "coach")

    old_question = make_question(session, p0, "How do you fund a cluster strategy?", created_at=now - timedelta(days=3))
    old_question.permalink = "https://example.slack.com/archives/C0QUESTIONS/p1"
    make_routing(session, old_question, alumni, at=now - timedelta(days=3))
    young_question = make_question(session, p1, "Who runs the Torino visit?", created_at=now - timedelta(hours=2))
    # Answered in its thread by an alumnus (through the pipeline: `_answer_in_thread`).
    fake.add_channel(QUESTIONS_CHANNEL, "ask-alumni")
    posted = fake.add_message(QUESTIONS_CHANNEL, "Which template for the plan?", user="UBOT")
    answered = make_question(
        session, p2, "Which template for the plan?", created_at=now - timedelta(days=4), message_ts=posted.ts
    )

    next_hw = make_assignment(session, cohort, now + timedelta(days=3), "Action plan")
    make_submission(session, next_hw, p0, now - timedelta(hours=5))
    last_hw = make_assignment(session, cohort, now - timedelta(days=2), "Cluster map")
    make_submission(session, last_hw, p0, now - timedelta(days=3))
    make_submission(session, last_hw, p1, now - timedelta(days=1))
    ancient_hw = make_assignment(session, cohort, now - timedelta(days=60), "Ancient survey")

    day = make_event(session, cohort, now + timedelta(days=10), kind="in-person", title="Torino day", now=now)
    session.add(Rsvp(event_id=day.id, member_id=p0.id, answer="yes", answered_at=now - timedelta(days=2)))
    session.add(
        Rsvp(
            event_id=day.id,
            member_id=p1.id,
            answer="no",
            reason="Sick child",
            late_cancellation=True,
            answered_at=now - timedelta(days=1),
        )
    )
    later_day = make_event(session, cohort, now + timedelta(days=40), title="Wrap-up", now=now)

    slot = make_slot(session, coach, now + timedelta(hours=6))
    booking = make_booking(session, slot, p2, status="cancelled")
    booking.late, booking.cancelled_at, booking.cancelled_by_id = True, now - timedelta(hours=3), p2.id
    kept = make_booking(session, make_slot(session, coach, now + timedelta(days=2)), p1)

    def failed(recipient: str, error: str) -> int:
        row = Reminder(
            dedupe_key=f"message:failed-{recipient}",
            kind="message",
            subject_type="message",
            subject_id=0,
            recipient=recipient,
            due_at=now - timedelta(hours=1),
            status="failed",
            attempts=1,
            last_error=error,
            created_at=now - timedelta(hours=1),
        )
        session.add(row)
        session.flush()
        return row.id

    return {
        "old_question": old_question.id,
        "young_question": young_question.id,
        "answered": answered.id,
        "next_hw": next_hw.id,
        "last_hw": last_hw.id,
        "ancient_hw": ancient_hw.id,
        "day": day.id,
        "later_day": later_day.id,
        "booking": booking.id,
        "kept": kept.id,
        "failed_participant": failed(p1.slack_id or "", "user_not_found"),
        "failed_coach": failed(COACH, "account_inactive"),
    }


def _block_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def _answer_in_thread(slack: SlackDriver, fake: FakeSlack, sessions: sessionmaker[Session], question_id: int) -> None:
    """The alumnus answers in the question's thread, as Slack would send it."""
    with sessions() as session:
        question = session.get(Question, question_id)
        assert question is not None
        thread_ts = question.message_ts
    reply = fake.add_message(QUESTIONS_CHANNEL, "The one on the wiki.", user=ALUMNI, thread_ts=thread_ts)
    event = {"type": "message", "channel": QUESTIONS_CHANNEL, "channel_type": "channel", "user": ALUMNI}
    slack.event({**event, "text": reply.text, "ts": reply.ts, "thread_ts": thread_ts, "event_ts": reply.ts})
    slack.settle()


@pytest.fixture
def seeded(slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock) -> dict[str, int]:
    clock.set(MONDAY_NINE - timedelta(hours=1))
    with sessions.begin() as session:
        ids = _seed(session, fake_slack, clock.now)
    _answer_in_thread(slack, fake_slack, sessions, ids["answered"])
    with sessions() as session:
        assert session.scalars(select(Answer).where(Answer.question_id == ids["answered"])).all()
    return ids


class TestOnDemand:
    def test_shows_each_section_with_each_item_and_what_acts_on_it(
        self, slack: SlackDriver, seeded: dict[str, int]
    ) -> None:
        reply = slack.command(ORGANISER, "/cba-admin", "digest CBA3")
        blocks = reply.json["blocks"]
        shown = _block_text(blocks)
        assert reply.text.startswith("Organisers' digest")
        assert len(blocks) <= 50
        for title in (
            "Questions unanswered",
            "Homework missing",
            "RSVPs still open for the next programme day",
            "Late cancellations of programme days",
            "Late cancellations of coaching",
            "Deliveries that failed",
        ):
            assert f"*{title}*" in shown
        # Each item by its ID, with the command (or the thread) that acts on it.
        assert f"question #{seeded['old_question']} " in shown
        assert "answer in <https://example.slack.com/archives/C0QUESTIONS/p1|its thread>" in shown
        assert f"assignment #{seeded['next_hw']} " in shown
        assert f"`/cba-homework status {seeded['next_hw']}`" in shown
        assert f"assignment #{seeded['last_hw']} " in shown
        assert "1 of 3 missing: <@U0CBA3P002>" in shown
        assert "2 of 3 not handed in yet: <@U0CBA3P001>, <@U0CBA3P002>" in shown
        assert f"event #{seeded['day']} " in shown
        assert "1 of 3 have not answered: <@U0CBA3P002>" in shown
        assert "<@U0CBA3P001> declined late (“Sick child”)" in shown
        assert "`/cba-admin events CBA3`" in shown
        assert f"booking #{seeded['booking']} " in shown
        assert "<@U0CBA3P002> cancelled late" in shown
        assert "`/cba-admin report CBA3`" in shown
        assert f"delivery #{seeded['failed_participant']} " in shown
        assert "`/cba-admin deliveries`" in shown
        # What needs nothing is not there: a young or answered question, old homework, the later day,
        # a kept booking, a failure that is nobody's in this cohort.
        for absent in (
            f"question #{seeded['young_question']} ",
            f"question #{seeded['answered']} ",
            f"assignment #{seeded['ancient_hw']} ",
            f"event #{seeded['later_day']} ",
            f"booking #{seeded['kept']} ",
            f"delivery #{seeded['failed_coach']} ",
        ):
            assert absent not in shown

    def test_without_a_cohort_it_covers_every_cohort_and_what_belongs_to_none(
        self, slack: SlackDriver, seeded: dict[str, int], sessions: sessionmaker[Session]
    ) -> None:
        reply = slack.command(ORGANISER2, "/cba-admin", "digest")
        shown = _block_text(reply.json["blocks"])
        assert "CBA3 · Cohort CBA3" in shown
        assert "Across the Academy" in shown
        assert f"delivery #{seeded['failed_coach']} " in shown
        assert "account_inactive" in shown
        assert "Nothing needs attention in CBA1." in shown
        # Asking changes nothing and sends nothing: it is not the scheduled digest.
        with sessions() as session:
            assert session.scalars(select(Reminder).where(Reminder.kind == DIGEST_KIND)).all() == []

    def test_the_command_is_for_organisers_only(self, slack: SlackDriver, seeded: dict[str, int]) -> None:
        reply = slack.command("U0CBA3P000", "/cba-admin", "digest CBA3")
        assert "organiser" in reply.text
        assert "blocks" not in reply.json or "Questions unanswered" not in _block_text(reply.json["blocks"])

    def test_an_unknown_cohort_or_extra_words_get_the_usage(self, slack: SlackDriver, seeded: dict[str, int]) -> None:
        unknown = slack.command(ORGANISER, "/cba-admin", "digest CBA9")
        assert "There is no cohort CBA9" in unknown.text
        assert "/cba-admin digest [COHORT]" in unknown.text
        extra = slack.command(ORGANISER, "/cba-admin", "digest CBA3 CBA1")
        assert "/cba-admin digest [COHORT]" in extra.text

    def test_help_lists_the_digest_for_organisers(self, slack: SlackDriver, seeded: dict[str, int]) -> None:
        assert "/cba-admin digest [COHORT]" in _block_text(slack.command(ORGANISER, "/cba-help").json.get("blocks", []))


def _digest_dms(fake_slack: FakeSlack) -> Counter[str]:
    """Digest messages per organiser."""
    counts: Counter[str] = Counter()
    for user in (ORGANISER, ORGANISER2, "U0CBA3P000", COACH):
        counts[user] = sum(1 for m in fake_slack.dms_to(user) if m.text.startswith("Organisers' digest"))
    return +counts


class TestScheduled:
    def test_monday_nine_in_brussels_reaches_each_organiser_once(
        self, bot: Bot, fake_slack: FakeSlack, clock: Clock, seeded: dict[str, int], sessions: sessionmaker[Session]
    ) -> None:
        clock.set(MONDAY_NINE - timedelta(minutes=1))
        tick(bot.deps)
        assert _digest_dms(fake_slack) == Counter()
        clock.set(MONDAY_NINE)
        tick(bot.deps)
        tick(bot.deps)  # a second tick (or a second process) at the same instant sends nothing more
        clock.advance(timedelta(hours=2))
        tick(bot.deps)
        assert _digest_dms(fake_slack) == Counter({ORGANISER: 1, ORGANISER2: 1})
        dm = next(m for m in fake_slack.dms_to(ORGANISER2) if m.text.startswith("Organisers' digest"))
        shown = _block_text(dm.blocks)
        assert f"question #{seeded['old_question']} " in shown
        assert f"booking #{seeded['booking']} " in shown
        with sessions() as session:
            keys = sorted(session.scalars(select(Reminder.dedupe_key).where(Reminder.kind == DIGEST_KIND)))
        assert keys == sorted(f"digest:2026-12-07:{who}" for who in (ORGANISER, ORGANISER2))

    def test_two_bots_ticking_at_once_after_a_restart_send_it_once(
        self,
        bot: Bot,
        settings: Settings,
        fake_slack: FakeSlack,
        clock: Clock,
        seeded: dict[str, int],
        sessions: sessionmaker[Session],
    ) -> None:
        # Both bots were down at 09:00 and start an hour later: the digest goes out late, once.
        other = build(
            settings, client=WebClient(token="xoxb-test-token", base_url=fake_slack.url), sessions=sessions, clock=clock
        )
        try:
            clock.set(MONDAY_NINE + timedelta(hours=1))
            start = threading.Barrier(4)

            def run(deps: Deps) -> None:
                start.wait()
                plan_digests(deps)

            threads = [threading.Thread(target=run, args=(d,)) for d in (bot.deps, other.deps) * 2]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            tick(bot.deps)
            tick(other.deps)
        finally:
            if other.deps.courier is not None:
                other.deps.courier.wait_idle(timeout=10)
                other.deps.courier.stop()
        assert _digest_dms(fake_slack) == Counter({ORGANISER: 1, ORGANISER2: 1})

    def test_a_digest_missed_by_more_than_half_a_day_waits_for_the_next(
        self, bot: Bot, fake_slack: FakeSlack, clock: Clock, seeded: dict[str, int]
    ) -> None:
        clock.set(MONDAY_NINE + timedelta(hours=12, minutes=1))
        tick(bot.deps)
        assert _digest_dms(fake_slack) == Counter()
        clock.set(MONDAY_NINE + timedelta(days=7))
        tick(bot.deps)
        assert _digest_dms(fake_slack) == Counter({ORGANISER: 1, ORGANISER2: 1})

    def test_off_sends_nothing(self, bot: Bot, fake_slack: FakeSlack, clock: Clock, seeded: dict[str, int]) -> None:
        bot.deps.settings = with_settings(bot.deps.settings, digest=None)
        for hours in (0, 1, 24 * 7):
            clock.set(MONDAY_NINE + timedelta(hours=hours))
            tick(bot.deps)
        assert _digest_dms(fake_slack) == Counter()

    def test_a_daylight_saving_week_keeps_nine_local_and_each_digest_starts_where_the_last_ended(
        self, bot: Bot, fake_slack: FakeSlack, clock: Clock, sessions: sessionmaker[Session]
    ) -> None:
        # Europe/Brussels goes to summer time on Sunday 28 March 2027: 09:00 is 08:00 UTC before, 07:00 after.
        winter = datetime(2027, 3, 22, 8, 0, tzinfo=UTC)
        summer = datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
        clock.set(winter - timedelta(days=1))
        with sessions.begin() as session:
            _seed(session, fake_slack, clock.now)
        clock.set(winter - timedelta(minutes=1))
        tick(bot.deps)
        clock.set(winter)
        tick(bot.deps)
        assert _digest_dms(fake_slack) == Counter({ORGANISER: 1, ORGANISER2: 1})
        first = next(m for m in fake_slack.dms_to(ORGANISER) if m.text.startswith("Organisers' digest"))
        with sessions() as session:
            booking_id = session.scalars(select(CoachingBooking.id).where(CoachingBooking.late.is_(True))).one()
        assert f"booking #{booking_id} " in _block_text(first.blocks)

        clock.set(summer - timedelta(minutes=1))  # 08:59 summer time: an hour after 08:00 UTC, still too early
        tick(bot.deps)
        assert _digest_dms(fake_slack) == Counter({ORGANISER: 1, ORGANISER2: 1})
        clock.set(summer)
        tick(bot.deps)
        assert _digest_dms(fake_slack) == Counter({ORGANISER: 2, ORGANISER2: 2})
        second = [m for m in fake_slack.dms_to(ORGANISER) if m.text.startswith("Organisers' digest")][-1]
        # The late cancellation was in last week's digest; this one starts where that one ended.
        assert f"booking #{booking_id} " not in _block_text(second.blocks)
        assert "<!date^1805702400^" in _block_text(second.blocks)  # since 2027-03-22 08:00 UTC
        with sessions() as session:
            due = sorted(
                row.astimezone(BRUSSELS).strftime("%Y-%m-%d %H:%M")
                for row in session.scalars(
                    select(Reminder.due_at).where(Reminder.kind == DIGEST_KIND, Reminder.recipient == ORGANISER)
                )
            )
        assert due == ["2027-03-22 09:00", "2027-03-29 09:00"]

    def test_a_digest_that_names_a_member_who_erases_their_data_is_retracted(
        self,
        bot: Bot,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        clock: Clock,
        seeded: dict[str, int],
        sessions: sessionmaker[Session],
    ) -> None:
        clock.set(MONDAY_NINE)
        tick(bot.deps)
        dm = next(m for m in fake_slack.dms_to(ORGANISER) if m.text.startswith("Organisers' digest"))
        assert "<@U0CBA3P002>" in _block_text(dm.blocks)
        slack.command("U0CBA3P002", "/cba-profile", "delete")
        slack.action("U0CBA3P002", member_views.ERASE_CONFIRM, value="erase")
        slack.settle()
        with sessions() as session:
            rows = session.scalars(select(Reminder).where(Reminder.kind == DIGEST_KIND)).all()
            assert rows
            assert all("U0CBA3P002" not in json.dumps(row.payload) for row in rows)
        edited = next(m for m in fake_slack.dms_to(ORGANISER) if m.ts == dm.ts)
        assert edited.text == REMOVED
        assert "U0CBA3P002" not in _block_text(edited.blocks)
