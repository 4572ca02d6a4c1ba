"""/cba-homework end to end: signed requests through Bolt, the fake Slack API and the real database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot
from bot.console.driver import Dispatched, SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.kernel.zones import refresh_zones
from bot.scheduler import tick
from commands.homework import views
from storage.models import Assignment, Feedback, Member, Reminder, Submission
from tests.conftest import ORGANISER, Clock
from tests.factories import database_snapshot, make_cohort, make_member
from tests.factories_homework import make_assignment, make_feedback, make_submission

CMD = "/cba-homework"
P1, P2, P3 = "U0PART1", "U0PART2", "U0PART3"
OTHER = "U0OTHER1"  # a participant of another cohort
COACH = "U0COACH1"
CHANNEL3, CHANNEL2 = "C0COHORT3", "C0COHORT2"
DUE = datetime(2026, 12, 15, 22, 59, tzinfo=UTC)  # 2026-12-15 23:59 in Brussels (CET)


@dataclass
class World:
    assignment_id: int  # CBA3, due DUE
    other_assignment_id: int  # CBA2
    p1: int
    p2: int
    p3: int


@pytest.fixture
def world(session: Session, fake_slack: FakeSlack) -> World:
    for user_id, name in ((P1, "Paula One"), (P2, "Piet Two"), (P3, "Pia Three"), (OTHER, "Otto Other")):
        fake_slack.add_user(user_id, name)
    fake_slack.add_user(COACH, "Carla Coach")
    for channel_id, name in ((CHANNEL3, "cba3"), (CHANNEL2, "cba2"), ("C0GENERAL", "general")):
        fake_slack.add_channel(channel_id, name)
    cba3 = make_cohort(session, "CBA3", channel=CHANNEL3)
    cba2 = make_cohort(session, "CBA2", "Cluster Booster Academy 2", channel=CHANNEL2)
    p1 = make_member(session, P1, "Paula One", "participant", cohort=cba3)
    p2 = make_member(session, P2, "Piet Two", "participant", cohort=cba3)
    p3 = make_member(session, P3, "Pia Three", "participant", cohort=cba3)
    make_member(session, OTHER, "Otto Other", "participant", cohort=cba2)
    make_member(session, COACH, "Carla Coach", "coach")
    make_member(session, ORGANISER, "Olga Organiser")
    assignment = make_assignment(session, cba3, DUE, "Action plan", description="Two pages")
    other = make_assignment(session, cba2, DUE, "Other cohort's plan")
    session.commit()
    return World(assignment.id, other.id, p1.id, p2.id, p3.id)


def refused(
    slack: SlackDriver, sessions: sessionmaker[Session], fake: FakeSlack, user: str, text: str, *expected: str
) -> Dispatched:
    """The command answers ephemerally with the usage and what was wrong, and changes nothing."""
    before = database_snapshot(sessions)
    posts = len(fake.calls_to("chat.postMessage"))
    answer = slack.command(user, CMD, text)
    assert answer.status == 200
    assert answer.json["response_type"] == "ephemeral"
    assert "Usage of `/cba-homework`" in answer.text
    for fragment in expected:
        assert fragment in answer.text
    assert "Traceback" not in answer.text
    assert database_snapshot(sessions) == before
    assert len(fake.calls_to("chat.postMessage")) == posts
    assert fake.calls_to("views.open") == []
    return answer


def ok(slack: SlackDriver, user: str, text: str) -> Dispatched:
    answer = slack.command(user, CMD, text)
    assert answer.status == 200
    assert answer.json["response_type"] == "ephemeral", answer.body
    assert "Usage of" not in answer.text, answer.text
    return answer


def _all(session: Session, model: type[Any]) -> list[Any]:
    return list(session.scalars(select(model).order_by(model.id)))


# --- new ----------------------------------------------------------------------------------------


class TestNew:
    def test_creates_an_assignment_due_2359_in_the_organisers_zone_and_tells_the_cohort(
        self, slack: SlackDriver, world: World, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        answer = ok(slack, ORGANISER, "new cba3 2026-12-20 Stakeholder map | Who & why <b>")
        with sessions() as session:
            created = session.scalars(select(Assignment).order_by(Assignment.id.desc())).first()
            assert created is not None
            assert created.title == "Stakeholder map"
            assert created.description == "Who & why <b>"
            assert created.due_at == datetime(2026, 12, 20, 22, 59, tzinfo=UTC)
            reminders = session.scalars(select(Reminder).where(Reminder.subject_id == created.id)).all()
        assert f"assignment #{created.id}" in answer.text
        channel_posts = fake_slack.messages_in(CHANNEL3)
        assert len(channel_posts) == 1
        assert f"assignment #{created.id}" in channel_posts[0].text
        assert "&lt;b&gt;" in json.dumps(channel_posts[0].blocks)  # the description is shown escaped
        for user in (P1, P2, P3):
            assert len(fake_slack.dms_to(user)) == 1
        assert fake_slack.dms_to(OTHER) == []
        assert fake_slack.messages_in(CHANNEL2) == []
        planned = sorted((r.offset_label, r.recipient, r.due_at) for r in reminders)
        assert planned == sorted(
            (label, user, datetime(2026, 12, 20, 22, 59, tzinfo=UTC) - delta)
            for label, delta in (("3d", timedelta(days=3)), ("1d", timedelta(days=1)))
            for user in (P1, P2, P3)
        )

    def test_an_archived_cohort_channel_does_not_stop_the_dms_and_is_recorded(
        self, slack: SlackDriver, world: World, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        fake_slack.add_channel(CHANNEL3, "cba3", archived=True)
        answer = ok(slack, ORGANISER, "new CBA3 2026-12-20 Stakeholder map")
        assert "assignment #" in answer.text
        for user in (P1, P2, P3):
            assert len(fake_slack.dms_to(user)) == 1
        with sessions() as session:
            told = session.scalars(select(Reminder).where(Reminder.kind == "message")).all()
            outcome = {row.recipient: (row.status, row.last_error) for row in told}
        assert outcome == {
            CHANNEL3: ("failed", "is_archived"),
            P1: ("sent", None),
            P2: ("sent", None),
            P3: ("sent", None),
        }

    def test_reads_the_day_in_the_organisers_slack_time_zone(
        self, slack: SlackDriver, world: World, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        fake_slack.add_user(ORGANISER, "Olga Organiser", tz="America/New_York")
        with sessions.begin() as session:
            organiser = session.scalars(select(Member).where(Member.slack_id == ORGANISER)).one()
            organiser.tz = None
        refresh_zones(slack.deps)  # the scheduler's tick learns zones from Slack, never a request
        ok(slack, ORGANISER, "new CBA3 2026-12-20 Stakeholder map")
        with sessions() as session:
            created = session.scalars(select(Assignment).order_by(Assignment.id.desc())).first()
            assert created is not None
            assert created.due_at == datetime(2026, 12, 21, 4, 59, tzinfo=UTC)

    def test_today_is_accepted_while_2359_is_ahead(
        self, slack: SlackDriver, world: World, sessions: sessionmaker[Session]
    ) -> None:
        ok(slack, ORGANISER, "new CBA3 2026-11-25 Same-day task")
        with sessions() as session:
            assert len(_all(session, Assignment)) == 3

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("new CBA9 2026-12-20 Title", "no cohort CBA9"),
            ("new CBA3 2026-11-24 Title", "has passed"),
            ("new CBA3 2026-12-20", "needs a title"),
            ("new CBA3 2026-12-20 | only a description", "needs a title"),
            ("new CBA3 20-12-2026 Title", "YYYY-MM-DD"),
            ("new CBA3 2026-02-30 Title", "not a real date"),
            ("new CBA3", "due date"),
            ("new", "cohort code"),
        ],
    )
    def test_bad_input_answers_usage_and_changes_nothing(
        self,
        slack: SlackDriver,
        world: World,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        text: str,
        expected: str,
    ) -> None:
        refused(slack, sessions, fake_slack, ORGANISER, text, expected)

    @pytest.mark.parametrize("user", [P1, COACH])
    def test_only_organisers_create(
        self, slack: SlackDriver, world: World, fake_slack: FakeSlack, sessions: sessionmaker[Session], user: str
    ) -> None:
        refused(slack, sessions, fake_slack, user, "new CBA3 2026-12-20 Title", "need to be an organiser")


# --- due and withdraw ---------------------------------------------------------------------------


class TestChangeDue:
    def test_moves_the_due_instant_and_its_reminders_and_tells_the_cohort(
        self, slack: SlackDriver, world: World, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        ok(slack, ORGANISER, "new CBA3 2026-12-20 Stakeholder map")
        with sessions() as session:
            created = session.scalars(select(Assignment).order_by(Assignment.id.desc())).first()
            assert created is not None
        answer = ok(slack, ORGANISER, f"due {created.id} 2027-01-10")
        assert f"assignment #{created.id}" in answer.text
        new_due = datetime(2027, 1, 10, 22, 59, tzinfo=UTC)
        with sessions() as session:
            assert session.get_one(Assignment, created.id).due_at == new_due
            pending = session.scalars(
                select(Reminder).where(Reminder.subject_id == created.id, Reminder.status == "pending")
            ).all()
        assert sorted((r.offset_label, r.recipient, r.due_at) for r in pending) == sorted(
            (label, user, new_due - delta)
            for label, delta in (("3d", timedelta(days=3)), ("1d", timedelta(days=1)))
            for user in (P1, P2, P3)
        )
        assert len(fake_slack.messages_in(CHANNEL3)) == 2
        assert "now due" in fake_slack.messages_in(CHANNEL3)[-1].text
        assert len(fake_slack.dms_to(P1)) == 2

    def test_participants_who_submitted_get_no_new_reminders(
        self, slack: SlackDriver, world: World, sessions: sessionmaker[Session]
    ) -> None:
        ok(slack, ORGANISER, "new CBA3 2026-12-20 Stakeholder map")
        with sessions() as session:
            created = session.scalars(select(Assignment).order_by(Assignment.id.desc())).first()
            assert created is not None
        ok(slack, P1, f"submit {created.id} done")
        ok(slack, ORGANISER, f"due {created.id} 2027-01-10")
        with sessions() as session:
            pending = session.scalars(
                select(Reminder).where(Reminder.subject_id == created.id, Reminder.status == "pending")
            ).all()
        assert {r.recipient for r in pending} == {P2, P3}

    @pytest.mark.parametrize(
        ("user", "text", "expected"),
        [
            (ORGANISER, "due 999 2027-01-10", "no assignment #999"),
            (ORGANISER, "due {a} 2026-11-24", "has passed"),
            (ORGANISER, "due {a}", "YYYY-MM-DD"),
            (ORGANISER, "due {a} tomorrow", "YYYY-MM-DD"),
            (ORGANISER, "due x 2027-01-10", "not an assignment ID"),
            (P1, "due {a} 2027-01-10", "need to be an organiser"),
        ],
    )
    def test_bad_input_answers_usage_and_changes_nothing(
        self,
        slack: SlackDriver,
        world: World,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        user: str,
        text: str,
        expected: str,
    ) -> None:
        refused(slack, sessions, fake_slack, user, text.format(a=world.assignment_id), expected)


class TestWithdraw:
    def test_withdraws_cancels_reminders_and_tells_the_cohort(
        self, slack: SlackDriver, world: World, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        ok(slack, ORGANISER, "new CBA3 2026-12-20 Stakeholder map")
        with sessions() as session:
            created = session.scalars(select(Assignment).order_by(Assignment.id.desc())).first()
            assert created is not None
        answer = ok(slack, ORGANISER, f"withdraw {created.id}")
        assert f"assignment #{created.id}" in answer.text
        assert "withdrawn" in answer.text
        with sessions() as session:
            assert session.get_one(Assignment, created.id).withdrawn_at == clock.now
            statuses = set(session.scalars(select(Reminder.status).where(Reminder.subject_id == created.id)))
        assert statuses == {"cancelled"}
        assert "withdrawn" in fake_slack.messages_in(CHANNEL3)[-1].text
        # Gone from the participants' list, and closed for submissions.
        assert f"assignment #{created.id}" not in ok(slack, P1, "").text
        refused(slack, sessions, fake_slack, P1, f"submit {created.id} late answer", "withdrawn")
        refused(slack, sessions, fake_slack, ORGANISER, f"withdraw {created.id}", "already withdrawn")
        refused(slack, sessions, fake_slack, ORGANISER, f"due {created.id} 2027-01-10", "withdrawn")

    @pytest.mark.parametrize(
        ("user", "text", "expected"),
        [
            (ORGANISER, "withdraw 999", "no assignment #999"),
            (ORGANISER, "withdraw", "Which assignment"),
            (ORGANISER, "withdraw {a} now", "only the assignment ID"),
            (COACH, "withdraw {a}", "need to be an organiser"),
            (P1, "withdraw {a}", "need to be an organiser"),
        ],
    )
    def test_bad_input_answers_usage_and_changes_nothing(
        self,
        slack: SlackDriver,
        world: World,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        user: str,
        text: str,
        expected: str,
    ) -> None:
        refused(slack, sessions, fake_slack, user, text.format(a=world.assignment_id), expected)


# --- status -------------------------------------------------------------------------------------


class TestStatus:
    @pytest.fixture
    def submitted(self, world: World, sessions: sessionmaker[Session]) -> None:
        with sessions.begin() as session:
            assignment = session.get_one(Assignment, world.assignment_id)
            make_submission(session, assignment, session.get_one(Member, world.p1), DUE - timedelta(hours=1))
            make_submission(session, assignment, session.get_one(Member, world.p1), DUE + timedelta(hours=1))
            make_submission(session, assignment, session.get_one(Member, world.p2), DUE + timedelta(seconds=1))

    @pytest.mark.parametrize("user", [ORGANISER, COACH])
    def test_shows_on_time_late_and_missing_with_counts(
        self, slack: SlackDriver, world: World, submitted: None, user: str
    ) -> None:
        answer = ok(slack, user, f"status {world.assignment_id}")
        assert "1 on time, 1 late, 1 missing" in answer.text
        blocks = json.dumps(answer.json["blocks"])
        assert "On time (1)" in blocks
        assert "Paula One" in blocks
        assert "Late (1)" in blocks
        assert "Piet Two" in blocks
        assert "Missing (1)" in blocks
        assert "Pia Three" in blocks
        assert "<!date^" in blocks

    @pytest.mark.parametrize(
        ("user", "text", "expected"),
        [
            (P1, "status {a}", "need to be a coach or organiser"),
            (ORGANISER, "status 999", "no assignment #999"),
            (ORGANISER, "status", "Which assignment"),
            (ORGANISER, "status abc", "not an assignment ID"),
        ],
    )
    def test_bad_input_answers_usage_and_changes_nothing(
        self,
        slack: SlackDriver,
        world: World,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        user: str,
        text: str,
        expected: str,
    ) -> None:
        refused(slack, sessions, fake_slack, user, text.format(a=world.assignment_id), expected)


# --- the participant's list ---------------------------------------------------------------------


class TestList:
    def test_lists_the_cohorts_assignments_with_only_the_callers_status(
        self, slack: SlackDriver, world: World, sessions: sessionmaker[Session]
    ) -> None:
        with sessions.begin() as session:
            assignment = session.get_one(Assignment, world.assignment_id)
            mine = make_submission(session, assignment, session.get_one(Member, world.p1), DUE + timedelta(seconds=5))
            theirs = make_submission(session, assignment, session.get_one(Member, world.p2), DUE)
            make_feedback(session, mine, session.get_one(Member, world.p3), "ok", DUE)
            mine_id, theirs_id = mine.id, theirs.id
        answer = ok(slack, P1, "")
        blocks = json.dumps(answer.json["blocks"])
        assert f"assignment #{world.assignment_id}" in blocks
        assert f"assignment #{world.other_assignment_id}" not in blocks
        assert f"submission #{mine_id}, version 1 (late)" in blocks
        assert "1 feedback" in blocks
        assert f"submission #{theirs_id}" not in blocks
        assert "<!date^" in blocks
        buttons = [
            element
            for block in answer.json["blocks"]
            for element in [block.get("accessory") or {}]
            if element.get("action_id") == views.SUBMIT_ACTION
        ]
        assert [b["value"] for b in buttons] == [str(world.assignment_id)]

    def test_staff_get_an_overview_with_counts(self, slack: SlackDriver, world: World) -> None:
        answer = ok(slack, COACH, "")
        blocks = json.dumps(answer.json["blocks"])
        assert f"assignment #{world.assignment_id}" in blocks
        assert "0 on time, 0 late, 3 missing" in blocks

    def test_someone_without_a_role_is_refused(
        self, slack: SlackDriver, world: World, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        with sessions.begin() as session:
            make_member(session, "U0NOBODY", "Nobody")
        before = database_snapshot(sessions)
        answer = slack.command("U0NOBODY", CMD, "")
        assert answer.json["response_type"] == "ephemeral"
        assert "You are not registered in the Cluster Booster Academy yet" in answer.text
        assert f"<@{ORGANISER}>" in answer.text
        assert database_snapshot(sessions) == before

    def test_pages_with_next_and_previous(
        self, slack: SlackDriver, world: World, sessions: sessionmaker[Session], fake_slack: FakeSlack
    ) -> None:
        with sessions.begin() as session:
            cohort = session.get_one(Assignment, world.assignment_id).cohort
            for n in range(12):
                make_assignment(session, cohort, DUE + timedelta(days=n + 1), f"Extra {n}")
        first = ok(slack, P1, "")
        actions = [b for b in first.json["blocks"] if b["type"] == "actions"]
        assert [e["action_id"] for e in actions[0]["elements"]] == [f"{views.PAGE_ACTION}_next"]
        url = fake_slack.new_response_url(channel="C0GENERAL", user=P1)
        slack.action(P1, f"{views.PAGE_ACTION}_next", value="1", response_url=url)
        second = fake_slack.calls_to("response_url")[-1].args
        assert "Extra 11" in json.dumps(second["blocks"])
        assert "Extra 0" not in json.dumps(second["blocks"])


# --- submitting ---------------------------------------------------------------------------------


def _versions(sessions: sessionmaker[Session], participant_id: int, assignment_id: int) -> list[Submission]:
    with sessions() as session:
        return list(
            session.scalars(
                select(Submission)
                .where(Submission.participant_id == participant_id, Submission.assignment_id == assignment_id)
                .order_by(Submission.id)
            )
        )


class TestSubmit:
    def test_text_is_stored_as_version_one_on_time(
        self, slack: SlackDriver, world: World, sessions: sessionmaker[Session]
    ) -> None:
        answer = ok(slack, P1, f"submit {world.assignment_id} Our plan: grow &amp; export")
        [row] = _versions(sessions, world.p1, world.assignment_id)
        assert (row.version, row.text, row.link, row.late) == (1, "Our plan: grow & export", None, False)
        assert f"submission #{row.id}" in answer.text
        assert "on time" in answer.text

    @pytest.mark.parametrize(
        ("typed", "link"),
        [
            ("https://docs.example.com/plan", "https://docs.example.com/plan"),
            ("<https://docs.example.com/plan>", "https://docs.example.com/plan"),
            ("<https://docs.example.com/plan|My plan v2>", "https://docs.example.com/plan"),
            (
                "<https://cba.slack.com/files/U0PART1/F0ABC/plan.pdf|plan.pdf>",
                "https://cba.slack.com/files/U0PART1/F0ABC/plan.pdf",
            ),
        ],
    )
    def test_a_link_plain_or_slack_escaped_or_a_slack_file(
        self, slack: SlackDriver, world: World, sessions: sessionmaker[Session], typed: str, link: str
    ) -> None:
        ok(slack, P1, f"submit {world.assignment_id} {typed}")
        [row] = _versions(sessions, world.p1, world.assignment_id)
        assert (row.text, row.link) == ("", link)

    def test_three_submissions_keep_three_versions_in_order(
        self, slack: SlackDriver, world: World, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        for n in (1, 2, 3):
            ok(slack, P1, f"submit {world.assignment_id} draft {n}")
            clock.advance(timedelta(hours=1))
        rows = _versions(sessions, world.p1, world.assignment_id)
        assert [(r.version, r.text) for r in rows] == [(1, "draft 1"), (2, "draft 2"), (3, "draft 3")]
        assert rows[0].submitted_at < rows[1].submitted_at < rows[2].submitted_at
        assert _versions(sessions, world.p2, world.assignment_id) == []

    @pytest.mark.parametrize(("delta", "late"), [(timedelta(seconds=-1), False), (timedelta(seconds=1), True)])
    def test_late_is_decided_against_the_due_instant(
        self,
        slack: SlackDriver,
        world: World,
        sessions: sessionmaker[Session],
        clock: Clock,
        delta: timedelta,
        late: bool,
    ) -> None:
        clock.set(DUE + delta)
        answer = ok(slack, P1, f"submit {world.assignment_id} just in time?")
        [row] = _versions(sessions, world.p1, world.assignment_id)
        assert row.late is late
        assert ("late" if late else "on time") in answer.text

    def test_a_submission_cancels_the_participants_own_reminders_only(
        self, slack: SlackDriver, world: World, sessions: sessionmaker[Session]
    ) -> None:
        ok(slack, ORGANISER, "new CBA3 2026-12-20 Stakeholder map")
        with sessions() as session:
            created = session.scalars(select(Assignment).order_by(Assignment.id.desc())).first()
            assert created is not None
        ok(slack, P2, f"submit {created.id} done")
        with sessions() as session:
            rows = session.scalars(select(Reminder).where(Reminder.subject_id == created.id)).all()
        assert {(r.recipient, r.status) for r in rows} == {(P1, "pending"), (P2, "cancelled"), (P3, "pending")}

    @pytest.mark.parametrize(
        ("user", "text", "expected"),
        [
            (P1, "submit 999 my answer", "no assignment #999"),
            (P1, "submit {other} my answer", "not for your cohort"),
            (OTHER, "submit {a} my answer", "not for your cohort"),
            (COACH, "submit {a} my answer", "need to be a participant"),
            (ORGANISER, "submit {a} my answer", "need to be a participant"),
            (P1, "submit", "Which assignment"),
            (P1, "submit three my answer", "not an assignment ID"),
            (P1, "submit 999", "no assignment #999"),
            (OTHER, "submit {a}", "not for your cohort"),
            (P1, "frobnicate", "not a /cba-homework subcommand"),
        ],
    )
    def test_bad_input_answers_usage_and_changes_nothing(
        self,
        slack: SlackDriver,
        world: World,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        user: str,
        text: str,
        expected: str,
    ) -> None:
        text = text.format(a=world.assignment_id, other=world.other_assignment_id)
        refused(slack, sessions, fake_slack, user, text, expected)


class TestSubmitModal:
    def _open(self, slack: SlackDriver, fake: FakeSlack, world: World) -> dict[str, Any]:
        answer = slack.command(P1, CMD, f"submit {world.assignment_id}")
        assert answer.status == 200
        assert "Usage" not in answer.text
        [call] = fake.calls_to("views.open")
        view = call.response["view"]
        assert view["callback_id"] == views.MODAL_CALLBACK
        return dict(view)

    @staticmethod
    def _values(text: str | None, link: str | None) -> dict[str, dict[str, dict[str, Any]]]:
        return {
            views.TEXT_BLOCK: {views.TEXT_ACTION: {"type": "plain_text_input", "value": text}},
            views.LINK_BLOCK: {views.LINK_ACTION: {"type": "plain_text_input", "value": link}},
        }

    def test_submit_without_text_opens_a_modal_and_its_answer_is_stored(
        self, slack: SlackDriver, world: World, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        view = self._open(slack, fake_slack, world)
        answer = slack.submit(P1, view, self._values("From the form", "https://docs.example.com/x"))
        assert answer.status == 200
        [row] = _versions(sessions, world.p1, world.assignment_id)
        assert (row.text, row.link, row.version) == ("From the form", "https://docs.example.com/x", 1)
        [told] = fake_slack.calls_to("chat.postEphemeral")
        assert f"submission #{row.id}" in told.args["text"]

    @pytest.mark.parametrize(
        ("text", "link", "block"),
        [(None, None, views.TEXT_BLOCK), ("   ", "", views.TEXT_BLOCK), ("ok", "not a link", views.LINK_BLOCK)],
    )
    def test_empty_or_bad_fields_show_errors_and_store_nothing(
        self,
        slack: SlackDriver,
        world: World,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        text: str | None,
        link: str | None,
        block: str,
    ) -> None:
        view = self._open(slack, fake_slack, world)
        before = database_snapshot(sessions)
        answer = slack.submit(P1, view, self._values(text, link))
        assert answer.json["response_action"] == "errors"
        assert list(answer.json["errors"]) == [block]
        assert database_snapshot(sessions) == before

    def test_the_submit_button_opens_the_same_modal(
        self, slack: SlackDriver, world: World, fake_slack: FakeSlack
    ) -> None:
        slack.action(P1, views.SUBMIT_ACTION, value=str(world.assignment_id))
        [call] = fake_slack.calls_to("views.open")
        assert call.response["view"]["callback_id"] == views.MODAL_CALLBACK
        assert json.loads(call.response["view"]["private_metadata"])["assignment_id"] == world.assignment_id

    def test_the_submit_button_refuses_another_cohort(
        self, slack: SlackDriver, world: World, fake_slack: FakeSlack
    ) -> None:
        slack.action(OTHER, views.SUBMIT_ACTION, value=str(world.assignment_id))
        assert fake_slack.calls_to("views.open") == []
        told = fake_slack.calls_to("response_url")
        assert told
        assert "not for your cohort" in told[-1].args["text"]


# --- review and show ----------------------------------------------------------------------------


class TestReview:
    @pytest.fixture
    def submission_id(self, world: World, sessions: sessionmaker[Session]) -> int:
        with sessions.begin() as session:
            assignment = session.get_one(Assignment, world.assignment_id)
            make_submission(session, assignment, session.get_one(Member, world.p2), DUE - timedelta(days=1))
            return make_submission(session, assignment, session.get_one(Member, world.p1), DUE - timedelta(days=1)).id

    @pytest.mark.parametrize("reviewer", [COACH, ORGANISER])
    def test_feedback_goes_to_the_right_participant_only(
        self,
        slack: SlackDriver,
        world: World,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        submission_id: int,
        reviewer: str,
    ) -> None:
        answer = ok(slack, reviewer, f"review {submission_id} Clear priorities <!channel> & good targets")
        assert f"submission #{submission_id}" in answer.text
        [dm] = fake_slack.dms_to(P1)
        assert f"submission #{submission_id}" in dm.text
        body = json.dumps(dm.blocks)
        assert "Clear priorities &lt;!channel&gt; &amp; good targets" in body
        assert "<!channel>" not in body
        assert "<!channel>" not in dm.text
        for user in (P2, P3, OTHER, COACH, ORGANISER):
            assert fake_slack.dms_to(user) == []
        with sessions() as session:
            [feedback] = _all(session, Feedback)
            assert feedback.submission_id == submission_id
            assert feedback.text == "Clear priorities <!channel> & good targets"

    def test_the_feedback_dm_arrives_once_when_slack_fails_once(
        self,
        bot: Bot,
        slack: SlackDriver,
        world: World,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
        submission_id: int,
    ) -> None:
        fake_slack.fail("chat.postMessage", "internal_error", status=500, times=1)
        ok(slack, COACH, f"review {submission_id} Clear priorities")
        assert fake_slack.dms_to(P1) == []
        clock.advance(timedelta(minutes=1))  # past the retry's back-off
        tick(bot.deps)
        tick(bot.deps)
        [dm] = fake_slack.dms_to(P1)
        assert "Clear priorities" in json.dumps(dm.blocks)
        with sessions() as session:
            row = session.scalars(select(Reminder).where(Reminder.kind == "message")).one()
            assert (row.recipient, row.status, row.attempts) == (P1, "sent", 2)

    @pytest.mark.parametrize(
        ("user", "text", "expected"),
        [
            (P1, "review {s} Looks good", "need to be a coach or organiser"),
            (P2, "review {s} Looks good", "need to be a coach or organiser"),
            (COACH, "review 999 Looks good", "no submission #999"),
            (COACH, "review {s}", "Write the feedback"),
            (COACH, "review {s}    ", "Write the feedback"),
            (COACH, "review", "Which submission"),
        ],
    )
    def test_bad_input_answers_usage_and_changes_nothing(
        self,
        slack: SlackDriver,
        world: World,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        submission_id: int,
        user: str,
        text: str,
        expected: str,
    ) -> None:
        refused(slack, sessions, fake_slack, user, text.format(s=submission_id), expected)
        assert fake_slack.dms_to(P1) == []


class TestShow:
    @pytest.fixture
    def submission_id(self, world: World, sessions: sessionmaker[Session]) -> int:
        with sessions.begin() as session:
            assignment = session.get_one(Assignment, world.assignment_id)
            p1 = session.get_one(Member, world.p1)
            make_submission(session, assignment, p1, DUE - timedelta(days=2), "first draft")
            second = make_submission(session, assignment, p1, DUE - timedelta(days=1), "second <b>draft</b>")
            coach = session.scalars(select(Member).where(Member.slack_id == COACH)).one()
            make_feedback(session, second, coach, "Good, tighten the intro", DUE - timedelta(hours=20))
            make_feedback(session, second, coach, "Now it reads well", DUE - timedelta(hours=10))
            return second.id

    @pytest.mark.parametrize("user", [P1, COACH, ORGANISER])
    def test_owner_and_staff_see_the_submission_with_its_feedback_history(
        self, slack: SlackDriver, world: World, submission_id: int, user: str
    ) -> None:
        answer = ok(slack, user, f"show {submission_id}")
        blocks = json.dumps(answer.json["blocks"])
        assert "second &lt;b&gt;draft&lt;/b&gt;" in blocks
        assert "version 2 of 2" in blocks
        assert blocks.index("Good, tighten the intro") < blocks.index("Now it reads well")
        assert "Carla Coach" in blocks

    @pytest.mark.parametrize(
        ("user", "text", "expected"),
        [
            (P2, "show {s}", "need to be a coach or organiser"),
            (OTHER, "show {s}", "need to be a coach or organiser"),
            (P1, "show 999", "no submission #999"),
        ],
    )
    def test_others_are_refused(
        self,
        slack: SlackDriver,
        world: World,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        submission_id: int,
        user: str,
        text: str,
        expected: str,
    ) -> None:
        answer = refused(slack, sessions, fake_slack, user, text.format(s=submission_id), expected)
        assert "second" not in answer.text
