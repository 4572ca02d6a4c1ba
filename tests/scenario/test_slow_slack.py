"""A slow Slack never slows the answers: what users do is acknowledged from the database alone,
and what the bot says to others waits in the outbox, not in a request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.console.driver import Dispatched, SlackDriver
from bot.console.fakeslack import FakeSlack
from storage.models import CoachingBooking, Member, Question
from tests.conftest import Clock
from tests.factories import make_member
from tests.factories_coaching import COACH, PARTICIPANTS, make_slot, seed_people

ASKER = PARTICIPANTS[0]
ALUMNUS = "U0ALUMNUS1"
HANG_SECONDS = 6.0


def _timed(send: Callable[[], Dispatched]) -> tuple[float, Dispatched]:
    started = time.monotonic()
    answer = send()
    return time.monotonic() - started, answer


class TestAHangingPost:
    def test_others_are_answered_at_once_while_a_question_post_hangs(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        with sessions.begin() as session:
            people = seed_people(session, fake_slack)
            make_member(session, ALUMNUS, "Alma Alumna", "alumni", expertise=["funding"])
            slots = [make_slot(session, people[COACH], clock.now + timedelta(days=3, hours=i)) for i in range(2)]
            slot_ids = [slot.id for slot in slots]
        fake_slack.add_channel("C0QUESTIONS", "ask-alumni", members=["UBOT"])
        fake_slack.delay("chat.postMessage", HANG_SECONDS)

        # The question: acknowledged with its number before its post (which hangs) has even started.
        ask_time, ask_answer = _timed(
            lambda: slack.command(ASKER, "/cba-ask", "How do you find funding for a cluster?", wait=False)
        )
        assert ask_answer.status == 200
        assert "question #1" in ask_answer.text
        assert ask_time < 3.0

        # While the courier waits on Slack, others are answered from the database at once.
        timings: dict[str, float] = {}
        answers: dict[str, Dispatched] = {}

        def run(name: str, user: str, command: str, text: str) -> None:
            timings[name], answers[name] = _timed(lambda: slack.command(user, command, text, wait=False))

        threads = [
            threading.Thread(target=run, args=("profile", PARTICIPANTS[1], "/cba-profile", "set region Piemonte")),
            threading.Thread(target=run, args=("book", PARTICIPANTS[2], "/cba-book", str(slot_ids[0]))),
            threading.Thread(target=run, args=("profile-2", COACH, "/cba-profile", "set region Bayern")),
        ]
        time.sleep(0.3)  # the post is now under way
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert set(timings) == {"profile", "book", "profile-2"}
        assert all(seconds < 1.5 for seconds in timings.values()), timings
        assert "region" in answers["profile"].text
        assert "booking #" in answers["book"].text

        # And nothing was lost: the question reaches the channel once, the booking is stored.
        fake_slack.delay("chat.postMessage", 0)  # Slack recovers; the post in flight still takes its time
        slack.settle(timeout=30)
        posts = [m for m in fake_slack.messages_in("C0QUESTIONS") if "funding" in m.text]
        assert len(posts) == 1
        with sessions() as session:
            assert session.scalar(select(Question.message_ts)) is not None
            booking = session.scalars(select(CoachingBooking)).one()
            assert booking.slot_id == slot_ids[0]
            assert session.scalar(select(Member.region).where(Member.slack_id == PARTICIPANTS[1])) == "Piemonte"
