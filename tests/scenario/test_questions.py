"""Ask alumni end to end: signed requests through Bolt, a fake Slack over HTTP, a real database."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot, build
from bot.console.driver import Dispatched, SlackDriver
from bot.console.fakeslack import Call, FakeSlack, Message
from bot.features import build_registry
from bot.kernel.kinds import Outgoing, Skip
from bot.kernel.settings import Settings
from bot.scheduler import tick
from commands.common.csv_text import to_csv
from commands.questions import views
from commands.questions.nudge import render_nudge
from storage.models import Answer, Member, Question, QuestionRouting, Reminder
from tests.conftest import ORGANISER, SIGNING_SECRET, Clock, with_settings
from tests.factories_questions import QUESTIONS_CHANNEL, make_alumni, make_person, make_routing

ASKER = "U0ASKER"
ASKER_NAME = "Paula Private"
OTHER = "U0OTHER"
QUESTION = "How do we find funding for cluster internationalisation?"
NASTY = "Is <!channel> <!here> <@U123> <http://x|y> how we reach everyone?"
RAW_MARKUP = ("<!channel>", "<!here>", "<@U123>", "<http://x|y>")


@pytest.fixture
def people(sessions: sessionmaker[Session], fake_slack: FakeSlack) -> dict[str, Member]:
    fake_slack.add_channel(QUESTIONS_CHANNEL, "ask-alumni")
    with sessions.begin() as session:
        found = {
            "asker": make_person(session, fake_slack, ASKER, ASKER_NAME, "participant"),
            "other": make_person(session, fake_slack, OTHER, "Otto Other", "participant"),
            "jan": make_alumni(
                session, fake_slack, "U0JAN", "Jan Novak", expertise=["cluster funding", "internationalisation"]
            ),
            "elena": make_alumni(session, fake_slack, "U0ELENA", "Elena Popescu", expertise=["Funding"]),
        }
        session.expunge_all()
    return found


def ask(slack: SlackDriver, user: str, text: str) -> Dispatched:
    return slack.command(user, "/cba-ask", text)


def channel_posts(fake: FakeSlack) -> list[Message]:
    return [m for m in fake.messages_in(QUESTIONS_CHANNEL) if not m.thread_ts and not m.ephemeral_to]


def the_question(sessions: sessionmaker[Session], question_id: int = 1) -> Question:
    with sessions() as session:
        question = session.get(Question, question_id)
        assert question is not None
        session.expunge(question)
        return question


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def reply_in_thread(
    slack: SlackDriver, fake: FakeSlack, question: Question, user: str, text: str, *, event_id: str | None = None
) -> dict[str, Any]:
    message = fake.add_message(QUESTIONS_CHANNEL, text, user=user, thread_ts=question.message_ts)
    event = {
        "type": "message",
        "channel": QUESTIONS_CHANNEL,
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": message.ts,
        "thread_ts": question.message_ts,
        "event_ts": message.ts,
    }
    slack.event(event, event_id=event_id)
    return event


def dumped(call: Call) -> str:
    return json.dumps(call.args, ensure_ascii=False)


def answer_dms(fake: FakeSlack, user: str = ASKER) -> list[Message]:
    """The asker's DMs about answers (not the "your question is posted" one)."""
    return [m for m in fake.dms_to(user) if "answered your question" in m.text]


def posted_dms(fake: FakeSlack, user: str = ASKER) -> list[Message]:
    return [m for m in fake.dms_to(user) if "is posted" in m.text]


def nudge_statuses(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Reminder.status).where(Reminder.kind == "question_nudge")))


def tick_until(bot: Bot, clock: Clock, done: Any, *, step: timedelta = timedelta(seconds=1), limit: int = 60) -> int:
    """Advance the clock and run the scheduler's tick until `done()`; how many ticks it took."""
    for ticks in range(1, limit + 1):
        clock.advance(step)
        tick(bot.deps)
        if done():
            return ticks
    raise AssertionError("not done after the ticks allowed")


