"""Issue 12, a Home that acts (SPEC 4.8): the Home tab published on app_home_opened carries the RSVP
buttons, "Submit" for homework, "Cancel" for bookings and "Answer" for routed questions, and pressing
them does what the same buttons do elsewhere (through Bolt, on the fake Slack, both databases)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from storage.models import Answer, CoachingBooking, Question, QuestionRouting, Rsvp, Submission
from tests.conftest import Clock
from tests.factories import make_cohort
from tests.factories_coaching import make_booking, make_slot
from tests.factories_events import make_event
from tests.factories_homework import make_assignment
from tests.factories_questions import QUESTIONS_CHANNEL, make_alumni, make_person

PIA, COACH, ALUMNI = "U0PIA", "U0COACH", "U0ALUM"


@pytest.fixture
def world(sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock) -> dict[str, int]:
    """Pia, participant of CBA3: an in-person day 30 days ahead (not answered), an open assignment, a booking."""
    now = clock.now
    fake_slack.add_channel(QUESTIONS_CHANNEL, "ask-alumni")
    with sessions.begin() as session:
        cohort = make_cohort(session)
        pia = make_person(session, fake_slack, PIA, "Pia Participant", "participant", cohort=cohort)
        coach = make_person(session, fake_slack, COACH, "Cleo Coach", "coach")
        make_alumni(session, fake_slack, ALUMNI, "Alan Alumni", expertise=["cluster funding"])
        day = make_event(session, cohort, now + timedelta(days=30), kind="in-person", title="Torino", now=now)
        assignment = make_assignment(session, cohort, now + timedelta(days=5), "Cluster map")
        booking = make_booking(session, make_slot(session, coach, now + timedelta(days=2)), pia)
        return {"event": day.id, "assignment": assignment.id, "booking": booking.id}


def open_home(slack: SlackDriver, user: str) -> dict[str, Any]:
    answer = slack.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"})
    assert answer.status == 200
    view: dict[str, Any] = slack.fake.home[user] if slack.fake else {}
    return view


def buttons(view: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, action_id, value) of every button, in actions blocks and as section accessories."""
    found = []
    for block in view["blocks"]:
        elements = block.get("elements", []) if block["type"] == "actions" else [block.get("accessory") or {}]
        for element in elements:
            if element.get("type") == "button":
                found.append((element["text"]["text"], element["action_id"], element.get("value", "")))
    return found


def texts(view: dict[str, Any]) -> str:
    out = []
    for block in view["blocks"]:
        if block["type"] == "section":
            out.append(block["text"]["text"])
        if block["type"] == "context":
            out += [e["text"] for e in block["elements"]]
    return "\n".join(out)


def line_of(view: dict[str, Any], needle: str) -> str:
    return next((line for line in texts(view).splitlines() if needle in line), "")


def rsvps(sessions: sessionmaker[Session]) -> list[tuple[int, str, bool, str]]:
    with sessions() as session:
        return [(r.event_id, r.answer, r.late_cancellation, r.reason) for r in session.scalars(select(Rsvp))]


