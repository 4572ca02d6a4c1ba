"""App Home end to end: app_home_opened through Bolt, views.publish on the fake Slack, real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot
from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.scheduler import tick
from commands.home import views
from storage.models import (
    Assignment,
    CoachingBooking,
    CoachingSlot,
    Cohort,
    Event,
    Member,
    Question,
    Reminder,
    Rsvp,
    Submission,
)
from tests.conftest import ORGANISER, Clock
from tests.factories import make_cohort, make_member
from tests.factories_coaching import make_booking, make_slot
from tests.factories_events import make_event
from tests.factories_homework import make_assignment, make_submission
from tests.factories_questions import QUESTIONS_CHANNEL, make_alumni, make_person, make_question

PARTICIPANT = "U0PIA"
COACH = "U0COACH"
ALUMNI = "U0ALUM"
NEWCOMER = "U0NEW"


def open_home(slack: SlackDriver, user: str, tab: str = "home") -> None:
    slack.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": tab})


def texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and "text" in node:
            return [str(node["text"])]
        return [text for value in node.values() for text in texts(value)]
    if isinstance(node, list):
        return [text for value in node for text in texts(value)]
    return []


def home_text(fake: FakeSlack, user: str) -> str:
    return "\n".join(texts(fake.home[user]["blocks"]))


def action_ids(view: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def within_limits(view: dict[str, Any]) -> None:
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100
    for block in view["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000


@pytest.fixture
def world(sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock) -> dict[str, int]:
    """A participant of CBA3 with a programme day answered, a booking, homework and an open question."""
    now = clock.now
    fake_slack.add_channel(QUESTIONS_CHANNEL, "ask-alumni")
    with sessions.begin() as session:
        cohort = make_cohort(session)
        pia = make_person(session, fake_slack, PARTICIPANT, "Pia Participant", "participant", cohort=cohort)
        coach = make_person(session, fake_slack, COACH, "Cleo Coach", "coach")
        make_alumni(session, fake_slack, ALUMNI, "Alan Alumni", expertise=["cluster funding"])
        answered = make_event(session, cohort, now + timedelta(days=3), title="Strategy day", now=now)
        make_event(session, cohort, now + timedelta(days=10), title="Funding day", now=now)
        session.add(Rsvp(event_id=answered.id, member_id=pia.id, answer="yes", answered_at=now))
        booked = make_slot(session, coach, now + timedelta(days=2))
        make_slot(session, coach, now + timedelta(days=4))
        booking = make_booking(session, booked, pia)
        done = make_assignment(session, cohort, now + timedelta(days=5), "Cluster map")
        make_submission(session, done, pia, now - timedelta(hours=1))
        make_assignment(session, cohort, now - timedelta(days=1), "Stakeholder list")
        make_assignment(session, cohort, now + timedelta(days=9), "Action plan")
        question = make_question(session, pia, "How do we find cluster funding for SMEs abroad?", created_at=now)
        return {"booking": booking.id, "question": question.id, "event": answered.id, "slot": booked.id}


class TestParticipantHome:
    def test_shows_days_booking_homework_and_questions(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: dict[str, int]
    ) -> None:
        open_home(slack, PARTICIPANT)

        view = fake_slack.home[PARTICIPANT]
        text = home_text(fake_slack, PARTICIPANT)
        within_limits(view)
        assert "Welcome, Pia Participant" in text
        assert "participant (CBA3)" in text
        assert "Next programme days — CBA3" in text
        assert f"*Strategy day* (event #{world['event']}" in text
        assert "you're coming" in text
        assert "*Funding day*" in text
        assert "not answered yet" in text
        assert "<!date^" in text
        assert f"booking #{world['booking']} with <@{COACH}>" in text
        assert "*Cluster map* — due" in text
        assert "submitted on time" in text
        assert "*Stakeholder list*" in text
        assert ":x: missing" in text
        assert "*Action plan*" in text
        assert "not submitted yet" in text
        assert f"question #{world['question']}: “How do we find cluster funding" in text
        assert "Programme at a glance" not in text
        assert "Your coaching slots" not in text
        rsvp = ["event_rsvp_yes", "event_rsvp_no"]
        assert action_ids(view) == ["cba_profile_open", views.BOOK_ACTION, views.ASK_ACTION, *rsvp, *rsvp]

    def test_the_messages_tab_publishes_nothing(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: dict[str, int]
    ) -> None:
        open_home(slack, PARTICIPANT, tab="messages")

        assert fake_slack.calls_to("views.publish") == []
        assert PARTICIPANT not in fake_slack.home

    def test_reopening_republishes_the_same_home_view(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: dict[str, int]
    ) -> None:
        open_home(slack, PARTICIPANT)
        first = fake_slack.home[PARTICIPANT]["id"]
        open_home(slack, PARTICIPANT)

        assert len(fake_slack.calls_to("views.publish")) == 2
        assert fake_slack.home[PARTICIPANT]["id"] == first


class TestOtherRoles:
    def test_coach_sees_slots_and_who_booked(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: dict[str, int]
    ) -> None:
        open_home(slack, COACH)

        view = fake_slack.home[COACH]
        text = home_text(fake_slack, COACH)
        within_limits(view)
        assert "Your coaching slots" in text
        assert f"slot #{world['slot']}" in text
        assert f"booked by <@{PARTICIPANT}> (booking #{world['booking']})" in text
        assert "_open_" in text
        assert "Your homework" not in text
        assert "Next programme days" not in text
        assert views.BOOK_ACTION not in action_ids(view)

    def test_alumni_sees_open_questions_matching_their_expertise(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
        world: dict[str, int],
    ) -> None:
        with sessions.begin() as session:
            other = session.scalars(select(Member).where(Member.slack_id == COACH)).one()
            unrelated = make_question(
                session, other, "Which venue suits a board retreat in spring?", created_at=clock.now
            )
            unrelated_id = unrelated.id
        open_home(slack, ALUMNI)

        text = home_text(fake_slack, ALUMNI)
        within_limits(fake_slack.home[ALUMNI])
        assert "Open questions for your expertise" in text
        assert f"question #{world['question']}" in text
        assert f"question #{unrelated_id}" not in text
        assert "Pia" not in text  # the home lists questions, never their askers

    def test_organiser_sees_the_programme_counts(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
        world: dict[str, int],
    ) -> None:
        with sessions.begin() as session:
            cohort = make_cohort(session)
            make_member(session, "U0PAUL", "Paul Late", "participant", cohort=cohort)
            paul = session.scalars(select(Member).where(Member.slack_id == "U0PAUL")).one()
            day = make_event(session, cohort, clock.now + timedelta(days=20), kind="in-person", now=clock.now)
            session.add(
                Rsvp(event_id=day.id, member_id=paul.id, answer="no", late_cancellation=True, answered_at=clock.now)
            )
            members = session.scalar(select(func.count()).select_from(Member).where(Member.erased_at.is_(None)))
        open_home(slack, ORGANISER)

        text = home_text(fake_slack, ORGANISER)
        within_limits(fake_slack.home[ORGANISER])
        assert "organiser" in text
        assert f"*Members:* {members}" in text
        # Three upcoming days for CBA3: Pia answered one, Paul answered one; 2 × 3 - 2 answers owed.
        assert "*Pending RSVPs for upcoming days:* 4" in text
        assert "*Late cancellations:* 1 programme day, 0 coaching sessions" in text
        assert "*Open questions:* 1" in text

    def test_someone_not_registered_is_told_whom_to_ask_and_nobody_is_stored(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        fake_slack.add_user(NEWCOMER, "Nina New")
        with sessions.begin() as session:  # an organiser by role grant is named beside CBA_ORGANISERS
            make_member(session, "U0ORGTWO", "Oscar Organiser", "organiser")
        open_home(slack, NEWCOMER)

        view = fake_slack.home[NEWCOMER]
        text = home_text(fake_slack, NEWCOMER)
        assert "Welcome to CBA" in text
        assert "You are not registered in the Cluster Booster Academy yet" in text
        assert f"<@{ORGANISER}>, <@U0ORGTWO>" in text
        assert action_ids(view) == []
        with sessions() as session:
            assert session.scalar(select(Member.id).where(Member.slack_id == NEWCOMER)) is None
            # The Home went out as an answer: once shown, the outbox keeps neither its text nor to whom.
            assert session.scalar(select(func.count()).select_from(Reminder).where(Reminder.recipient == NEWCOMER)) == 0

    def test_a_member_whose_role_was_removed_sees_the_not_registered_home(
        self, bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        fake_slack.add_user(NEWCOMER, "Nina New")
        with sessions.begin() as session:
            make_member(session, NEWCOMER, "Nina New", "participant")
        # Removing the role refreshes the Home, drawn when sent: now the not-registered one.
        slack.command(ORGANISER, "/cba-admin", f"role remove <@{NEWCOMER}> participant")

        assert "You are not registered in the Cluster Booster Academy yet" in home_text(fake_slack, NEWCOMER)
        assert action_ids(fake_slack.home[NEWCOMER]) == []


class TestLimits:
    def test_sixty_assignments_and_slots_are_cut_with_a_count(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        long_title = "A very long assignment title " * 6
        with sessions.begin() as session:
            cohort = make_cohort(session)
            make_person(session, fake_slack, PARTICIPANT, "Pia Participant", "participant", "coach", cohort=cohort)
            pia = session.scalars(select(Member).where(Member.slack_id == PARTICIPANT)).one()
            for n in range(60):
                make_assignment(session, cohort, clock.now + timedelta(days=n + 1), f"{long_title} {n}")
                make_slot(session, pia, clock.now + timedelta(days=n + 1))
                make_event(session, cohort, clock.now + timedelta(days=n + 1, hours=2), now=clock.now, plan=False)
        open_home(slack, PARTICIPANT)

        view = fake_slack.home[PARTICIPANT]
        text = home_text(fake_slack, PARTICIPANT)
        within_limits(view)
        assert text.count("assignment #") == views.MAX_LINES
        assert text.count("• slot #") == views.MAX_LINES
        assert f"…and {60 - views.MAX_LINES} more — `/cba-homework`" in text
        assert f"…and {60 - views.MAX_LINES} more — `/cba-slots list`" in text
        assert text.count("event #") == 4


class TestButtons:
    def test_book_coaching_sends_the_open_slots(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: dict[str, int]
    ) -> None:
        open_home(slack, PARTICIPANT)
        slack.action(PARTICIPANT, views.BOOK_ACTION, value="0", view=fake_slack.home[PARTICIPANT])

        dms = fake_slack.dms_to(PARTICIPANT)
        assert dms, "the open slots arrive by DM"
        assert f"slot #{world['slot'] + 1}" in dms[-1].text

    def test_book_coaching_refuses_a_coach(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: dict[str, int]
    ) -> None:
        open_home(slack, COACH)
        slack.action(COACH, views.BOOK_ACTION, value="0", view=fake_slack.home[COACH])

        assert "You need to be a participant" in fake_slack.dms_to(COACH)[-1].text

    def test_edit_profile_opens_the_profile_modal(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: dict[str, int]
    ) -> None:
        open_home(slack, PARTICIPANT)
        slack.action(PARTICIPANT, "cba_profile_open", value="home", view=fake_slack.home[PARTICIPANT])

        opened = fake_slack.calls_to("views.open")
        assert len(opened) == 1
        assert [v for v in fake_slack.views.values() if v.get("callback_id") == "cba_profile_modal"]

    def test_ask_alumni_opens_a_modal_that_posts_the_question(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: dict[str, int]
    ) -> None:
        open_home(slack, PARTICIPANT)
        slack.action(PARTICIPANT, views.ASK_ACTION, value="home", view=fake_slack.home[PARTICIPANT])
        modal = next(v for v in fake_slack.views.values() if v.get("callback_id") == views.ASK_MODAL)

        short = slack.submit(
            PARTICIPANT,
            modal,
            {views.QUESTION_BLOCK: {views.QUESTION_INPUT: {"type": "plain_text_input", "value": "Help?"}}},
        )
        assert short.json["response_action"] == "errors"
        assert views.QUESTION_BLOCK in short.json["errors"]
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Question)) == 1

        text = "Which cluster funding programmes work for SMEs?"
        values = {
            views.QUESTION_BLOCK: {views.QUESTION_INPUT: {"type": "plain_text_input", "value": text}},
            views.ANONYMOUS_BLOCK: {
                views.ANONYMOUS_INPUT: {"type": "checkboxes", "selected_options": [{"value": "yes"}]}
            },
        }
        done = slack.submit(PARTICIPANT, modal, values)
        assert done.status == 200
        assert not done.json.get("errors")
        with sessions() as session:
            asked = session.scalars(select(Question).order_by(Question.id.desc())).first()
            assert asked is not None
            assert asked.text == text
            assert asked.anonymous
        posts = [m for m in fake_slack.messages_in(QUESTIONS_CHANNEL) if not m.thread_ts]
        assert any(text in m.text for m in posts)
        assert f"question #{asked.id}" in fake_slack.dms_to(PARTICIPANT)[-1].text
        assert any(f"question #{asked.id}" in m.text for m in fake_slack.dms_to(ALUMNI))


def assignment_id(sessions: sessionmaker[Session], title: str) -> int:
    with sessions() as session:
        return session.scalars(select(Assignment.id).where(Assignment.title == title)).one()


def homework_line(fake: FakeSlack, user: str, title: str) -> str:
    return next(line for line in home_text(fake, user).splitlines() if f"*{title}*" in line)


class TestRefresh:
    """The Home is an outbox row drawn at send time: refreshed when what it shows changes."""

    def test_a_submission_refreshes_the_participants_home(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: dict[str, int]
    ) -> None:
        open_home(slack, PARTICIPANT)
        assert "not submitted yet" in homework_line(fake_slack, PARTICIPANT, "Action plan")
        slack.command(PARTICIPANT, "/cba-homework", f"submit {assignment_id(sessions, 'Action plan')} Our plan")

        assert len(fake_slack.calls_to("views.publish")) == 2
        assert "submitted on time" in homework_line(fake_slack, PARTICIPANT, "Action plan")

    def test_feedback_refreshes_the_participants_home(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: dict[str, int]
    ) -> None:
        with sessions() as session:
            submission = session.scalars(select(Submission.id)).one()
        open_home(slack, PARTICIPANT)
        assert "feedback" not in homework_line(fake_slack, PARTICIPANT, "Cluster map")
        slack.command(COACH, "/cba-homework", f"review {submission} Clear and complete")

        assert [call.args["user_id"] for call in fake_slack.calls_to("views.publish")] == [PARTICIPANT, PARTICIPANT]
        assert "feedback received" in homework_line(fake_slack, PARTICIPANT, "Cluster map")

    def test_a_new_assignment_refreshes_the_cohorts_homes(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: dict[str, int]
    ) -> None:
        slack.command(ORGANISER, "/cba-homework", "new CBA3 2026-12-20 Stakeholder survey")

        assert [call.args["user_id"] for call in fake_slack.calls_to("views.publish")] == [PARTICIPANT]
        assert "not submitted yet" in homework_line(fake_slack, PARTICIPANT, "Stakeholder survey")

    def test_a_role_or_profile_change_refreshes_the_members_home(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: dict[str, int]
    ) -> None:
        slack.command(ORGANISER, "/cba-admin", f"role <@{ALUMNI}> coach")
        assert "Your coaching slots" in home_text(fake_slack, ALUMNI)
        slack.command(ALUMNI, "/cba-profile", "set name Alan A. Alumni")
        assert "Welcome, Alan A. Alumni" in home_text(fake_slack, ALUMNI)
        assert [call.args["user_id"] for call in fake_slack.calls_to("views.publish")] == [ALUMNI, ALUMNI]

    def test_an_organiser_by_configuration_keeps_the_counts_when_another_feature_refreshes(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: dict[str, int]
    ) -> None:
        slack.command(ORGANISER, "/cba-profile", "set name Olga O.")
        text = home_text(fake_slack, ORGANISER)
        assert "Welcome, Olga O." in text
        assert "Programme at a glance" in text

    def test_two_refreshes_queued_before_delivery_publish_once_the_latest_state(
        self,
        bot: Bot,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        world: dict[str, int],
    ) -> None:
        assert bot.deps.courier is not None
        bot.deps.courier.stop()  # nothing is delivered until the tick below
        open_home(slack, PARTICIPANT)
        slack.command(PARTICIPANT, "/cba-homework", f"submit {assignment_id(sessions, 'Action plan')} Our plan")
        assert fake_slack.calls_to("views.publish") == []
        with sessions() as session:
            pending = session.scalars(select(Reminder).where(Reminder.kind == "home")).all()
            assert [(row.recipient, row.status) for row in pending] == [(PARTICIPANT, "pending")]

        tick(bot.deps)
        assert len(fake_slack.calls_to("views.publish")) == 1
        assert "submitted on time" in homework_line(fake_slack, PARTICIPANT, "Action plan")
        tick(bot.deps)
        assert len(fake_slack.calls_to("views.publish")) == 1


def published(fake: FakeSlack) -> list[str]:
    """Whose Home tabs were published since the last call (sorted), then forget those calls."""
    users = sorted(str(call.args["user_id"]) for call in fake.calls_to("views.publish"))
    fake.reset_calls()
    return users


def line_of(fake: FakeSlack, user: str, needle: str) -> str:
    return next((line for line in home_text(fake, user).splitlines() if needle in line), "")


def slot_ids(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return list(session.scalars(select(CoachingSlot.id).order_by(CoachingSlot.id)))


def event_id(sessions: sessionmaker[Session], title: str) -> int:
    with sessions() as session:
        return session.scalars(select(Event.id).where(Event.title == title)).one()


def stamp(instant: datetime) -> str:
    return f"<!date^{int(instant.timestamp())}^"


class TestCoachingRefresh:
    """Bookings show on the participant's Home, slots (and who booked them) on the coach's."""

    def test_a_booking_refreshes_the_participant_and_the_coach(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: dict[str, int]
    ) -> None:
        [open_slot] = [slot for slot in slot_ids(sessions) if slot != world["slot"]]
        fake_slack.reset_calls()
        slack.command(PARTICIPANT, "/cba-book", str(open_slot))

        assert published(fake_slack) == sorted([PARTICIPANT, COACH])
        with sessions() as session:
            booking = session.scalars(select(CoachingBooking.id).where(CoachingBooking.slot_id == open_slot)).one()
        assert f"booking #{booking} with <@{COACH}>" in home_text(fake_slack, PARTICIPANT)
        assert f"booked by <@{PARTICIPANT}> (booking #{booking})" in line_of(fake_slack, COACH, f"slot #{open_slot}")

    def test_a_cancellation_refreshes_the_participant_and_the_coach(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: dict[str, int]
    ) -> None:
        fake_slack.reset_calls()
        slack.command(PARTICIPANT, "/cba-book", f"cancel {world['booking']}")

        assert published(fake_slack) == sorted([PARTICIPANT, COACH])
        assert "_No coaching booked._" in home_text(fake_slack, PARTICIPANT)
        assert "_open_" in line_of(fake_slack, COACH, f"slot #{world['slot']}")

    def test_a_new_slot_refreshes_the_coach(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: dict[str, int]
    ) -> None:
        fake_slack.reset_calls()
        slack.command(COACH, "/cba-slots", "add 2026-12-03 10:00")

        assert published(fake_slack) == [COACH]
        new = slot_ids(sessions)[-1]
        assert "_open_" in line_of(fake_slack, COACH, f"slot #{new}")

    def test_withdrawing_an_open_slot_refreshes_the_coach_only(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: dict[str, int]
    ) -> None:
        [open_slot] = [slot for slot in slot_ids(sessions) if slot != world["slot"]]
        open_home(slack, COACH)
        assert f"slot #{open_slot}" in home_text(fake_slack, COACH)
        fake_slack.reset_calls()
        slack.command(COACH, "/cba-slots", f"remove {open_slot}")

        assert published(fake_slack) == [COACH]
        assert f"slot #{open_slot}" not in home_text(fake_slack, COACH)

    def test_withdrawing_a_booked_slot_refreshes_the_coach_and_the_participant(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: dict[str, int]
    ) -> None:
        fake_slack.reset_calls()
        slack.command(COACH, "/cba-slots", f"remove {world['slot']}")

        assert published(fake_slack) == sorted([PARTICIPANT, COACH])
        assert f"slot #{world['slot']}" not in home_text(fake_slack, COACH)
        assert "_No coaching booked._" in home_text(fake_slack, PARTICIPANT)


class TestEventsRefresh:
    """The participant's Home lists the cohort's next programme days with their answer."""

    def test_an_rsvp_refreshes_the_members_home_and_a_repeat_does_not(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: dict[str, int]
    ) -> None:
        funding = event_id(sessions, "Funding day")
        fake_slack.reset_calls()
        slack.action(PARTICIPANT, "event_rsvp_yes", value=str(funding), channel_id=fake_slack.dm_channel(PARTICIPANT))

        assert published(fake_slack) == [PARTICIPANT]
        assert "you're coming" in line_of(fake_slack, PARTICIPANT, "*Funding day*")
        slack.action(PARTICIPANT, "event_rsvp_yes", value=str(funding), channel_id=fake_slack.dm_channel(PARTICIPANT))
        assert published(fake_slack) == []  # the same answer again: nothing on the Home changed

    def test_a_changed_answer_refreshes_the_members_home(
        self, slack: SlackDriver, fake_slack: FakeSlack, world: dict[str, int]
    ) -> None:
        slack.action(PARTICIPANT, "event_rsvp_no", value=str(world["event"]), channel_id=f"D{PARTICIPANT}")
        form = fake_slack.calls_to("views.open")[-1].args["view"]
        fake_slack.reset_calls()
        answer = slack.submit(PARTICIPANT, form, {"reason": {"reason": {"type": "plain_text_input", "value": "Ill"}}})

        assert answer.status == 200
        assert published(fake_slack) == [PARTICIPANT]
        assert "you declined" in line_of(fake_slack, PARTICIPANT, "*Strategy day*")

    def test_a_day_added_moved_and_removed_refreshes_the_cohorts_homes(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: dict[str, int]
    ) -> None:
        with sessions.begin() as session:  # a second participant of CBA3; the coach is in no cohort
            cohort = session.scalars(select(Cohort)).one()
            make_person(session, fake_slack, "U0PETE", "Pete Participant", "participant", cohort=cohort)
        fake_slack.reset_calls()
        slack.command(ORGANISER, "/cba-admin", "event add CBA3 online 2026-11-27 09:00-12:00 Kick-off")

        assert published(fake_slack) == sorted([PARTICIPANT, "U0PETE"])
        kick_off = event_id(sessions, "Kick-off")
        for user in (PARTICIPANT, "U0PETE"):
            assert stamp(datetime(2026, 11, 27, 8, tzinfo=UTC)) in line_of(fake_slack, user, "*Kick-off*")

        slack.command(ORGANISER, "/cba-admin", f"event move {kick_off} 2026-11-28 10:00-12:00")
        assert published(fake_slack) == sorted([PARTICIPANT, "U0PETE"])
        assert stamp(datetime(2026, 11, 28, 9, tzinfo=UTC)) in line_of(fake_slack, PARTICIPANT, "*Kick-off*")

        slack.command(ORGANISER, "/cba-admin", f"event remove {kick_off}")
        assert published(fake_slack) == sorted([PARTICIPANT, "U0PETE"])
        assert "*Kick-off*" not in home_text(fake_slack, PARTICIPANT)
        assert "*Kick-off*" not in home_text(fake_slack, "U0PETE")


class TestQuestionsRefresh:
    """The asker's Home lists their open questions, an alumni's the open ones for their expertise."""

    QUESTION = "Where can a cluster find funding for a trip to Spain?"

    def _ask(self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]) -> Question:
        fake_slack.reset_calls()
        slack.command(PARTICIPANT, "/cba-ask", self.QUESTION)
        with sessions() as session:
            return session.scalars(select(Question).order_by(Question.id.desc())).first()  # type: ignore[return-value]

    def test_a_question_refreshes_the_asker_and_the_routed_alumni(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: dict[str, int]
    ) -> None:
        question = self._ask(slack, fake_slack, sessions)

        assert published(fake_slack) == sorted([PARTICIPANT, ALUMNI])
        assert "0 answers" in line_of(fake_slack, PARTICIPANT, f"question #{question.id}:")
        assert "0 answers" in line_of(fake_slack, ALUMNI, f"question #{question.id}:")
        assert "Pia" not in home_text(fake_slack, ALUMNI)

    def test_answers_refresh_the_asker_and_the_routed_alumni(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: dict[str, int]
    ) -> None:
        question = self._ask(slack, fake_slack, sessions)
        assert question.message_ts  # posted: its thread takes answers
        slack.action(ALUMNI, "question_answer", value=str(question.id), channel_id=QUESTIONS_CHANNEL)
        form = fake_slack.calls_to("views.open")[-1].args["view"]
        fake_slack.reset_calls()
        slack.submit(ALUMNI, form, {"answer": {"text": {"type": "plain_text_input", "value": "Try the EU fund"}}})

        assert published(fake_slack) == sorted([PARTICIPANT, ALUMNI])
        assert "1 answer " in line_of(fake_slack, PARTICIPANT, f"question #{question.id}:") + " "
        assert "1 answer " in line_of(fake_slack, ALUMNI, f"question #{question.id}:") + " "

        reply = fake_slack.add_message(QUESTIONS_CHANNEL, "And the region", user=COACH, thread_ts=question.message_ts)
        fake_slack.reset_calls()
        slack.event(
            {
                "type": "message",
                "channel": QUESTIONS_CHANNEL,
                "channel_type": "channel",
                "user": COACH,
                "text": "And the region",
                "ts": reply.ts,
                "thread_ts": question.message_ts,
                "event_ts": reply.ts,
            }
        )
        assert published(fake_slack) == sorted([PARTICIPANT, ALUMNI])
        assert "2 answers" in line_of(fake_slack, PARTICIPANT, f"question #{question.id}:")
        assert "2 answers" in line_of(fake_slack, ALUMNI, f"question #{question.id}:")

    def test_resolving_refreshes_the_asker_and_the_routed_alumni(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: dict[str, int]
    ) -> None:
        question = self._ask(slack, fake_slack, sessions)
        assert f"question #{question.id}:" in home_text(fake_slack, ALUMNI)
        fake_slack.reset_calls()
        slack.command(PARTICIPANT, "/cba-ask", f"resolve {question.id}")

        assert published(fake_slack) == sorted([PARTICIPANT, ALUMNI])
        assert f"question #{question.id}:" not in home_text(fake_slack, PARTICIPANT)
        assert f"question #{question.id}:" not in home_text(fake_slack, ALUMNI)
        assert f"question #{world['question']}:" in home_text(fake_slack, PARTICIPANT)  # still open
