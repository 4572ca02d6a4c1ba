"""Answers, the nudge by DM and escalation to the organisers (SPEC 4.5), through the real scheduler tick.

The bot runs with CBA_QUESTION_NUDGE=1m and CBA_QUESTION_ESCALATION=2m; a frozen clock is advanced and
`bot.scheduler.tick` is called, by two bots on one database (two processes' ticks) and repeatedly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot, build
from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack, Message
from bot.features import build_registry
from bot.kernel.settings import Settings, load_settings
from bot.scheduler import tick
from storage.db import make_engine, make_sessionmaker
from storage.models import Answer, Member, Question, Reminder
from tests.conftest import ORGANISER, Clock, with_settings
from tests.factories_questions import QUESTIONS_CHANNEL, make_alumni, make_person

ASKER = "U0ASKER"
PARTICIPANT = "U0OTHER"
COACH = "U0COACH"
SECOND_ORGANISER = "U0ORGTWO"
ROUTED = ("U0JAN", "U0ELENA")
ORGANISERS = (ORGANISER, SECOND_ORGANISER)
QUESTION = "How do we find funding for cluster internationalisation?"
NO_MATCH = "Where is the coffee machine in Torino?"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    timing = load_settings({"CBA_QUESTION_NUDGE": "1m", "CBA_QUESTION_ESCALATION": "2m"})
    return with_settings(settings, question_nudge=timing.question_nudge, question_escalation=timing.question_escalation)


@pytest.fixture
def people(sessions: sessionmaker[Session], fake_slack: FakeSlack) -> None:
    """Everyone holds a role: an asker and another participant, two matching alumni and one who matches
    nothing, a coach, and an organiser by role grant besides the one in CBA_ORGANISERS."""
    fake_slack.add_channel(QUESTIONS_CHANNEL, "ask-alumni")
    with sessions.begin() as session:
        make_person(session, fake_slack, ASKER, "Paula Asker", "participant")
        make_person(session, fake_slack, PARTICIPANT, "Otto Other", "participant")
        make_alumni(session, fake_slack, "U0JAN", "Jan Novak", expertise=["cluster funding", "internationalisation"])
        make_alumni(session, fake_slack, "U0ELENA", "Elena Popescu", expertise=["Funding"])
        make_alumni(session, fake_slack, "U0MARTA", "Marta Unmatched", expertise=["welding"])
        make_person(session, fake_slack, COACH, "Carla Coach", "coach")
        make_person(session, fake_slack, SECOND_ORGANISER, "Oscar Organiser", "organiser")


@pytest.fixture
def second_bot(settings: Settings, fake_slack: FakeSlack, db_url: str, clock: Clock) -> Iterator[Bot]:
    """Another bot process on the same database: its own engine, courier and scheduler tick."""
    engine = make_engine(db_url)
    client = WebClient(token=settings.slack_bot_token, base_url=fake_slack.url)
    other = build(settings, client=client, sessions=make_sessionmaker(engine), clock=clock, registry=build_registry())
    yield other
    if other.deps.courier is not None:
        other.deps.courier.wait_idle(timeout=10)
        other.deps.courier.stop()
    engine.dispose()


def nudges(fake: FakeSlack, user: str) -> list[Message]:
    return [m for m in fake.dms_to(user) if "still has no answer" in m.text]


def escalations(fake: FakeSlack, user: str) -> list[Message]:
    return [m for m in fake.dms_to(user) if "escalated to the organisers" in m.text]


def everyone() -> tuple[str, ...]:
    return (ASKER, PARTICIPANT, "U0JAN", "U0ELENA", "U0MARTA", COACH, *ORGANISERS)


def the_question(sessions: sessionmaker[Session], question_id: int = 1) -> Question:
    with sessions() as session:
        question = session.get(Question, question_id)
        assert question is not None
        session.expunge(question)
        return question


def reply_in_thread(slack: SlackDriver, fake: FakeSlack, question: Question, user: str, text: str) -> None:
    message = fake.add_message(QUESTIONS_CHANNEL, text, user=user, thread_ts=question.message_ts)
    slack.event(
        {
            "type": "message",
            "channel": QUESTIONS_CHANNEL,
            "channel_type": "channel",
            "user": user,
            "text": text,
            "ts": message.ts,
            "thread_ts": question.message_ts,
            "event_ts": message.ts,
        }
    )


def run_clock(bots: list[Bot], clock: Clock, until: timedelta, step: timedelta = timedelta(seconds=10)) -> None:
    """Advance the frozen clock by `step` up to `until` from now, each bot ticking at every step."""
    end = clock.now + until
    while clock.now < end:
        clock.advance(step)
        for each in bots:
            tick(each.deps)


@pytest.mark.usefixtures("people")
class TestNudgeThenEscalation:
    def test_routed_alumni_are_nudged_by_dm_once_then_every_organiser_is_told_once(
        self,
        bot: Bot,
        second_bot: Bot,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
    ) -> None:
        asked_at = clock.now
        answer = slack.command(ASKER, "/cba-ask", QUESTION)
        assert "asking 2 alumni" in answer.text
        bots = [bot, second_bot]

        run_clock(bots, clock, timedelta(seconds=50))  # before the nudge is due: nothing
        assert [nudges(fake_slack, user) for user in everyone()] == [[]] * len(everyone())

        run_clock(bots, clock, timedelta(seconds=10))  # 1 minute: the nudge, by DM to the routed alumni
        assert clock.now - asked_at == timedelta(minutes=1)
        assert {user: len(nudges(fake_slack, user)) for user in everyone() if nudges(fake_slack, user)} == {
            "U0JAN": 1,
            "U0ELENA": 1,
        }
        assert the_question(sessions).nudged
        assert not [m for m in fake_slack.messages_in(QUESTIONS_CHANNEL) if "still has no answer" in m.text]
        assert [escalations(fake_slack, user) for user in everyone()] == [[]] * len(everyone())

        run_clock(bots, clock, timedelta(seconds=50))  # still before the escalation
        assert the_question(sessions).escalated_at is None
        run_clock(bots, clock, timedelta(seconds=10))  # 2 minutes: every organiser is told
        question = the_question(sessions)
        assert question.escalated_at == asked_at + timedelta(minutes=2)
        for organiser in ORGANISERS:
            [told] = escalations(fake_slack, organiser)
            shown = told.text + json.dumps(told.blocks)
            assert "question #1" in shown
            assert f"<{question.permalink}|" in shown  # its link
            assert "<@U0JAN>" in shown  # who was asked
            assert "<@U0ELENA>" in shown
            assert "U0MARTA" not in shown
            assert "reminded by DM" in shown
            actions = [e["action_id"] for b in told.blocks if b["type"] == "actions" for e in b["elements"]]
            assert actions == ["question_answer", "question_resolve"]
        assert {user for user in everyone() if escalations(fake_slack, user)} == set(ORGANISERS)

        run_clock(bots, clock, timedelta(days=3), step=timedelta(hours=6))  # later ticks of both send nothing more
        assert [len(nudges(fake_slack, user)) for user in ROUTED] == [1, 1]
        assert [len(escalations(fake_slack, user)) for user in ORGANISERS] == [1, 1]
        with sessions() as session:
            rows = session.scalars(
                select(Reminder).where(
                    Reminder.subject_id == 1,
                    (Reminder.kind == "question_nudge") | Reminder.dedupe_key.startswith("question_escalation:"),
                )
            ).all()
        assert sorted((r.kind, r.recipient, r.status) for r in rows) == sorted(
            [("question_nudge", user, "sent") for user in ROUTED] + [("message", user, "sent") for user in ORGANISERS]
        )

    def test_an_organiser_can_resolve_the_escalated_question_from_the_dm(
        self, bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slack.command(ASKER, "/cba-ask", QUESTION)
        run_clock([bot], clock, timedelta(minutes=2))
        assert escalations(fake_slack, SECOND_ORGANISER)
        slack.action(SECOND_ORGANISER, "question_resolve", value="1")
        assert the_question(sessions).status == "resolved"
        listed = slack.command(ORGANISER, "/cba-ask", "list")
        assert "question #1" not in listed.body

    def test_the_open_questions_list_shows_which_were_escalated(
        self, bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, clock: Clock
    ) -> None:
        slack.command(ASKER, "/cba-ask", QUESTION)
        assert "escalated" not in slack.command(PARTICIPANT, "/cba-ask", "list").body
        run_clock([bot], clock, timedelta(minutes=2))
        assert "escalated to the organisers" in slack.command(PARTICIPANT, "/cba-ask", "list").body

    def test_a_question_resolved_before_it_is_due_is_neither_nudged_nor_escalated(
        self, bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slack.command(ASKER, "/cba-ask", QUESTION)
        slack.command(ASKER, "/cba-ask", "resolve 1")
        run_clock([bot], clock, timedelta(minutes=5))
        assert not any(nudges(fake_slack, u) or escalations(fake_slack, u) for u in everyone())
        assert the_question(sessions).escalated_at is None


@pytest.mark.usefixtures("people")
class TestReplies:
    def test_a_participants_plus_one_is_stored_and_relayed_but_the_question_still_escalates(
        self, bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slack.command(ASKER, "/cba-ask", QUESTION)
        question = the_question(sessions)
        reply_in_thread(slack, fake_slack, question, PARTICIPANT, "+1, same question here")

        [relayed] = [m for m in fake_slack.dms_to(ASKER) if "replied to your question #1" in m.text]
        assert f"<@{PARTICIPANT}>" in relayed.text
        assert f"/archives/{QUESTIONS_CHANNEL}/p" in relayed.text  # a link to the reply
        assert "+1, same question here" in json.dumps(relayed.blocks)
        assert not [m for m in fake_slack.dms_to(ASKER) if "answered your question" in m.text]
        with sessions() as session:
            [reply] = session.scalars(select(Answer)).all()
            assert (reply.text, reply.answering) == ("+1, same question here", False)
        assert the_question(sessions).answered_at is None

        run_clock([bot], clock, timedelta(minutes=2))
        assert [len(nudges(fake_slack, user)) for user in ROUTED] == [1, 1]
        assert [len(escalations(fake_slack, user)) for user in ORGANISERS] == [1, 1]

    def test_a_reply_from_someone_without_a_role_does_not_answer(
        self, bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        fake_slack.add_user("U0STRANGER", "Stan Stranger")
        slack.command(ASKER, "/cba-ask", QUESTION)
        reply_in_thread(slack, fake_slack, the_question(sessions), "U0STRANGER", "I know this one")
        assert the_question(sessions).answered_at is None
        run_clock([bot], clock, timedelta(minutes=2))
        assert [len(escalations(fake_slack, user)) for user in ORGANISERS] == [1, 1]

    @pytest.mark.parametrize("answerer", ["U0JAN", "U0MARTA", COACH, SECOND_ORGANISER, ORGANISER])
    def test_an_answer_by_an_alumnus_coach_or_organiser_stops_the_nudge_and_the_escalation(
        self,
        bot: Bot,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
        answerer: str,
    ) -> None:
        slack.command(ASKER, "/cba-ask", QUESTION)
        clock.advance(timedelta(seconds=30))
        reply_in_thread(slack, fake_slack, the_question(sessions), answerer, "Regional ERDF calls.")

        [told] = [m for m in fake_slack.dms_to(ASKER) if "answered your question #1" in m.text]
        assert f"<@{answerer}>" in told.text
        question = the_question(sessions)
        assert question.answered_at == clock.now
        run_clock([bot], clock, timedelta(minutes=5))
        assert not any(nudges(fake_slack, u) or escalations(fake_slack, u) for u in everyone())
        with sessions() as session:
            statuses = session.scalars(select(Reminder.status).where(Reminder.kind == "question_nudge")).all()
        assert statuses == ["cancelled", "cancelled"]
        assert the_question(sessions).escalated_at is None

    def test_an_answer_with_the_button_stops_them_too_and_a_participants_button_reply_does_not(
        self, bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slack.command(ASKER, "/cba-ask", QUESTION)
        slack.command(ASKER, "/cba-ask", QUESTION + " (second)")
        for user, question_id in ((PARTICIPANT, 1), ("U0ELENA", 2)):
            slack.action(user, "question_answer", value=str(question_id), channel_id=QUESTIONS_CHANNEL)
            view = fake_slack.calls_to("views.open")[-1].args["view"]
            view = json.loads(view) if isinstance(view, str) else view
            done = slack.submit(user, view, {"answer": {"text": {"type": "plain_text_input", "value": "Try ERDF."}}})
            assert done.status == 200
        assert the_question(sessions, 1).answered_at is None
        assert the_question(sessions, 2).answered_at is not None
        slack.settle()
        assert [m for m in fake_slack.dms_to(ASKER) if "replied to your question #1" in m.text]
        assert [m for m in fake_slack.dms_to(ASKER) if "answered your question #2" in m.text]
        in_threads = [m.text.splitlines()[0] for m in fake_slack.messages_in(QUESTIONS_CHANNEL) if m.thread_ts]
        assert sorted(in_threads) == sorted(
            [f":speech_balloon: <@{PARTICIPANT}> replied:", ":speech_balloon: <@U0ELENA> answered:"]
        )
        run_clock([bot], clock, timedelta(minutes=2))
        for organiser in ORGANISERS:
            assert ["question #1" in m.text for m in escalations(fake_slack, organiser)] == [True]


@pytest.mark.usefixtures("people")
class TestWhoWasAsked:
    def test_the_asker_is_told_how_many_alumni_were_asked(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        answer = slack.command(ASKER, "/cba-ask", "Any tips on welding?")
        assert "asking 1 alumni member" in answer.text
        slack.settle()
        [posted] = [m for m in fake_slack.dms_to(ASKER) if "is posted" in m.text]
        assert "I asked 1 alumni member" in posted.text
        assert [m for m in fake_slack.dms_to("U0MARTA") if "question #1" in m.text]

    def test_when_nobody_fits_every_organiser_is_told_at_once_and_again_on_escalation(
        self, bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        answer = slack.command(ASKER, "/cba-ask", NO_MATCH)
        assert "No available alumni matches it right now: the organisers have been told" in answer.text
        slack.settle()  # no scheduler tick: at once
        for organiser in ORGANISERS:
            [told] = [m for m in fake_slack.dms_to(organiser) if "matches no alumni" in m.text]
            assert "question #1" in told.text
        [posted] = [m for m in fake_slack.dms_to(ASKER) if "is posted" in m.text]
        assert "No available alumni matches it right now" in posted.text
        with sessions() as session:
            assert session.scalars(select(Reminder).where(Reminder.kind == "question_nudge")).all() == []

        run_clock([bot], clock, timedelta(minutes=3))
        for organiser in ORGANISERS:
            [escalated] = escalations(fake_slack, organiser)
            assert "nobody was asked" in json.dumps(escalated.blocks)
        assert not any(nudges(fake_slack, u) for u in everyone())

    def test_an_erased_organiser_is_not_told(
        self, bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        with sessions.begin() as session:
            oscar = session.scalars(select(Member).where(Member.slack_id == SECOND_ORGANISER)).one()
            oscar.slack_id, oscar.erased_at = None, clock.now
        slack.command(ASKER, "/cba-ask", QUESTION)
        run_clock([bot], clock, timedelta(minutes=2))
        assert len(escalations(fake_slack, ORGANISER)) == 1
        assert escalations(fake_slack, SECOND_ORGANISER) == []
