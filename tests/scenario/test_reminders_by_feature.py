"""Each feature's reminders through the real delivery engine (scheduler tick, controlled clock)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot
from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.scheduler import tick
from storage.models import Reminder
from tests.conftest import ORGANISER, Clock
from tests.factories import make_cohort, make_member

PARTICIPANTS = ["U0PART1", "U0PART2", "U0PART3"]
COACH = "U0COACH1"
ALUMNI = "U0ALUM1"


@pytest.fixture
def cohort_people(sessions: sessionmaker[Session], fake_slack: FakeSlack) -> None:
    fake_slack.add_channel("C0COHORT3", "cba3")
    fake_slack.add_channel("C0QUESTIONS", "ask-alumni")
    with sessions.begin() as session:
        cohort = make_cohort(session)
        for index, slack_id in enumerate(PARTICIPANTS, start=1):
            make_member(session, slack_id, f"Participant {index}", "participant", cohort=cohort)
            fake_slack.add_user(slack_id, f"Participant {index}")
        make_member(session, COACH, "Cora Coach", "coach", cohort=cohort)
        fake_slack.add_user(COACH, "Cora Coach")
        make_member(session, ALUMNI, "Al Alumni", "alumni", expertise=["funding"], sectors=[], bio="")
        fake_slack.add_user(ALUMNI, "Al Alumni")


def _statuses(sessions: sessionmaker[Session], kind: str) -> Counter[str]:
    with sessions() as session:
        return Counter(session.scalars(select(Reminder.status).where(Reminder.kind == kind)))


def _posts_to(fake_slack: FakeSlack, recipients: list[str]) -> Counter[str]:
    """Messages per recipient, whether posted to the user ID or to their DM channel."""
    dm_of = {fake_slack.dm_channel(user): user for user in recipients}
    counts: Counter[str] = Counter()
    for call in fake_slack.calls_to("chat.postMessage"):
        channel = str(call.args.get("channel"))
        user = channel if channel in recipients else dm_of.get(channel)
        if user:
            counts[user] += 1
    return counts


@pytest.mark.usefixtures("cohort_people")
def test_homework_reminders_skip_whoever_submitted_and_reach_the_others_once_per_offset(
    bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
) -> None:
    slack.command(ORGANISER, "/cba-homework", "new CBA3 2026-12-10 Action plan | Two pages")
    due = datetime(2026, 12, 10, 22, 59, tzinfo=UTC)  # 23:59 in Brussels
    assert _statuses(sessions, "homework") == Counter({"pending": 6})
    # Planned for everyone; one participant submits before the first reminder goes out.
    slack.command("U0PART1", "/cba-homework", "submit 1 https://docs.example.com/plan")
    fake_slack.reset_calls()
    for offset in (timedelta(days=3), timedelta(days=1)):
        clock.set(due - offset)
        tick(bot.deps)
        tick(bot.deps)  # a second tick at the same instant sends nothing more
    assert _posts_to(fake_slack, PARTICIPANTS) == Counter({"U0PART2": 2, "U0PART3": 2})
    assert _statuses(sessions, "homework")["sent"] == 4


@pytest.mark.usefixtures("cohort_people")
def test_a_question_is_nudged_once_and_only_while_unanswered(
    bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
) -> None:
    slack.command("U0PART1", "/cba-ask", "How do clusters fund their strategy work?")
    slack.command("U0PART2", "/cba-ask", "Which funding sources suit a young cluster?")
    posted = fake_slack.messages_in("C0QUESTIONS")
    assert len(posted) == 2
    # The second question gets an answer in its thread before the nudge is due.
    second = posted[1]
    slack.event(
        {
            "type": "message",
            "channel": "C0QUESTIONS",
            "user": ALUMNI,
            "text": "Try regional ERDF calls.",
            "ts": "1800000000.000200",
            "thread_ts": second.ts,
            "event_ts": "1800000000.000200",
        }
    )
    fake_slack.reset_calls()
    clock.advance(timedelta(hours=48, minutes=1))
    tick(bot.deps)
    posts_after_first_tick = len(fake_slack.calls_to("chat.postMessage"))
    clock.advance(timedelta(hours=1))
    tick(bot.deps)
    assert len(fake_slack.calls_to("chat.postMessage")) == posts_after_first_tick >= 1
    assert _statuses(sessions, "question_nudge") in (
        Counter({"sent": 1, "skipped": 1}),
        Counter({"sent": 1, "cancelled": 1}),
    )


@pytest.mark.usefixtures("cohort_people")
def test_coaching_reminders_reach_participant_and_coach_once_per_offset(
    bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
) -> None:
    slack.command(COACH, "/cba-slots", "add 2026-12-03 10:00 45m")
    slack.command("U0PART1", "/cba-book", "1")
    start = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # 10:00 in Brussels
    assert _statuses(sessions, "coaching") == Counter({"pending": 4})
    fake_slack.reset_calls()
    for offset in (timedelta(hours=24), timedelta(hours=1)):
        clock.set(start - offset)
        tick(bot.deps)
        tick(bot.deps)
    assert _posts_to(fake_slack, ["U0PART1", COACH]) == Counter({"U0PART1": 2, COACH: 2})
    assert _statuses(sessions, "coaching") == Counter({"sent": 4})


@pytest.mark.usefixtures("cohort_people")
def test_a_late_joiner_gets_the_reminders_still_to_come_and_a_leaver_none(
    bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
) -> None:
    slack.command(ORGANISER, "/cba-admin", "event add CBA3 online 2026-12-10 10:00-12:00 Kick-off")
    slack.command(ORGANISER, "/cba-homework", "new CBA3 2026-12-10 Action plan")
    start = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    # After planning: a newcomer joins the cohort, and a participant leaves it.
    with sessions.begin() as session:
        make_member(session, "U0LATE1", "Lea Late", "participant", cohort=make_cohort(session))
    fake_slack.add_user("U0LATE1", "Lea Late")
    slack.command(ORGANISER, "/cba-admin", "role remove <@U0PART3> participant")
    clock.set(start - timedelta(days=1, minutes=1))
    tick(bot.deps)
    with sessions() as session:
        open_rows = session.execute(
            # The reminders (the outbox also holds the announcements and Home refreshes sent earlier).
            select(Reminder.kind, Reminder.recipient).where(
                Reminder.status.in_(("pending", "sent")), Reminder.kind.in_(("event", "homework"))
            )
        ).all()
    late = Counter(kind for kind, recipient in open_rows if recipient == "U0LATE1")
    # Still to come for the newcomer: the day's 1d and 1h reminders; homework 1d (the 3d one had passed).
    assert late == Counter({"event": 2, "homework": 1})
    assert [row for row in open_rows if row.recipient == "U0PART3"] == []
    fake_slack.reset_calls()
    clock.advance(timedelta(minutes=1))
    tick(bot.deps)
    # The day's 1-day reminder reaches the newcomer and the others still in the cohort, not the leaver.
    assert _posts_to(fake_slack, [*PARTICIPANTS, "U0LATE1"]) == Counter({"U0PART1": 1, "U0PART2": 1, "U0LATE1": 1})
