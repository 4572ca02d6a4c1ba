"""`/cba-profile export` and `/cba-profile delete` across every feature (SPEC 4.2), through signed requests.

One participant with a profile, a question, an answer, two homework versions with feedback, an RSVP
decline with a reason, a check-in and a future booking, all made through the real commands, buttons and
forms: the export file holds each of them; after the erasure (the real command and its confirmation
button) no column of any table, no `cba-bot export` kind and no later Slack call carries her name,
e-mail, Slack ID or any of her texts; the coach was told of the cancelled booking and the channel post
of her question was edited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot
from bot.console.driver import SlackDriver
from bot.console.fakeslack import Call, FakeSlack
from bot.kernel.settings import Settings
from bot.roster_cli import export_csv
from commands.members import views as member_views
from storage.models import (
    Base,
    CheckIn,
    CoachingBooking,
    CoachingSlot,
    CoachingWaitlistEntry,
    Feedback,
    Question,
    QuestionRouting,
    Rsvp,
    Submission,
)
from tests.conftest import ORGANISER, Clock
from tests.factories import make_cohort
from tests.factories_coaching import make_slot
from tests.factories_events import make_event
from tests.factories_homework import make_assignment
from tests.factories_members import make_profile
from tests.factories_questions import QUESTIONS_CHANNEL, make_alumni, make_person

MARISOL = "U0MARISOL"
NAME = "Marisol Quintana-Vell"
EMAIL = "marisol.qv@example.org"
COACH = "U0COACHKIM"
ALUMNA = "U0ALUMNA"
ASKER = "U0ASKER"
COHORT_CHANNEL = "C0COHORT3"

QUESTION = "Which regional agencies co-finance an export mission of cluster members to Chile?"
ANSWER = "Our Basque cluster used the Interreg Atlantic call; start with the joint secretariat."
VERSION_1 = "First draft: three service lines for SMEs in the lagoon region, priced per member."
VERSION_2 = "Second draft with the membership fee model reworked after the peer review session."
LINK = "https://docs.example.com/marisol-action-plan-v2"
FEEDBACK = "Strong fee model; the lagoon region pilot needs a named partner before March."
REASON = "Hospital appointment for my knee surgery follow-up that morning."
BIO = "Manages the Venetian lagoon boat builders' network since 2019."


@dataclass
class World:
    member_id: int
    question_id: int
    question_ts: str
    answer_ts: str
    booking_id: int

    @staticmethod
    def needles() -> list[str]:
        return [NAME, EMAIL, MARISOL, QUESTION, ANSWER, VERSION_1, VERSION_2, LINK, FEEDBACK, REASON, BIO]


def _texts(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def carried(haystack: str, needles: list[str]) -> list[str]:
    """Which needles occur in a text (case-insensitive), as typed, escaped or JSON-escaped."""
    lowered = haystack.lower()
    found = []
    for needle in needles:
        forms = {needle, _escaped(needle), json.dumps(needle)[1:-1], json.dumps(_escaped(needle))[1:-1]}
        if any(form.lower() in lowered for form in forms):
            found.append(needle)
    return found


def every_cell(session: Session) -> list[tuple[str, str, Any]]:
    """Every value of every column of every table (nothing left out: answers, processed events…)."""
    session.expire_all()
    cells = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)).mappings():
            cells += [(table.name, column, value) for column, value in row.items()]
    session.rollback()
    return cells


@pytest.fixture
def world(slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock, bot: Bot) -> World:
    fake_slack.add_channel(QUESTIONS_CHANNEL, "ask-alumni")
    fake_slack.add_channel(COHORT_CHANNEL, "cba3")
    now = clock.now
    with sessions.begin() as session:
        cohort = make_cohort(session, "CBA3", channel=COHORT_CHANNEL)
        marisol = make_profile(
            session,
            MARISOL,
            NAME,
            "participant",
            cohort=cohort,
            email=EMAIL,
            organisation="Lagoon Boatbuilders Network",
            country="IT",
            bio=BIO,
        )
        coach = make_person(
            session, fake_slack, COACH, "Kim Coachwell", "coach", cohort=cohort, email="kim@example.org"
        )
        make_alumni(session, fake_slack, ALUMNA, "Ines Alumna", expertise=["export mission", "co-finance", "Chile"])
        make_person(session, fake_slack, ASKER, "Asha Asker", "participant", cohort=cohort)
        assignment = make_assignment(session, cohort, now + timedelta(days=10), title="Service portfolio")
        declined = make_event(session, cohort, now + timedelta(days=5), title="Funding day", now=now)
        attended = make_event(session, cohort, now - timedelta(days=2), title="Kick-off", now=now, plan=False)
        session.add(CheckIn(event_id=attended.id, member_id=marisol.id, checked_in_at=attended.starts_at))
        slot = make_slot(session, coach, now + timedelta(days=3), url="https://meet.example.com/kim")
        ids = (marisol.id, assignment.id, declined.id, slot.id)
    fake_slack.add_user(MARISOL, NAME, email=EMAIL)
    marisol_id, assignment_id, event_id, slot_id = ids

    # Her question, posted to the channel and routed to the alumna.
    assert "question #1" in slack.command(MARISOL, "/cba-ask", QUESTION).text
    slack.settle()
    # Someone else's question, which she answers through the modal (the bot posts it in the thread).
    slack.command(ASKER, "/cba-ask", "How did you price services for members in the first year?")
    slack.settle()
    slack.action(MARISOL, "question_answer", value="2", channel_id=QUESTIONS_CHANNEL)
    view = fake_slack.calls_to("views.open")[-1].args["view"]
    assert (
        slack.submit(MARISOL, view, {"answer": {"text": {"type": "plain_text_input", "value": ANSWER}}}).status == 200
    )
    slack.settle()
    # Two homework versions, and the coach's feedback on the second.
    slack.command(MARISOL, "/cba-homework", f"submit {assignment_id} {VERSION_1}")
    slack.command(MARISOL, "/cba-homework", f"submit {assignment_id} {VERSION_2} {LINK}")
    review = slack.command(COACH, "/cba-homework", f"review 2 {FEEDBACK}")
    assert "submission #2" in review.text, review.text
    # A decline with a reason, through the button and its form.
    slack.action(MARISOL, "event_rsvp_no", value=str(event_id), channel_id=fake_slack.dm_channel(MARISOL))
    view = fake_slack.calls_to("views.open")[-1].args["view"]
    slack.submit(MARISOL, view, {"reason": {"reason": {"type": "plain_text_input", "value": REASON}}})
    # A future booking (the coach gets a DM and the calendar file).
    assert "booking #1" in slack.command(MARISOL, "/cba-book", str(slot_id)).text
    # And she waits for another session (any coach).
    assert "You joined the waitlist" in slack.command(MARISOL, "/cba-book", "waitlist").text
    slack.settle()

    with sessions() as check:
        question = check.get(Question, 1)
        answer_ts = check.scalars(select(Question).where(Question.id == 2)).one().answers[0].slack_ts
        assert question is not None
        assert question.message_ts
        assert answer_ts
        assert check.scalars(select(Submission.version).order_by(Submission.id)).all() == [1, 2]
        assert check.scalars(select(Feedback.text)).all() == [FEEDBACK]
        assert check.scalars(select(Rsvp.reason)).all() == [REASON]
        booking = check.scalars(select(CoachingBooking)).one()
        return World(marisol_id, question.id, question.message_ts, answer_ts, booking.id)


def _export(slack: SlackDriver, fake_slack: FakeSlack) -> dict[str, Any]:
    slack.command(MARISOL, "/cba-profile", "export")
    slack.settle()
    files = [f for f in fake_slack.files if f.filename == "cba-profile-export.json"]
    assert len(files) == 1
    assert files[0].channel_id == fake_slack.dm_channel(MARISOL)
    data: dict[str, Any] = json.loads(files[0].content)
    return data


class TestExport:
    def test_the_file_holds_every_item_of_every_feature(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: World
    ) -> None:
        data = _export(slack, fake_slack)
        assert data["profile"]["name"] == NAME
        assert data["profile"]["email"] == EMAIL
        assert data["profile"]["bio"] == BIO
        assert [role["role"] for role in data["roles"]] == ["participant"]
        asked = data["questions"]["questions_asked"]
        assert [(q["question"], q["text"], q["anonymous"]) for q in asked] == [(1, QUESTION, False)]
        assert [(a["question"], a["text"]) for a in data["questions"]["answers_given"]] == [(2, ANSWER)]
        submissions = data["homework"]["submissions"]
        assert [(s["version"], s["text"], s["link"]) for s in submissions] == [
            (1, VERSION_1, None),
            (2, f"{VERSION_2} {LINK}", LINK),
        ]
        assert submissions[0]["feedback"] == []
        assert [(f["by"], f["text"]) for f in submissions[1]["feedback"]] == [("Kim Coachwell", FEEDBACK)]
        rsvps = data["events"]["rsvps"]
        assert [(r["title"], r["answer"], r["reason"]) for r in rsvps] == [("Funding day", "no", REASON)]
        assert [c["title"] for c in data["events"]["check_ins"]] == ["Kick-off"]
        bookings = data["coaching"]["bookings"]
        assert [(b["booking"], b["coach"], b["status"]) for b in bookings] == [
            (world.booking_id, "Kim Coachwell", "active")
        ]
        assert [(w["coach"], w["status"]) for w in data["coaching"]["waitlist"]] == [("any coach", "waiting")]
        assert data["coaching"]["waitlist_offers"] == []
        # What was sent to her (the outbox) and what the audit log says about her.
        messages = data["messages"]
        assert any(FEEDBACK in (m["text"] or "") for m in messages)
        assert any("booking #1" in (m["text"] or "") for m in messages)
        assert isinstance(data["audit_log"], list)

    def test_an_anonymous_question_and_a_routed_one_are_in_it(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: World
    ) -> None:
        slack.command(MARISOL, "/cba-ask", "anon Is it normal that members only pay after the first event?")
        slack.settle()
        data = _export(slack, fake_slack)
        asked = data["questions"]["questions_asked"]
        assert [q["anonymous"] for q in asked] == [False, True]
        # The alumna's export lists the question routed to her.
        slack.command(ALUMNA, "/cba-profile", "export")
        slack.settle()
        theirs = json.loads([f for f in fake_slack.files if f.channel_id == fake_slack.dm_channel(ALUMNA)][0].content)
        assert [r["question"] for r in theirs["questions"]["questions_routed_to_me"]][:1] == [1]


class TestErasure:
    def test_leaves_nothing_of_hers_anywhere_tells_the_coach_and_edits_her_posts(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        world: World,
        sessions: sessionmaker[Session],
        settings: Settings,
        tmp_path: Path,
    ) -> None:
        needles = World.needles()
        _export(slack, fake_slack)  # the export too went through the outbox: its row held all of it
        with sessions() as check:
            before = [(t, c) for t, c, v in every_cell(check) if carried(_texts(v), needles)]
        assert {table for table, _column in before} >= {
            "members",
            "questions",
            "question_answers",
            "submissions",
            "feedback",
            "event_rsvps",
            "reminders",
        }

        confirm = slack.command(MARISOL, "/cba-profile", "delete")
        assert "Erase your personal data?" in confirm.text
        first_call = len(fake_slack.calls)
        erased = slack.action(MARISOL, member_views.ERASE_CONFIRM, value="erase")
        assert erased.status == 200
        slack.settle()
        answered = fake_slack.calls_to("response_url")[-1].args
        assert "Your personal data was erased" in answered["text"]

        # No column of any table holds her name, e-mail, Slack ID or any of her texts.
        with sessions() as check:
            left = [f"{t}.{c} = {v!r}" for t, c, v in every_cell(check) if carried(_texts(v), needles)]
        assert left == []

        # No `cba-bot export` kind's output does either.
        for kind in sorted(slack.deps.registry.exporters):
            output = tmp_path / f"{kind}.csv"
            assert export_csv(settings, kind, cohort=None, output=output) == 0
            assert carried(output.read_text(encoding="utf-8"), needles) == [], kind

        # No Slack call made after the erasure carries them.
        later: list[Call] = fake_slack.calls[first_call:]
        assert later, "the erasure told nobody anything"
        assert [
            (call.method, carried(_texts(call.args), needles)) for call in later if carried(_texts(call.args), needles)
        ] == []
        uploaded = [f for f in fake_slack.files if f.channel_id == fake_slack.dm_channel(COACH)][-1]
        assert carried(uploaded.content.decode("utf-8"), needles) == []

        # The coach was told the booking is cancelled (and got the calendar file that removes it).
        told = [m.text for m in fake_slack.dms_to(COACH) if f"booking #{world.booking_id}" in m.text]
        assert any("cancelled" in text and "former member" in text for text in told), told
        assert b"METHOD:CANCEL" in uploaded.content
        with sessions() as check:
            booking = check.get(CoachingBooking, world.booking_id)
            assert booking is not None
            assert booking.status == "cancelled"
            # Her waitlist entry is dropped (deleted: who waited is hers).
            assert check.scalars(select(CoachingWaitlistEntry)).all() == []

        # The channel post of her question and the thread post of her answer were edited.
        edits = {
            (c.args.get("channel"), c.args.get("ts")): c.args.get("text") for c in later if c.method == "chat.update"
        }
        assert "removed at the member's request" in str(edits.get((QUESTIONS_CHANNEL, world.question_ts)))
        assert "removed at the member's request" in str(edits.get((QUESTIONS_CHANNEL, world.answer_ts)))
        post = [m for m in fake_slack.messages_in(QUESTIONS_CHANNEL) if m.ts == world.question_ts][0]
        assert "removed at the member's request" in post.text
        # So were the DMs that quoted her: the alumna's routed question, the asker's answer, the coach's booking.
        dm_edits = {channel for channel, _ts in edits if channel and channel.startswith("D")}
        assert {fake_slack.dm_channel(ALUMNA), fake_slack.dm_channel(ASKER), fake_slack.dm_channel(COACH)} <= dm_edits

        # What organisers count stays: her question, answer, submissions, decline and check-in, as a former member.
        with sessions() as check:
            assert check.scalars(select(Submission.version).order_by(Submission.id)).all() == [1, 2]
            assert check.scalars(select(Rsvp.answer)).all() == ["no"]
            assert len(check.scalars(select(CheckIn)).all()) == 1
            assert check.scalars(select(Question.id).order_by(Question.id)).all() == [1, 2]
        listed = slack.command(ORGANISER, "/cba-homework", "status 1")
        assert "1 on time" in listed.text
        assert "former member" in listed.body


class TestCoachErasure:
    def test_withdraws_future_slots_and_tells_the_participant_without_naming_the_coach(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        with sessions.begin() as session:
            cohort = make_cohort(session, "CBA3")
            coach = make_person(session, fake_slack, COACH, "Kim Coachwell", "coach", email="kim@example.org")
            make_person(session, fake_slack, ASKER, "Asha Asker", "participant", cohort=cohort)
            booked = make_slot(session, coach, clock.now + timedelta(days=3))
            free = make_slot(session, coach, clock.now + timedelta(days=4))
            past = make_slot(session, coach, clock.now - timedelta(days=4))
            slot_ids = (booked.id, free.id, past.id)
        assert "booking #1" in slack.command(ASKER, "/cba-book", str(slot_ids[0])).text
        slack.settle()
        first_call = len(fake_slack.calls)
        slack.command(COACH, "/cba-profile", "delete")
        slack.action(COACH, member_views.ERASE_CONFIRM, value="erase")
        slack.settle()

        needles = ["Kim Coachwell", "kim@example.org", COACH]
        later = fake_slack.calls[first_call:]
        assert [call.method for call in later if carried(_texts(call.args), needles)] == []
        told = [m.text for m in fake_slack.dms_to(ASKER) if "booking #1" in m.text and "cancelled" in m.text]
        assert any("coach's data was erased" in text for text in told), told
        with sessions() as check:
            assert [(t, c) for t, c, v in every_cell(check) if carried(_texts(v), needles)] == []
            withdrawn = {slot_id: check.get(CoachingSlot, slot_id) for slot_id in slot_ids}
            assert [slot.removed_at is not None for slot in withdrawn.values() if slot] == [True, True, False]
            assert check.scalars(select(CoachingBooking.status)).all() == ["cancelled"]
        # The slots are gone from the participant's list.
        assert "no open coaching slots" in slack.command(ASKER, "/cba-book").text


class TestAlumnaErasure:
    def test_drops_her_routings_and_leaves_other_peoples_posts_alone(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: World, sessions: sessionmaker[Session]
    ) -> None:
        with sessions() as check:
            alumna = check.scalars(select(QuestionRouting.member_id).where(QuestionRouting.question_id == 1)).one()
        first_call = len(fake_slack.calls)
        slack.command(ALUMNA, "/cba-profile", "delete")
        slack.action(ALUMNA, member_views.ERASE_CONFIRM, value="erase")
        slack.settle()
        with sessions() as check:
            assert alumna not in check.scalars(select(QuestionRouting.member_id)).all()
            question = check.get(Question, 1)
            assert question is not None
            assert question.text == QUESTION
        # Nothing of Marisol's was edited; the alumna's own DM (the routed question) is hers: not edited either.
        assert [c.method for c in fake_slack.calls[first_call:] if c.method == "chat.update"] == []
        post = [m.text for m in fake_slack.messages_in(QUESTIONS_CHANNEL) if m.ts == world.question_ts]
        assert len(post) == 1
        assert "co-finance an export mission" in post[0]