class TestParticipantHome:
    def test_the_home_has_rsvp_and_submit_buttons_and_pressing_them_works(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: dict[str, int]
    ) -> None:
        view = open_home(slack, PIA)
        day, assignment = str(world["event"]), str(world["assignment"])
        assert ("I'll attend", "event_rsvp_yes", day) in buttons(view)
        assert ("I can't attend", "event_rsvp_no", day) in buttons(view)
        assert ("Submit", "homework_submit", assignment) in buttons(view)
        assert "not answered yet" in line_of(view, "*Torino*")

        # "I'll attend" on the Home: stored, answered by DM (the Home has no channel), the Home redrawn.
        fake_slack.reset_calls()
        assert slack.action(PIA, "event_rsvp_yes", value=day, view=view).status == 200
        assert rsvps(sessions) == [(world["event"], "yes", False, "")]
        assert "You're attending *Torino*" in fake_slack.dms_to(PIA)[-1].text
        assert [c.args["user_id"] for c in fake_slack.calls_to("views.publish")] == [PIA]
        view = fake_slack.home[PIA]
        assert "you're coming" in line_of(view, "*Torino*")

        # Changed to "I can't attend": the form asks why; 30 days ahead, it is not late.
        fake_slack.reset_calls()
        slack.action(PIA, "event_rsvp_no", value=day, view=view)
        [opened] = fake_slack.calls_to("views.open")
        form = opened.args["view"]
        assert form["callback_id"] == "event_decline"
        done = slack.submit(PIA, form, {"reason": {"reason": {"type": "plain_text_input", "value": "Surgery"}}})
        assert done.status == 200
        assert rsvps(sessions) == [(world["event"], "no", False, "Surgery")]
        assert "you can't attend *Torino*" in fake_slack.dms_to(PIA)[-1].text
        assert "you declined" in line_of(fake_slack.home[PIA], "*Torino*")

        # "Submit" opens the homework feature's own form (views.open after the commit); sending it submits.
        fake_slack.reset_calls()
        assert slack.action(PIA, "homework_submit", value=assignment, view=fake_slack.home[PIA]).status == 200
        [opened] = fake_slack.calls_to("views.open")
        form = opened.args["view"]
        assert form["callback_id"] == "homework_submit_modal"
        assert f"assignment #{assignment}" in str(form["blocks"])
        done = slack.submit(PIA, form, {"text": {"text": {"type": "plain_text_input", "value": "Our cluster map"}}})
        assert done.status == 200
        assert not done.json.get("errors")
        with sessions() as session:
            [submission] = session.scalars(select(Submission)).all()
            assert (submission.assignment_id, submission.text, submission.late) == (
                world["assignment"],
                "Our cluster map",
                False,
            )
        view = fake_slack.home[PIA]
        assert "submitted on time" in line_of(view, "*Cluster map*")
        assert ("Submit a new version", "homework_submit", assignment) in buttons(view)

    def test_a_late_decline_from_the_home_is_flagged_there(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
        world: dict[str, int],
    ) -> None:
        clock.advance(timedelta(days=20))  # the in-person day is 10 days away now
        view = open_home(slack, PIA)
        slack.action(PIA, "event_rsvp_no", value=str(world["event"]), view=view)
        form = fake_slack.calls_to("views.open")[-1].args["view"]
        assert "late cancellation" in str(form["blocks"])  # said before the member sends the form
        slack.submit(PIA, form, {"reason": {"reason": {"type": "plain_text_input", "value": "Strike"}}})
        assert rsvps(sessions) == [(world["event"], "no", True, "Strike")]
        assert "Recorded as a late cancellation" in fake_slack.dms_to(PIA)[-1].text
        assert "you declined (a late cancellation)" in line_of(fake_slack.home[PIA], "*Torino*")

    def test_a_booking_on_the_home_has_cancel_and_pressing_it_cancels(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: dict[str, int]
    ) -> None:
        view = open_home(slack, PIA)
        booking = str(world["booking"])
        [cancel] = [b for b in buttons(view) if b[2] == booking and b[1].startswith("coaching_cancel")]
        assert cancel[0] == "Cancel"
        fake_slack.reset_calls()
        assert slack.action(PIA, cancel[1], value=booking, view=view).status == 200
        with sessions() as session:
            assert session.get(CoachingBooking, world["booking"]).status == "cancelled"  # type: ignore[union-attr]
        assert sorted(c.args["user_id"] for c in fake_slack.calls_to("views.publish")) == [COACH, PIA]
        assert "_No coaching booked._" in texts(fake_slack.home[PIA])
        assert not [b for b in buttons(fake_slack.home[PIA]) if b[1].startswith("coaching_cancel")]


class TestAlumniHome:
    def test_a_routed_question_has_answer_and_pressing_it_answers(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: dict[str, int]
    ) -> None:
        asked = slack.command(PIA, "/cba-ask", "Where can a cluster find funding for a trip to Spain?")
        assert asked.status == 200
        with sessions() as session:
            question = session.scalars(select(Question)).one()
            routed = session.scalars(select(QuestionRouting.question_id)).all()
        assert routed == [question.id]  # the question was routed to Alan, whose expertise matches

        view = open_home(slack, ALUMNI)
        assert ("Answer", "question_answer", str(question.id)) in buttons(view)
        assert "Pia" not in texts(view)
        fake_slack.reset_calls()
        slack.action(ALUMNI, "question_answer", value=str(question.id), view=view)
        [opened] = fake_slack.calls_to("views.open")
        form = opened.args["view"]
        done = slack.submit(ALUMNI, form, {"answer": {"text": {"type": "plain_text_input", "value": "Try COSME"}}})
        assert done.status == 200
        with sessions() as session:
            [answer] = session.scalars(select(Answer)).all()
            assert (answer.question_id, answer.text) == (question.id, "Try COSME")
        assert "1 answer" in line_of(fake_slack.home[ALUMNI], f"question #{question.id}:")
