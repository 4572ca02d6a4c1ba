"""Rules of ask-alumni on a real database: ranking, answers, search, export, demo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.demo import load_demo
from bot.features import build_registry
from commands.common.actors import Actor
from commands.common.csv_text import to_csv
from commands.questions import service
from storage.models import Answer, Member, Question, QuestionRouting
from tests.factories_questions import make_alumni, make_answer, make_person, make_question, make_routing

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Brussels")


def actor(member: Member, *roles: str) -> Actor:
    return Actor(member=member, roles=frozenset(roles))


class TestRank:
    def test_equal_scores_go_to_the_least_often_then_least_recently_asked(self, session: Session) -> None:
        asker = make_person(session, None, "U0ASK", "Asker", "participant")
        often = make_alumni(session, None, "U0OFTEN", "Often", expertise=["energy"])
        recent = make_alumni(session, None, "U0RECENT", "Recent", expertise=["energy"])
        long_ago = make_alumni(session, None, "U0LONG", "Long ago", expertise=["energy"])
        fresh = make_alumni(session, None, "U0FRESH", "Fresh", expertise=["energy"])
        old = make_question(session, asker, "old question", created_at=NOW - timedelta(days=9))
        older = make_question(session, asker, "older question", created_at=NOW - timedelta(days=10))
        make_routing(session, old, often, at=NOW - timedelta(days=9))
        make_routing(session, older, often, at=NOW - timedelta(days=10))
        make_routing(session, old, recent, at=NOW - timedelta(days=1))
        make_routing(session, older, long_ago, at=NOW - timedelta(days=8))

        question = service.ask(session, actor(asker), "Energy clusters?", anonymous=False, now=NOW, channel_id="C1")
        ranked = service.rank(service.candidates(session, question, ZONE))
        assert [c.member.id for c in ranked] == [fresh.id, long_ago.id, recent.id, often.id]

    def test_at_most_five_and_a_lighter_load_beats_a_better_match(self, session: Session) -> None:
        """SPEC 4.5: load spread first ("fewer recent routings first"); the match orders equal loads."""
        asker = make_person(session, None, "U0ASK", "Asker", "participant")
        bio_only = [make_alumni(session, None, f"U0A{n}", f"A{n}", bio="energy") for n in range(4)]
        busy_expert = make_alumni(session, None, "U0EXP", "Expert", expertise=["energy"])
        idle_expert = make_alumni(session, None, "U0IDLE", "Idle expert", expertise=["energy"])
        earlier = make_question(session, asker, "earlier", created_at=NOW - timedelta(days=1))
        make_routing(session, earlier, busy_expert, at=NOW - timedelta(hours=1))
        question = service.ask(session, actor(asker), "Energy transition?", anonymous=False, now=NOW, channel_id="C1")
        rows = service.route(session, question, NOW, ZONE)
        assert len(rows) == 5
        assert [r.member_id for r in rows] == [idle_expert.id, *(m.id for m in bio_only)]
        assert [r.rank for r in rows] == [1, 2, 3, 4, 5]

    def test_routings_older_than_30_days_do_not_count(self, session: Session) -> None:
        asker = make_person(session, None, "U0ASK", "Asker", "participant")
        veteran = make_alumni(session, None, "U0VET", "Veteran", expertise=["energy"])
        newcomer = make_alumni(session, None, "U0NEW", "Newcomer", expertise=["energy"])
        for days in (31, 40, 45, 50, 60):
            old = make_question(session, asker, f"old {days}", created_at=NOW - timedelta(days=days))
            make_routing(session, old, veteran, at=NOW - timedelta(days=days))
        recent = make_question(session, asker, "recent", created_at=NOW - timedelta(days=29))
        make_routing(session, recent, newcomer, at=NOW - timedelta(days=29))
        question = service.ask(session, actor(asker), "Energy transition?", anonymous=False, now=NOW, channel_id="C1")
        ranked = service.rank(service.candidates(session, question, ZONE))
        assert [(c.member.id, c.times_asked) for c in ranked] == [(veteran.id, 0), (newcomer.id, 1)]


class TestAnswers:
    def test_the_same_slack_message_is_stored_once(self, session: Session) -> None:
        asker = make_person(session, None, "U0ASK", "Asker", "participant")
        alumni = make_alumni(session, None, "U0AL", "Alumni")
        question = make_question(session, asker, "A question here", created_at=NOW, message_ts="1.1")
        first = service.add_answer(
            session, question, alumni, "yes", answering=True, source="thread", now=NOW, slack_ts="1.2"
        )
        again = service.add_answer(
            session, question, alumni, "yes", answering=True, source="thread", now=NOW, slack_ts="1.2"
        )
        assert first is not None
        assert again is None
        assert session.scalar(select(func.count()).select_from(Answer)) == 1


class TestSearch:
    def test_matches_question_or_answer_text_with_every_word(self, session: Session) -> None:
        asker = make_person(session, None, "U0ASK", "Asker", "participant")
        a = make_question(session, asker, "Funding for energy clusters", created_at=NOW)
        b = make_question(session, asker, "Board meetings", created_at=NOW + timedelta(minutes=1))
        make_answer(session, b, None, "We funded the board's energy budget", at=NOW)
        make_question(session, asker, "Energy only", created_at=NOW + timedelta(minutes=2))
        page = service.search(session, "funding energy")
        assert [q.id for q in page.questions] == [b.id, a.id]
        assert page.total == 2

    def test_like_wildcards_typed_by_users_are_literal(self, session: Session) -> None:
        asker = make_person(session, None, "U0ASK", "Asker", "participant")
        make_question(session, asker, "Funding", created_at=NOW)
        assert service.search(session, "%").total == 0
        assert service.search(session, "_").total == 0


class TestExportAndDemo:
    def test_export_names_askers_except_anonymous_ones(self, session: Session) -> None:
        asker = make_person(session, None, "U0ASK", "Paula Private", "participant", email="paula@example.org")
        make_question(session, asker, "Named question", created_at=NOW)
        make_question(session, asker, "Anonymous question", created_at=NOW, anonymous=True)
        exporter = build_registry().exporters.get("questions")
        assert exporter is not None
        lines = to_csv(exporter(session, None)).splitlines()
        assert lines[0].startswith("question,asked_at,asker")
        assert "Paula Private" in lines[1]
        assert "anonymous" in lines[2]
        assert "Paula" not in lines[2]
        assert "paula@" not in lines[2]

    def test_demo_has_an_answered_question_and_an_escalated_one_and_is_idempotent(self, session: Session) -> None:
        load_demo(session, NOW, build_registry())
        load_demo(session, NOW, build_registry())
        answered, escalated = session.scalars(select(Question).order_by(Question.id)).all()
        assert [a.answering for a in answered.answers] == [True]
        assert answered.answered_at is not None
        assert answered.escalated_at is None
        # Only a participant's "+1" under it: still unanswered, nudged and escalated.
        assert [a.answering for a in escalated.answers] == [False]
        assert escalated.answered_at is None
        assert escalated.nudged
        assert escalated.escalated_at == NOW - timedelta(days=1)
        assert (
            len(session.scalars(select(QuestionRouting).where(QuestionRouting.question_id == escalated.id)).all()) == 2
        )


class TestHomeHelpers:
    def test_open_questions_matching_an_alumni_profile(self, session: Session) -> None:
        asker = make_person(session, None, "U0ASK", "Asker", "participant")
        alumni = make_alumni(session, None, "U0AL", "Alumni", expertise=["energy"], bio="funding")
        both = make_question(session, asker, "Energy funding?", created_at=NOW)
        one = make_question(session, asker, "Energy audits?", created_at=NOW + timedelta(minutes=1))
        make_question(session, asker, "Energy done", created_at=NOW, status="resolved")
        make_question(session, asker, "Tourism?", created_at=NOW)
        make_question(session, alumni, "My own energy question", created_at=NOW)
        assert [q.id for q in service.open_questions_matching(session, alumni)] == [both.id, one.id]