class TestAsk:
    def test_posts_the_question_and_answers_the_asker_with_its_number_and_link(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict, clock: Clock
    ) -> None:
        answer = ask(slack, ASKER, QUESTION)

        assert answer.json["response_type"] == "ephemeral"
        assert "question #1" in answer.text
        assert "asking 2 alumni" in answer.text
        question = the_question(sessions)
        assert question.permalink
        assert question.message_ts
        # The link follows by DM once the post is out.
        [posted] = fake_slack.dms_to(ASKER)
        assert f"question #1 is posted: <{question.permalink}|" in posted.text
        assert "I asked 2 alumni" in posted.text
        assert not question.anonymous
        assert question.status == "open"
        [post] = channel_posts(fake_slack)
        assert post.ts == question.message_ts
        body = json.dumps(post.blocks)
        assert f"<@{ASKER}>" in body
        assert "question #1" in body
        actions = [e["action_id"] for b in post.blocks if b["type"] == "actions" for e in b["elements"]]
        assert actions == ["question_answer", "question_resolve"]
        with sessions() as session:
            nudges = session.scalars(select(Reminder).where(Reminder.kind == "question_nudge")).all()
        # One nudge by DM per routed alumnus, 48 hours after the question.
        assert sorted(n.recipient for n in nudges) == ["U0ELENA", "U0JAN"]
        assert {(n.subject_id, n.due_at) for n in nudges} == {(1, clock.now + timedelta(hours=48))}

    def test_rate_limited_three_times_the_question_reaches_the_channel_exactly_once(
        self,
        slack: SlackDriver,
        bot: Bot,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        people: dict,
        clock: Clock,
    ) -> None:
        fake_slack.rate_limit("chat.postMessage", times=3, retry_after=1)
        answer = ask(slack, ASKER, QUESTION)

        # Acknowledged from the database while Slack refuses every post.
        assert "question #1" in answer.text
        assert "asking 2 alumni" in answer.text
        assert channel_posts(fake_slack) == []
        assert the_question(sessions).message_ts is None

        tick_until(bot, clock, lambda: bool(channel_posts(fake_slack)))
        for _ in range(5):  # nothing more comes however often the clock ticks
            clock.advance(timedelta(seconds=5))
            tick(bot.deps)

        [post] = channel_posts(fake_slack)
        tries = [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("channel") == QUESTIONS_CHANNEL]
        assert len(tries) == 4  # three 429s, one post
        question = the_question(sessions)
        assert question.message_ts == post.ts
        assert question.permalink
        assert "question #1" in json.dumps(post.blocks)
        for user in ("U0JAN", "U0ELENA"):
            [dm] = fake_slack.dms_to(user)
            assert question.permalink in json.dumps(dm.blocks)
        [posted] = fake_slack.dms_to(ASKER)
        assert question.permalink in posted.text
        with sessions() as session:
            [row] = session.scalars(select(Reminder).where(Reminder.kind == "question_post")).all()
            assert (row.status, row.slack_ts) == ("sent", post.ts)

    def test_the_answer_comes_first_then_the_post_then_the_dms_with_its_link(
        self,
        slack: SlackDriver,
        bot: Bot,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        people: dict,
        clock: Clock,
    ) -> None:
        fake_slack.rate_limit("chat.postMessage", times=1, retry_after=1)
        answer = ask(slack, ASKER, QUESTION)
        assert "question #1" in answer.text
        assert fake_slack.messages == []  # nothing has reached Slack when the asker has their answer

        tick_until(bot, clock, lambda: len(fake_slack.dms_to(ASKER)) == 1)
        order = [(m.channel, m.thread_ts) for m in fake_slack.messages]
        assert order[0] == (QUESTIONS_CHANNEL, None)  # the post first…
        assert sorted(order[1:]) == sorted(  # …then, with its link, the alumni and the asker
            [("DU0JAN", None), ("DU0ELENA", None), ("DU0ASKER", None)]
        )
        permalink = the_question(sessions).permalink
        assert permalink
        assert f"Your question #1 is posted: <{permalink}|" in fake_slack.dms_to(ASKER)[0].text

    def test_when_the_transaction_fails_nothing_is_posted(
        self,
        slack: SlackDriver,
        bot: Bot,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        people: dict,
        clock: Clock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        def broken(*args: object) -> None:
            raise RuntimeError("the database went away")

        # Fails after the question was stored, routed and its post queued, before the commit.
        monkeypatch.setattr(views, "ask_reply", broken)
        answer = ask(slack, ASKER, QUESTION)
        assert "something went wrong" in answer.text
        for _ in range(3):
            clock.advance(timedelta(minutes=1))
            tick(bot.deps)
        assert count(sessions, Question) == 0
        assert count(sessions, QuestionRouting) == 0
        assert count(sessions, Reminder) == 0
        assert fake_slack.calls_to("chat.postMessage") == []
        assert fake_slack.calls_to("chat.getPermalink") == []

    @pytest.mark.parametrize(
        "text",
        ["", "anon", "anon short", "too short", "resolve", "resolve abc", "resolve 1 2", "search", "x" * 2501],
    )
    def test_bad_input_answers_usage_and_changes_nothing(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict, text: str
    ) -> None:
        members_before = count(sessions, Member)
        answer = ask(slack, ASKER, text)
        assert answer.status == 200
        assert answer.json["response_type"] == "ephemeral"
        assert "Usage of `/cba-ask`" in answer.text
        assert count(sessions, Question) == 0
        assert count(sessions, Reminder) == 0
        assert count(sessions, Member) == members_before
        assert fake_slack.calls_to("chat.postMessage") == []

    def test_unknown_question_is_named(self, slack: SlackDriver, people: dict) -> None:
        answer = ask(slack, ASKER, "resolve 42")
        assert "There is no question #42" in answer.text
        assert "Usage of `/cba-ask`" in answer.text

    def test_refused_clearly_without_a_questions_channel(
        self,
        settings: Settings,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
        people: dict,
    ) -> None:
        unconfigured = with_settings(settings, questions_channel=None)
        built = build(
            unconfigured, client=WebClient(token="xoxb-test", base_url=fake_slack.url), sessions=sessions, clock=clock
        )
        try:
            driver = SlackDriver(built.app, built.deps, SIGNING_SECRET, fake=fake_slack)
            answer = ask(driver, ASKER, QUESTION)
        finally:
            if built.deps.courier is not None:
                built.deps.courier.stop()
        assert "CBA_QUESTIONS_CHANNEL" in answer.text
        assert count(sessions, Question) == 0

    def test_joins_the_channel_when_not_in_it_and_retries(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict
    ) -> None:
        fake_slack.fail("chat.postMessage", "not_in_channel", times=1)
        answer = ask(slack, ASKER, QUESTION)
        assert "question #1" in answer.text
        assert [c.args["channel"] for c in fake_slack.calls_to("conversations.join")] == [QUESTIONS_CHANNEL]
        assert len(channel_posts(fake_slack)) == 1
        assert the_question(sessions).message_ts == channel_posts(fake_slack)[0].ts

    def test_when_the_bot_cannot_post_the_asker_and_organisers_are_told(
        self, slack: SlackDriver, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict
    ) -> None:
        fake_slack.fail("chat.postMessage", "not_in_channel", when=lambda a: a.get("channel") == QUESTIONS_CHANNEL)
        fake_slack.fail("conversations.join", "method_not_supported_for_channel_type")
        answer = ask(slack, ASKER, QUESTION)
        # The answer comes from the database: the question is stored and numbered before any post.
        assert "question #1" in answer.text
        assert channel_posts(fake_slack) == []
        with sessions() as session:
            [post] = session.scalars(select(Reminder).where(Reminder.kind == "question_post")).all()
            assert post.status == "failed"
            assert post.last_error

        tick(bot.deps)  # the failed post is noticed and reported
        tick(bot.deps)  # …once
        [notice] = fake_slack.dms_to(ORGANISER)
        assert "question #1" in notice.text
        assert "CBA_QUESTIONS_CHANNEL" in notice.text
        assert QUESTION not in notice.text
        [told] = fake_slack.dms_to(ASKER)
        assert "Your question #1 could not be posted" in told.text
        assert "organisers have been told" in told.text
        assert "sent it to 2 alumni directly" in told.text
        # Nothing is lost: the routed alumni still get the question, with its Answer button.
        for alumni in ("U0JAN", "U0ELENA"):
            [dm] = fake_slack.dms_to(alumni)
            assert "question_answer" in json.dumps(dm.blocks)
        question = the_question(sessions)
        assert (question.message_ts, question.permalink) == (None, None)


class TestRouting:
    def test_dms_five_matching_alumni_least_recently_loaded_then_best_match_first(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
        people: dict,
    ) -> None:
        with sessions.begin() as session:
            make_alumni(session, fake_slack, "U0MARA", "Mara", expertise=["internationalisation"])  # 3
            make_alumni(session, fake_slack, "U0BIO", "Bio", bio="I ran cluster funding calls.")  # 1 + 1
            busy = make_alumni(session, fake_slack, "U0BUSY", "Busy", sectors=["Funding"])  # 2, asked before
            make_alumni(session, fake_slack, "U0SIXTH", "Sixth", bio="A cluster person.")  # 1
            make_alumni(session, fake_slack, "U0NONE", "None", expertise=["tourism"])  # 0
            make_alumni(session, fake_slack, "U0OFF", "Off", expertise=["funding", "cluster"], accepts_questions=False)
            erased = make_alumni(session, fake_slack, "U0GONE", "Gone", expertise=["funding"])
            erased.erased_at = clock.now
            make_person(session, fake_slack, "U0PART", "Part", "participant", expertise=["funding"])
            # The asker is alumni too, with the best profile of all: never asked their own question.
            asker_alumni = make_alumni(
                session, fake_slack, "U0SELF", "Self", expertise=["funding", "cluster", "internationalisation"]
            )
            earlier = Question(
                asker_id=asker_alumni.id, text="An earlier question", created_at=clock.now - timedelta(days=3)
            )
            session.add(earlier)
            session.flush()
            make_routing(session, earlier, busy, at=clock.now - timedelta(days=3))

        ask(slack, "U0SELF", QUESTION)

        with sessions() as session:
            rows = session.execute(
                select(Member.slack_id, QuestionRouting.rank, QuestionRouting.score)
                .join(QuestionRouting, QuestionRouting.member_id == Member.id)
                .where(QuestionRouting.question_id == 2)
                .order_by(QuestionRouting.rank)
            ).all()
        # Load first (SPEC 4.5: fewer routings in 30 days first), then the match. Never asked: Jan,
        # funding+cluster+internationalisation in expertise (9); Elena: funding (3); Mara: 3, after Elena
        # only by id; Bio (2); Sixth (1). Busy (2) was asked 3 days ago: behind all five.
        assert [tuple(r) for r in rows] == [
            ("U0JAN", 1, 9),
            ("U0ELENA", 2, 3),
            ("U0MARA", 3, 3),
            ("U0BIO", 4, 2),
            ("U0SIXTH", 5, 1),
        ]
        dmed = {c.args["channel"] for c in fake_slack.calls_to("chat.postMessage")} - {QUESTIONS_CHANNEL}
        assert dmed == {"U0JAN", "U0ELENA", "U0MARA", "U0BIO", "U0SIXTH", "U0SELF"}
        [posted] = fake_slack.dms_to("U0SELF")  # the asker: the link to their post
        assert "question #2 is posted" in posted.text
        permalink = the_question(sessions, 2).permalink
        assert permalink
        for user in dmed - {"U0SELF"}:
            [dm] = fake_slack.dms_to(user)
            assert "question #2" in json.dumps(dm.blocks)
            assert permalink in json.dumps(dm.blocks)

    def test_the_load_is_spread_among_equally_matching_alumni(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict
    ) -> None:
        with sessions.begin() as session:
            for n in range(7):
                make_alumni(session, fake_slack, f"U0TOUR{n}", f"Tour {n}", expertise=["tourism"])
        ask(slack, ASKER, "Any advice on tourism after the pandemic?")
        ask(slack, OTHER, "Which tourism events are worth attending this year?")
        with sessions() as session:
            first = set(session.scalars(select(QuestionRouting.member_id).where(QuestionRouting.question_id == 1)))
            second = set(session.scalars(select(QuestionRouting.member_id).where(QuestionRouting.question_id == 2)))
        assert len(first) == len(second) == 5
        # Only 7 match equally: the two left out the first time are asked first the second time.
        assert len(first & second) == 3

    def test_nobody_is_asked_when_nothing_matches(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict
    ) -> None:
        answer = ask(slack, ASKER, "Where is the coffee machine in Torino?")
        assert "question #1" in answer.text
        assert "the organisers have been told" in answer.text
        assert count(sessions, QuestionRouting) == 0
        assert {c.args["channel"] for c in fake_slack.calls_to("chat.postMessage")} == {
            QUESTIONS_CHANNEL,
            ORGANISER,
            ASKER,
        }
        [notice] = fake_slack.dms_to(ORGANISER)
        assert "question #1" in notice.text
        assert "matches no alumni" in notice.text
        assert "coffee machine" in json.dumps(notice.blocks)
        assert [m.text for m in fake_slack.dms_to(ASKER)] == [m.text for m in posted_dms(fake_slack)]


class TestThreadAnswers:
    def test_a_thread_reply_is_stored_and_the_asker_told_with_a_link(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict
    ) -> None:
        ask(slack, ASKER, QUESTION)
        question = the_question(sessions)
        event = reply_in_thread(slack, fake_slack, question, "U0JAN", "Try the regional S3 budget.")

        with sessions() as session:
            [stored] = session.scalars(select(Answer)).all()
            assert stored.author is not None
            assert stored.author.slack_id == "U0JAN"
            assert (stored.source, stored.slack_ts, stored.text) == (
                "thread",
                event["ts"],
                "Try the regional S3 budget.",
            )
            assert stored.permalink
            assert event["ts"].replace(".", "") in stored.permalink
        [dm] = answer_dms(fake_slack)
        assert stored.permalink in dm.text
        assert "question #1" in dm.text
        assert "<@U0JAN>" in dm.text
        # Built from the question's link, no chat.getPermalink for the reply.
        assert [c.args["message_ts"] for c in fake_slack.calls_to("chat.getPermalink")] == [question.message_ts]

    def test_slack_retries_and_redeliveries_store_one_answer(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict
    ) -> None:
        ask(slack, ASKER, QUESTION)
        question = the_question(sessions)
        event = reply_in_thread(slack, fake_slack, question, "U0JAN", "An answer", event_id="Ev0RETRY")
        for retry in (1, 2):
            slack.event(event, event_id="Ev0RETRY", retry_num=retry)
        assert count(sessions, Answer) == 1
        # The same message under another event id (Slack sometimes sends one message twice).
        slack.event(event, event_id="Ev0OTHERID")
        assert count(sessions, Answer) == 1
        assert len(answer_dms(fake_slack)) == 1

    @pytest.mark.parametrize(
        "change",
        [
            {"bot_id": "B0001", "user": "UBOT"},
            {"subtype": "message_changed"},
            {"subtype": "message_deleted"},
            {"subtype": "channel_join"},
            {"user": ASKER},
            {"thread_ts": "1.000001"},
            {"channel": "C0ELSEWHERE"},
            {"thread_ts": None},
        ],
    )
    def test_messages_that_are_not_answers_are_ignored(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        people: dict,
        change: dict[str, Any],
    ) -> None:
        ask(slack, ASKER, QUESTION)
        question = the_question(sessions)
        event = {
            "type": "message",
            "channel": QUESTIONS_CHANNEL,
            "user": "U0JAN",
            "text": "not an answer",
            "ts": "1700000999.000100",
            "thread_ts": question.message_ts,
        }
        event.update(change)
        slack.event({k: v for k, v in event.items() if v is not None})
        assert count(sessions, Answer) == 0
        assert answer_dms(fake_slack) == []

    def test_a_reply_from_someone_not_registered_is_not_an_answer_and_stores_nobody(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict
    ) -> None:
        ask(slack, ASKER, QUESTION)
        question = the_question(sessions)
        reply_in_thread(slack, fake_slack, question, "U0STRANGER", "Call me, I sell consulting.")
        assert count(sessions, Answer) == 0
        assert answer_dms(fake_slack) == []
        with sessions() as session:
            assert session.scalar(select(Member.id).where(Member.slack_id == "U0STRANGER")) is None


def open_answer_modal(slack: SlackDriver, fake: FakeSlack, user: str, question_id: int = 1) -> dict[str, Any]:
    before = len(fake.calls_to("views.open"))
    slack.action(user, "question_answer", value=str(question_id), channel_id=QUESTIONS_CHANNEL)
    calls = fake.calls_to("views.open")
    assert len(calls) == before + 1, [c.response for c in calls]
    view: dict[str, Any] = calls[-1].args["view"]
    return view


def answer_values(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    return {"answer": {"text": {"type": "plain_text_input", "value": text}}}


class TestButtonAnswers:
    def test_the_modal_answer_is_stored_posted_in_the_thread_and_the_asker_told(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict
    ) -> None:
        ask(slack, ASKER, QUESTION)
        question = the_question(sessions)
        view = open_answer_modal(slack, fake_slack, "U0ELENA")
        assert view["callback_id"] == "question_answer_submit"
        assert view["title"]["text"] == "Answer question #1"

        response = slack.submit("U0ELENA", view, answer_values("Ask the managing authority for ERDF."))
        assert response.status == 200

        [thread_post] = [m for m in fake_slack.messages_in(QUESTIONS_CHANNEL) if m.thread_ts == question.message_ts]
        assert "Ask the managing authority for ERDF." in thread_post.text
        assert "<@U0ELENA>" in thread_post.text
        with sessions() as session:
            [stored] = session.scalars(select(Answer)).all()
            assert stored.source == "button"
            assert stored.slack_ts == thread_post.ts
            assert stored.permalink
            assert stored.author_id == people["elena"].id
        [dm] = answer_dms(fake_slack)
        assert stored.permalink in dm.text
        # The asker's DM follows the thread post (it carries its link).
        order = [m.ts for m in fake_slack.messages]
        assert order.index(thread_post.ts) < order.index(dm.ts)
        # The bot's own thread post coming back as an event is not a second answer.
        slack.event(
            {
                "type": "message",
                "channel": QUESTIONS_CHANNEL,
                "user": "UBOT",
                "bot_id": "B0001",
                "text": thread_post.text,
                "ts": thread_post.ts,
                "thread_ts": question.message_ts,
            }
        )
        assert count(sessions, Answer) == 1

    def test_when_the_answer_cannot_go_into_the_thread_the_asker_still_gets_it(
        self,
        slack: SlackDriver,
        bot: Bot,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        people: dict,
    ) -> None:
        ask(slack, ASKER, QUESTION)
        question = the_question(sessions)
        view = open_answer_modal(slack, fake_slack, "U0ELENA")
        fake_slack.fail("chat.postMessage", "is_archived", when=lambda a: a.get("thread_ts") == question.message_ts)
        response = slack.submit("U0ELENA", view, answer_values("Ask the managing authority for ERDF."))
        assert response.status == 200
        assert count(sessions, Answer) == 1
        assert answer_dms(fake_slack) == []  # it waits for the thread post, which failed

        tick(bot.deps)
        tick(bot.deps)
        [dm] = answer_dms(fake_slack)
        assert "Ask the managing authority for ERDF." in json.dumps(dm.blocks)
        assert question.permalink
        assert question.permalink in dm.text  # the question's thread, at least

    def test_an_empty_answer_stays_in_the_modal_with_an_error(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict
    ) -> None:
        ask(slack, ASKER, QUESTION)
        view = open_answer_modal(slack, fake_slack, "U0ELENA")
        response = slack.submit("U0ELENA", view, answer_values("  "))
        assert response.json["response_action"] == "errors"
        assert "answer" in response.json["errors"]
        assert count(sessions, Answer) == 0

    def test_the_asker_cannot_answer_their_own_question(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict
    ) -> None:
        ask(slack, ASKER, QUESTION)
        slack.action(ASKER, "question_answer", value="1", channel_id=QUESTIONS_CHANNEL)
        assert fake_slack.calls_to("views.open") == []
        [told] = fake_slack.calls_to("response_url")
        assert "You asked question #1" in told.args["text"]


class TestResolve:
    def test_the_asker_resolves_and_the_channel_message_shows_it(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict, clock: Clock
    ) -> None:
        ask(slack, ASKER, QUESTION)
        answer = ask(slack, ASKER, "resolve 1")
        assert answer.text == ":white_check_mark: question #1 is marked resolved."
        question = the_question(sessions)
        assert (question.status, question.resolved_at) == ("resolved", clock.now)
        [update] = fake_slack.calls_to("chat.update")
        assert (update.args["channel"], update.args["ts"]) == (QUESTIONS_CHANNEL, question.message_ts)
        [post] = channel_posts(fake_slack)
        assert "resolved" in json.dumps(post.blocks)
        assert "question_resolve" not in json.dumps(post.blocks)
        assert nudge_statuses(sessions) == ["cancelled", "cancelled"]
        again = ask(slack, ASKER, "resolve 1")
        assert "already resolved" in again.text

    def test_resolved_before_its_post_went_out_the_post_shows_it_resolved(
        self,
        slack: SlackDriver,
        bot: Bot,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        people: dict,
        clock: Clock,
    ) -> None:
        fake_slack.rate_limit("chat.postMessage", times=1, retry_after=5)
        ask(slack, ASKER, QUESTION)
        assert channel_posts(fake_slack) == []
        answer = ask(slack, ASKER, "resolve 1")
        assert answer.text == ":white_check_mark: question #1 is marked resolved."

        tick_until(bot, clock, lambda: bool(channel_posts(fake_slack)))
        for _ in range(3):
            clock.advance(timedelta(seconds=5))
            tick(bot.deps)
        [post] = channel_posts(fake_slack)
        assert "resolved" in json.dumps(post.blocks)
        assert "question_resolve" not in json.dumps(post.blocks)
        updates = fake_slack.calls_to("chat.update")
        assert updates, "the update queued with the resolve is not lost"
        assert {(c.args["channel"], c.args["ts"]) for c in updates} == {(QUESTIONS_CHANNEL, post.ts)}

    def test_the_asker_resolves_with_the_button(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict
    ) -> None:
        ask(slack, ASKER, QUESTION)
        slack.action(ASKER, "question_resolve", value="1", channel_id=QUESTIONS_CHANNEL)
        [told] = fake_slack.calls_to("response_url")
        assert "question #1 is marked resolved" in told.args["text"]
        assert the_question(sessions).status == "resolved"
        assert len(fake_slack.calls_to("chat.update")) == 1

    @pytest.mark.parametrize("who", [OTHER, "U0JAN"])
    def test_others_are_refused_naming_the_role(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict, who: str
    ) -> None:
        ask(slack, ASKER, QUESTION)
        answer = ask(slack, who, "resolve 1")
        assert "You need to be an organiser to resolve question #1" in answer.text
        slack.action(who, "question_resolve", value="1", channel_id=QUESTIONS_CHANNEL)
        [told] = fake_slack.calls_to("response_url")
        assert "organiser" in told.args["text"]
        assert the_question(sessions).status == "open"
        assert fake_slack.calls_to("chat.update") == []

    def test_an_organiser_may_resolve(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict
    ) -> None:
        ask(slack, ASKER, QUESTION)
        assert "marked resolved" in ask(slack, ORGANISER, "resolve #1").text
        assert the_question(sessions).status == "resolved"


def shown_in_order(body: str) -> list[int]:
    """The question numbers a page shows, in the order shown."""
    return [int(n) for n in re.findall(r"\*question #(\d+)\*", body)]


class TestListAndSearch:
    def test_list_shows_open_questions_only(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict
    ) -> None:
        ask(slack, ASKER, QUESTION)
        ask(slack, OTHER, "Which tourism events are worth attending?")
        ask(slack, OTHER, "resolve 2")
        answer = ask(slack, "U0JAN", "list")
        assert answer.json["response_type"] == "ephemeral"
        body = json.dumps(answer.json["blocks"])
        assert "question #1" in body
        assert "question #2" not in body
        assert "Open questions (1)" in answer.text

    def test_search_finds_past_questions_with_their_answers_page_by_page(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        people: dict,
        clock: Clock,
    ) -> None:
        for n in range(7):
            ask(slack, ASKER, f"Question {n} about funding our cluster?")
            clock.advance(timedelta(minutes=1))
        ask(slack, ASKER, "Something unrelated to money at all")
        reply_in_thread(slack, fake_slack, the_question(sessions, 7), "U0JAN", "Answer on funded projects")
        ask(slack, ASKER, "resolve 6")

        first = ask(slack, OTHER, "search FUNDING")
        body = json.dumps(first.json["blocks"])
        assert shown_in_order(body) == [7, 6, 5, 4, 3]  # newest first, resolved ones included
        assert "Answer on funded projects" in body
        assert "<@U0JAN>" in body
        assert "Page 1 of 2" in body
        assert "question #8" not in body
        nav = [b for b in first.json["blocks"] if b.get("block_id") == "questions-pages"]
        [next_button] = nav[0]["elements"]
        assert next_button["text"]["text"] == "Next"

        slack.action(OTHER, next_button["action_id"], value=next_button["value"])
        [page_two] = fake_slack.calls_to("response_url")
        body_two = json.dumps(page_two.args["blocks"])
        assert shown_in_order(body_two) == [2, 1]
        assert "Page 2 of 2" in body_two
        assert page_two.args["replace_original"] in (True, "true")
        [previous] = [b for b in page_two.args["blocks"] if b.get("block_id") == "questions-pages"][0]["elements"]
        assert previous["text"]["text"] == "Previous"

    def test_search_without_a_match_says_so(self, slack: SlackDriver, people: dict) -> None:
        ask(slack, ASKER, QUESTION)
        assert "No past question matches" in ask(slack, OTHER, "search blockchain").text


def nudge_dms(fake: FakeSlack, user: str) -> list[Message]:
    return [m for m in fake.dms_to(user) if "still has no answer" in m.text]


class TestNudge:
    def _nudge(self, sessions: sessionmaker[Session], now: Any, to: str = "U0JAN") -> Outgoing | Skip:
        with sessions.begin() as session:
            reminder = session.scalars(
                select(Reminder).where(Reminder.kind == "question_nudge", Reminder.recipient == to)
            ).one()
            return render_nudge(session, reminder, now, ZoneInfo("Europe/Brussels"))

    def test_an_unanswered_question_is_brought_to_each_routed_alumnus_by_dm_once(
        self,
        slack: SlackDriver,
        bot: Bot,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        people: dict,
        clock: Clock,
    ) -> None:
        ask(slack, ASKER, QUESTION)
        clock.advance(timedelta(hours=48))
        first = self._nudge(sessions, clock.now)
        assert isinstance(first, Outgoing)
        assert "question #1" in first.text
        assert the_question(sessions).permalink in json.dumps(first.blocks)  # with the link
        assert not the_question(sessions).nudged  # rendering changes nothing: it may run again

        tick(bot.deps)
        for alumnus in ("U0JAN", "U0ELENA"):
            [nudge] = nudge_dms(fake_slack, alumnus)
            assert "question #1" in nudge.text
            assert "question_answer" in json.dumps(nudge.blocks)
            # It names nobody but the asker: not the other alumni asked.
            assert not {"U0JAN", "U0ELENA"} - {alumnus} & set(re.findall(r"<@(\w+)>", json.dumps(nudge.blocks)))
        assert [m for m in channel_posts(fake_slack) if "still has no answer" in m.text] == []
        assert nudge_dms(fake_slack, OTHER) == []
        assert the_question(sessions).nudged  # marked with the delivery
        clock.advance(timedelta(hours=48))
        tick(bot.deps)
        tick(bot.deps)
        assert [len(nudge_dms(fake_slack, a)) for a in ("U0JAN", "U0ELENA")] == [1, 1]
        assert nudge_statuses(sessions) == ["sent", "sent"]

    def test_a_failed_nudge_is_retried_and_sent_once(
        self,
        slack: SlackDriver,
        bot: Bot,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        people: dict,
        clock: Clock,
    ) -> None:
        with sessions.begin() as session:  # one routed alumnus only
            session.scalars(select(Member).where(Member.slack_id == "U0ELENA")).one().accepts_questions = False
        ask(slack, ASKER, QUESTION)
        clock.advance(timedelta(hours=48))
        jan = fake_slack.dm_channel("U0JAN")
        fake_slack.fail(
            "chat.postMessage",
            "internal_error",
            status=500,
            times=1,
            when=lambda a: a.get("channel") in ("U0JAN", jan),
        )
        tick(bot.deps)
        assert nudge_dms(fake_slack, "U0JAN") == []
        assert not the_question(sessions).nudged
        assert nudge_statuses(sessions) == ["pending"]  # to be retried, not lost

        tick_until(bot, clock, lambda: bool(nudge_dms(fake_slack, "U0JAN")), step=timedelta(seconds=10))
        assert the_question(sessions).nudged
        assert nudge_statuses(sessions) == ["sent"]
        for _ in range(3):
            clock.advance(timedelta(hours=1))
            tick(bot.deps)
        assert len(nudge_dms(fake_slack, "U0JAN")) == 1
        tries = [c for c in fake_slack.calls_to("chat.postMessage") if "still has no answer" in str(c.args.get("text"))]
        assert len(tries) == 2  # the failed one and the one delivered

    def test_hidden_alumni_are_nudged_by_dm_and_nothing_is_posted_in_the_channel(
        self, slack: SlackDriver, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        fake_slack.add_channel(QUESTIONS_CHANNEL, "ask-alumni")
        with sessions.begin() as session:
            make_person(session, fake_slack, ASKER, ASKER_NAME, "participant")
            shown = make_alumni(session, fake_slack, "U0SHOWN", "Sofia Shown", expertise=["funding"])
            make_alumni(session, fake_slack, "U0HIDDEN", "Hugo Hidden", expertise=["funding"])
            shown.visible = True
        assert "asking 2 alumni" in ask(slack, ASKER, QUESTION).text  # a hidden alumnus is still asked by DM
        clock.advance(timedelta(hours=48))
        tick(bot.deps)

        assert len(nudge_dms(fake_slack, "U0HIDDEN")) == len(nudge_dms(fake_slack, "U0SHOWN")) == 1
        assert "U0HIDDEN" not in json.dumps([m.blocks for m in nudge_dms(fake_slack, "U0SHOWN")])
        assert not any(
            "U0HIDDEN" in dumped(call) or "still has no answer" in dumped(call)
            for call in fake_slack.calls_to("chat.postMessage")
            if call.args.get("channel") == QUESTIONS_CHANNEL
        )

    def test_an_alumnus_who_stopped_accepting_questions_is_not_nudged(
        self,
        slack: SlackDriver,
        bot: Bot,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        people: dict,
        clock: Clock,
    ) -> None:
        ask(slack, ASKER, QUESTION)
        with sessions.begin() as session:
            session.scalars(select(Member).where(Member.slack_id == "U0ELENA")).one().accepts_questions = False
        clock.advance(timedelta(hours=48))
        tick(bot.deps)
        assert (len(nudge_dms(fake_slack, "U0JAN")), len(nudge_dms(fake_slack, "U0ELENA"))) == (1, 0)
        assert sorted(nudge_statuses(sessions)) == ["sent", "skipped"]

    def test_an_answered_question_is_not_brought_up(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict, clock: Clock
    ) -> None:
        ask(slack, ASKER, QUESTION)
        reply_in_thread(slack, fake_slack, the_question(sessions), "U0JAN", "Here is how.")
        clock.advance(timedelta(hours=48))
        # Answering cancels the planned nudges; the renderer would skip them anyway.
        assert nudge_statuses(sessions) == ["cancelled", "cancelled"]
        assert isinstance(self._nudge(sessions, clock.now), Skip)
        assert not the_question(sessions).nudged

    def test_a_resolved_question_is_not_brought_up(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict, clock: Clock
    ) -> None:
        ask(slack, ASKER, QUESTION)
        ask(slack, ASKER, "resolve 1")
        clock.advance(timedelta(hours=48))
        assert isinstance(self._nudge(sessions, clock.now), Skip)


def _calls_not_to_the_asker(fake: FakeSlack, asker: str) -> Iterator[Call]:
    """Every Slack call except the asker's own DMs (they are told of answers to their question) and Home."""
    for call in fake.calls:
        if call.method == "chat.postMessage" and call.args.get("channel") in (asker, "D" + asker):
            continue
        if call.method == "views.publish" and call.args.get("user_id") == asker:
            continue
        yield call


class TestAnonymous:
    def test_the_asker_is_never_revealed_except_to_organisers(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict
    ) -> None:
        answer = ask(slack, ASKER, "anon " + QUESTION)
        assert "question #1" in answer.text
        assert "not shown" in answer.text
        question = the_question(sessions)
        assert question.anonymous
        assert question.asker_id == people["asker"].id

        reply_in_thread(slack, fake_slack, question, "U0JAN", "Funding answer in the thread")
        view = open_answer_modal(slack, fake_slack, "U0ELENA")
        slack.submit("U0ELENA", view, answer_values("Funding answer from the modal"))
        # One nobody matches: the organisers' notice does not name the asker either.
        ask(slack, ASKER, "anon Where is the coffee machine in Torino?")
        assert any("question #2" in m.text for m in fake_slack.dms_to(ORGANISER))
        seen_by_others = [
            ask(slack, OTHER, "list"),
            ask(slack, "U0JAN", "search funding"),
        ]
        with sessions() as session:
            exporter = build_registry().exporters.get("questions")
            assert exporter is not None
            export = to_csv(exporter(session, None))

        # The asker did get their DMs…
        assert len(answer_dms(fake_slack)) == 2
        assert len(posted_dms(fake_slack)) == 2
        # …and nothing else anyone sees names them (the routed alumni's Home tabs list the question too).
        assert fake_slack.calls_to("chat.postMessage")
        assert {call.args["user_id"] for call in fake_slack.calls_to("views.publish")} > {ASKER}
        for call in _calls_not_to_the_asker(fake_slack, ASKER):
            assert ASKER not in dumped(call), call.method
            assert "Paula" not in dumped(call), call.method
        for reply in seen_by_others:
            assert ASKER not in reply.body
            assert "Paula" not in reply.body
            assert "anonymous" in reply.body
        assert "anonymous" in export
        assert ASKER not in export
        assert "Paula" not in export

        # Organisers may see who asked.
        organiser_view = ask(slack, ORGANISER, "list")
        assert f"<@{ASKER}> (anonymous to others)" in organiser_view.body


class TestEscaping:
    def test_question_and_answer_markup_is_shown_as_text_everywhere(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], people: dict, clock: Clock
    ) -> None:
        with sessions.begin() as session:
            make_alumni(session, fake_slack, "U0REACH", "Reach", expertise=["channel", "everyone"])
        ask(slack, ASKER, NASTY)
        question = the_question(sessions)
        reply_in_thread(slack, fake_slack, question, "U0JAN", "Answer: " + NASTY)
        view = open_answer_modal(slack, fake_slack, "U0ELENA")
        slack.submit("U0ELENA", view, answer_values("Modal: " + NASTY))
        replies = [ask(slack, OTHER, "list"), ask(slack, OTHER, "search reach")]
        clock.advance(timedelta(hours=48))
        with sessions.begin() as session:
            question_row = session.get(Question, 1)
            assert question_row is not None
            question_row.answers.clear()  # unanswered again, to see the nudge's text
            question_row.answered_at = None
        nudge = TestNudge()._nudge(sessions, clock.now, to="U0REACH")
        assert isinstance(nudge, Outgoing)

        assert fake_slack.dms_to("U0REACH"), "the alumni DM is part of what is checked"
        shown_by_bot = [dumped(c) for c in fake_slack.calls if c.method != "chat.getPermalink"]
        shown_by_bot += [r.body for r in replies] + [json.dumps(view), nudge.text, json.dumps(nudge.blocks)]
        for text in shown_by_bot:
            for markup in RAW_MARKUP:
                assert markup not in text
        [post] = channel_posts(fake_slack)
        assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;http://x|y&gt;" in json.dumps(post.blocks)
        assert "&lt;!channel&gt;" in json.dumps(answer_dms(fake_slack)[0].blocks)
        assert "&lt;!channel&gt;" in replies[1].body


class TestOddInput:
    @pytest.mark.parametrize(
        "text",
        [
            "anon anon anon anon anon",
            "search %_\\'\"",
            "search <!channel>",
            "resolve #999999999",
            "resolve 0",
            "list list",
            "\u0000\u200b\U0001f600 emoji question?",
            "'unbalanced \"quotes here",
            "search " + "ü" * 150,
        ],
    )
    def test_never_an_unhandled_error(self, slack: SlackDriver, people: dict, text: str) -> None:
        answer = ask(slack, OTHER, text)
        assert answer.status == 200
        assert answer.json["response_type"] == "ephemeral"
        assert "something went wrong" not in answer.text
