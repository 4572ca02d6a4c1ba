"""Hostile input (SPEC §3): control characters and NUL, dates out of range and very long text, typed into
commands, forms and thread replies, on SQLite and PostgreSQL. Stripped or refused with the usage; never the
apology for an internal error; a refusal changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from storage.models import Answer, Member, Submission
from tests.conftest import ORGANISER, Clock
from tests.factories import database_snapshot, make_cohort, make_member
from tests.factories_coaching import make_slot
from tests.factories_events import make_event
from tests.factories_homework import make_assignment
from tests.factories_questions import make_question

APOLOGY = "Sorry, something went wrong"
PARTICIPANT, COACH, ALUMNUS = "U0PART1", "U0COACH1", "U0ALUM1"
QUESTION_TS = "1764000000.000100"


@pytest.fixture
def world(sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock) -> None:
    with sessions.begin() as session:
        cohort = make_cohort(session, "CBA3", channel="C0COHORT3")
        participant = make_member(session, PARTICIPANT, "Pat Participant", "participant", cohort=cohort)
        coach = make_member(session, COACH, "Cora Coach", "coach", cohort=cohort)
        make_member(session, ALUMNUS, "Al Alumnus", "alumni")
        make_member(session, ORGANISER, "Olga Organiser", "organiser")
        make_slot(session, coach, clock.now + timedelta(days=10))
        make_assignment(session, cohort, clock.now + timedelta(days=7))
        make_event(session, cohort, clock.now + timedelta(days=12), now=clock.now)
        make_question(session, participant, "How do you fund a cluster?", created_at=clock.now, message_ts=QUESTION_TS)
    for slack_id in (PARTICIPANT, COACH, ALUMNUS):
        fake_slack.add_user(slack_id, slack_id)
    fake_slack.add_channel("C0COHORT3", "cba3")
    fake_slack.add_channel("C0QUESTIONS", "cba-questions")


def no_apology(slack: SlackDriver, fake: FakeSlack, answer: Any) -> None:
    slack.settle()
    assert answer.status == 200
    assert APOLOGY not in answer.body
    assert not [call for call in fake.calls if APOLOGY in json.dumps(call.args)]


@pytest.mark.usefixtures("world")
class TestControlCharacters:
    def test_a_nul_in_a_bio_is_stripped_before_it_is_stored(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        answer = slack.command(PARTICIPANT, "/cba-profile", "set bio Clusters\x00 and\x1b[31m regions\x07")
        no_apology(slack, fake_slack, answer)
        with sessions() as session:
            bio = session.scalar(select(Member.bio).where(Member.slack_id == PARTICIPANT))
        assert bio == "Clusters and[31m regions"

    def test_a_nul_in_a_homework_submission_is_stripped(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        answer = slack.command(PARTICIPANT, "/cba-homework", "submit 1 My\x00 plan:\r\nfirst\x0c step")
        no_apology(slack, fake_slack, answer)
        with sessions() as session:
            texts = session.scalars(select(Submission.text)).all()
        assert texts == ["My plan:\nfirst step"]

    def test_control_characters_in_a_form_field_are_stripped(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        slack.command(PARTICIPANT, "/cba-profile", "")
        view = fake_slack.calls_to("views.open")[-1].args["view"]
        answer = slack.submit(
            PARTICIPANT,
            view,
            {
                "name": {"value": {"type": "plain_text_input", "value": "Pat\x00 Participant"}},
                "bio": {"value": {"type": "plain_text_input", "value": "Line one\r\nline\x00 two \ud800"}},
            },
        )
        no_apology(slack, fake_slack, answer)
        with sessions() as session:
            member = session.scalars(select(Member).where(Member.slack_id == PARTICIPANT)).one()
        assert (member.name, member.bio) == ("Pat Participant", "Line one\nline two")

    def test_a_nul_in_a_thread_reply_is_stripped(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        reply = fake_slack.add_message("C0QUESTIONS", "Ask\x00 the region", user=ALUMNUS, thread_ts=QUESTION_TS)
        event = {
            "type": "message",
            "channel": "C0QUESTIONS",
            "channel_type": "channel",
            "user": ALUMNUS,
            "text": "Ask\x00 the region\x1b",
            "ts": reply.ts,
            "thread_ts": QUESTION_TS,
            "event_ts": reply.ts,
        }
        no_apology(slack, fake_slack, slack.event(event))
        with sessions() as session:
            assert session.scalars(select(Answer.text)).all() == ["Ask the region"]


OUT_OF_RANGE = [
    (COACH, "/cba-slots", "add 0001-01-01 10:00"),
    (COACH, "/cba-slots", "add 9999-12-31 23:30 480m x12"),
    (ORGANISER, "/cba-homework", "new CBA3 0001-01-01 Ancient history"),
    (ORGANISER, "/cba-homework", "new CBA3 9999-12-31 Far future"),
    (ORGANISER, "/cba-homework", "due 1 9999-12-31"),
    (ORGANISER, "/cba-homework", "due 1 0001-01-01"),
    (ORGANISER, "/cba-admin", "event add CBA3 online 9999-12-31 22:00-23:59 New Year's Eve"),
    (ORGANISER, "/cba-admin", "event add CBA3 in-person 0001-01-01 00:00-01:00 Year one"),
    (ORGANISER, "/cba-admin", "event move 1 9999-12-31 23:00-23:59"),
    (ORGANISER, "/cba-admin", "event move 1 0001-01-01 00:00-01:00"),
]


@pytest.mark.usefixtures("world")
@pytest.mark.parametrize(("caller", "command", "typed"), OUT_OF_RANGE, ids=[f"{c} {t}" for _, c, t in OUT_OF_RANGE])
def test_dates_out_of_range_are_refused_with_the_usage(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    sessions: sessionmaker[Session],
    caller: str,
    command: str,
    typed: str,
) -> None:
    before = database_snapshot(sessions)
    answer = slack.command(caller, command, typed)
    no_apology(slack, fake_slack, answer)
    assert "is out of range" in answer.text
    assert "Usage" in answer.text
    assert f"`{command} " in answer.text
    assert database_snapshot(sessions) == before


@pytest.mark.usefixtures("world")
class TestVeryLongText:
    @pytest.mark.parametrize(
        ("caller", "command", "typed"),
        [
            (PARTICIPANT, "/cba-directory", "mobility " * 5000),
            (PARTICIPANT, "/cba-ask", "Why? " * 5000),
            (PARTICIPANT, "/cba-homework", "submit 1 " + "x" * 20_000),
            (ORGANISER, "/cba-admin", "cohort add CBA9 " + "long name " * 2000),
        ],
        ids=["directory", "ask", "homework", "admin"],
    )
    def test_a_command_longer_than_any_feature_takes_is_refused_with_the_usage(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        caller: str,
        command: str,
        typed: str,
    ) -> None:
        before = database_snapshot(sessions)
        answer = slack.command(caller, command, typed)
        no_apology(slack, fake_slack, answer)
        assert "characters long" in answer.text
        assert f"Usage of `{command}`" in answer.text
        assert database_snapshot(sessions) == before

    @pytest.mark.parametrize(
        ("caller", "command", "typed", "says"),
        [
            (PARTICIPANT, "/cba-profile", "set bio " + "b" * 5000, "bio"),
            (PARTICIPANT, "/cba-ask", "Why? " * 1000, "at most"),
            (ORGANISER, "/cba-homework", "new CBA3 2026-12-20 " + "T" * 500, "title"),
            (ORGANISER, "/cba-admin", "event add CBA3 online 2026-12-20 10:00-12:00 " + "T" * 500, "title"),
        ],
        ids=["bio", "question", "assignment title", "event title"],
    )
    def test_text_longer_than_a_field_takes_is_refused_clearly(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        caller: str,
        command: str,
        typed: str,
        says: str,
    ) -> None:
        before = database_snapshot(sessions)
        answer = slack.command(caller, command, typed)
        no_apology(slack, fake_slack, answer)
        assert says in answer.text.lower()
        assert database_snapshot(sessions) == before
