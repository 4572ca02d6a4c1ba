"""The homework grace window (SPEC 4.4): on time, late (within grace), late — at the due instant ± the window.

Signed requests through Bolt, the fake Slack API and the real database (SQLite and PostgreSQL).
The module's settings have CBA_HOMEWORK_GRACE=2h; `/cba-homework grace` overrides it per assignment.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.kernel.settings import Settings
from commands.homework.export import export_homework
from storage.models import Assignment, Cohort, Reminder, Submission
from tests.conftest import ORGANISER, Clock, with_settings
from tests.factories import database_snapshot, make_cohort, make_member
from tests.factories_homework import make_assignment

CMD = "/cba-homework"
COACH = "U0COACH1"
P_AT_DUE, P_AFTER_DUE, P_AT_END, P_AFTER_END = "U0PDUE", "U0PDUE1S", "U0PEND", "U0PEND1S"
NAMES = {
    P_AT_DUE: "Ada AtDue",
    P_AFTER_DUE: "Ben AfterDue",
    P_AT_END: "Cleo AtEnd",
    P_AFTER_END: "Dan AfterEnd",
}
DEFAULT_GRACE = timedelta(hours=2)
DUE = datetime(2026, 12, 15, 22, 59, tzinfo=UTC)  # 2026-12-15 23:59 in Brussels (CET)
SECOND = timedelta(seconds=1)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_settings(settings, homework_grace=DEFAULT_GRACE)


@pytest.fixture
def cohort(session: Session, fake_slack: FakeSlack) -> int:
    fake_slack.add_channel("C0COHORT3", "cba3")
    cba3 = make_cohort(session, "CBA3", channel="C0COHORT3")
    for user_id, name in NAMES.items():
        fake_slack.add_user(user_id, name)
        make_member(session, user_id, name, "participant", cohort=cba3)
    fake_slack.add_user(COACH, "Carla Coach")
    make_member(session, COACH, "Carla Coach", "coach")
    make_member(session, ORGANISER, "Olga Organiser")
    session.commit()
    return cba3.id


def _assignment(sessions: sessionmaker[Session], assignment_id: int) -> Assignment:
    with sessions() as session:
        found = session.get(Assignment, assignment_id)
        assert found is not None
        return found


def _new_assignment(slack: SlackDriver, sessions: sessionmaker[Session], day: str) -> int:
    answer = slack.command(ORGANISER, CMD, f"new CBA3 {day} Action plan")
    assert "Created" in answer.text, answer.text
    with sessions() as session:
        return max(session.scalars(select(Assignment.id)))


def _submit_at_boundaries(slack: SlackDriver, clock: Clock, assignment_id: int, due: datetime, end: datetime) -> None:
    """One participant each at due, due+1s, due+grace, due+grace+1s; each confirmation says its status."""
    for user_id, instant, status in (
        (P_AT_DUE, due, "on time"),
        (P_AFTER_DUE, due + SECOND, "late (within grace)"),
        (P_AT_END, end, "late (within grace)"),
        (P_AFTER_END, end + SECOND, "late"),
    ):
        clock.set(instant)
        answer = slack.command(user_id, CMD, f"submit {assignment_id} My plan")
        assert "Submitted" in answer.text, answer.text
        assert f"version 1, {status};" in answer.text, (user_id, answer.text)


def _statuses(slack: SlackDriver, assignment_id: int) -> dict[str, str]:
    """Name -> status, from `/cba-homework status` as the organiser reads it."""
    answer = slack.command(ORGANISER, CMD, f"status {assignment_id}")
    text = "\n".join(b["text"]["text"] for b in answer.json["blocks"] if b["type"] == "section")
    found, group = {}, ""
    for line in text.splitlines():
        if line.startswith(":") and "*" in line:
            group = line.split("*")[1].rsplit(" (", 1)[0].lower()
        elif line.startswith("• "):
            found[line[2:].split(" — ")[0]] = group
    return found


EXPECTED = {
    "Ada AtDue": "on time",
    "Ben AfterDue": "late (within grace)",
    "Cleo AtEnd": "late (within grace)",
    "Dan AfterEnd": "late",
}


def _export_statuses(sessions: sessionmaker[Session]) -> dict[str, tuple[str, str]]:
    with sessions() as session:
        rows = list(export_homework(session, "CBA3"))
    header = list(rows[0])
    return {row[header.index("name")]: (row[header.index("status")], row[header.index("late")]) for row in rows[1:]}


class TestGraceSetByTheCommand:
    def test_boundaries_reach_the_confirmation_status_home_report_and_export(
        self,
        slack: SlackDriver,
        sessions: sessionmaker[Session],
        session: Session,
        clock: Clock,
        cohort: int,
        fake_slack: FakeSlack,
    ) -> None:
        assignment = make_assignment(session, _cohort(session, cohort), DUE)
        session.commit()
        answer = slack.command(ORGANISER, CMD, f"grace {assignment.id} 3")
        assert "3h grace" in answer.text, answer.text
        assert "Reminders stay tied to the due time" in answer.text
        grace = timedelta(hours=3)
        assert _assignment(sessions, assignment.id).grace_minutes == 180
        _submit_at_boundaries(slack, clock, assignment.id, DUE, DUE + grace)

        assert _statuses(slack, assignment.id) == EXPECTED
        status = slack.command(ORGANISER, CMD, f"status {assignment.id}").text
        assert "1 on time, 2 late (within grace), 1 late, 0 missing" in status
        assert _export_statuses(sessions) == {
            "Ada AtDue": ("on time", "no"),
            "Ben AfterDue": ("late (within grace)", "yes"),
            "Cleo AtEnd": ("late (within grace)", "yes"),
            "Dan AfterEnd": ("late", "yes"),
        }
        # Each participant's own list and Home.
        assert "late (within grace)" in slack.command(P_AFTER_DUE, CMD, "").text
        mine = slack.command(P_AFTER_END, CMD, "").text
        assert ": late" in mine
        assert "within grace" not in mine
        slack.settle()
        homes = {call.args["user_id"]: json.dumps(call.args["view"]) for call in fake_slack.calls_to("views.publish")}
        assert "submitted late (within grace)" in homes[P_AT_END]
        assert "submitted late" in homes[P_AFTER_END]
        assert "submitted late (within grace)" not in homes[P_AFTER_END]
        assert "submitted on time" in homes[P_AT_DUE]

        # The report: the summary and the CSV's added column (homework_late still counts every late one).
        report = slack.command(ORGANISER, "/cba-admin", "report CBA3")
        assert "1 on time, 3 late (2 within grace), 0 missing" in json.dumps(report.json["blocks"])
        fake_slack.wait_for("files.completeUploadExternal")
        [csv_file] = [f for f in fake_slack.files if f.filename.endswith(".csv")]
        rows = {row["name"]: row for row in csv.DictReader(io.StringIO(csv_file.content.decode()))}
        assert {name: (row["homework_late"], row["homework_late_within_grace"]) for name, row in rows.items()} == {
            "Ada AtDue": ("0", "0"),
            "Ben AfterDue": ("1", "1"),
            "Cleo AtEnd": ("1", "1"),
            "Dan AfterEnd": ("1", "0"),
        }

    def test_a_grace_set_afterwards_counts_for_submissions_already_in_and_reminders_stay(
        self, slack: SlackDriver, sessions: sessionmaker[Session], session: Session, clock: Clock, cohort: int
    ) -> None:
        clock.set(DUE - timedelta(days=10))
        assignment_id = _new_assignment(slack, sessions, "2026-12-15")
        with sessions() as s:
            reminders_before = sorted(
                (r.recipient, r.due_at) for r in s.scalars(select(Reminder).where(Reminder.subject_id == assignment_id))
            )
        assert reminders_before
        slack.command(ORGANISER, CMD, f"grace {assignment_id} 0")
        clock.set(DUE + SECOND)
        answer = slack.command(P_AFTER_DUE, CMD, f"submit {assignment_id} My plan")
        assert "version 1, late;" in answer.text  # no grace: a second after the due time is late
        assert _statuses(slack, assignment_id)["Ben AfterDue"] == "late"
        answer = slack.command(ORGANISER, CMD, f"grace {assignment_id} 1.5")
        assert "1h30m grace" in answer.text
        assert _assignment(sessions, assignment_id).grace_minutes == 90
        assert _statuses(slack, assignment_id)["Ben AfterDue"] == "late (within grace)"
        with sessions() as s:
            after = sorted(
                (r.recipient, r.due_at) for r in s.scalars(select(Reminder).where(Reminder.subject_id == assignment_id))
            )
        assert after == reminders_before  # the grace moved no reminder


def _cohort(session: Session, cohort_id: int) -> Cohort:
    return session.get_one(Cohort, cohort_id)


class TestGraceFromTheEnvironment:
    def test_new_assignments_take_cba_homework_grace(
        self, slack: SlackDriver, sessions: sessionmaker[Session], clock: Clock, cohort: int
    ) -> None:
        clock.set(DUE - timedelta(days=10))
        assignment_id = _new_assignment(slack, sessions, "2026-12-15")
        assignment = _assignment(sessions, assignment_id)
        assert assignment.due_at == DUE
        assert assignment.grace_minutes == 120
        _submit_at_boundaries(slack, clock, assignment_id, DUE, DUE + DEFAULT_GRACE)
        assert _statuses(slack, assignment_id) == EXPECTED

    def test_the_command_overrides_the_default(
        self, slack: SlackDriver, sessions: sessionmaker[Session], clock: Clock, cohort: int
    ) -> None:
        clock.set(DUE - timedelta(days=10))
        assignment_id = _new_assignment(slack, sessions, "2026-12-15")
        slack.command(ORGANISER, CMD, f"grace {assignment_id} 1")
        _submit_at_boundaries(slack, clock, assignment_id, DUE, DUE + timedelta(hours=1))
        assert _statuses(slack, assignment_id) == EXPECTED


class TestDaylightSavingTime:
    """Brussels changes to summer time at 02:00 on 2027-03-28; the grace is real time, checked in UTC."""

    @pytest.mark.parametrize(
        ("day", "grace", "due_utc", "end_utc"),
        [
            # Due the night summer time starts (23:59 CEST = 21:59 UTC), 2h grace.
            ("2027-03-28", "2", datetime(2027, 3, 28, 21, 59, tzinfo=UTC), datetime(2027, 3, 28, 23, 59, tzinfo=UTC)),
            # Due the evening before (23:59 CET = 22:59 UTC), 3h grace spanning the change: ends 03:59 CEST.
            ("2027-03-27", "3", datetime(2027, 3, 27, 22, 59, tzinfo=UTC), datetime(2027, 3, 28, 1, 59, tzinfo=UTC)),
        ],
    )
    def test_the_window_is_due_plus_grace_in_real_time(
        self,
        slack: SlackDriver,
        sessions: sessionmaker[Session],
        clock: Clock,
        cohort: int,
        day: str,
        grace: str,
        due_utc: datetime,
        end_utc: datetime,
    ) -> None:
        clock.set(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
        assignment_id = _new_assignment(slack, sessions, day)
        slack.command(ORGANISER, CMD, f"grace {assignment_id} {grace}")
        assignment = _assignment(sessions, assignment_id)
        assert assignment.due_at == due_utc
        _submit_at_boundaries(slack, clock, assignment_id, due_utc, end_utc)
        assert _statuses(slack, assignment_id) == EXPECTED
        with sessions() as session:
            stamps = sorted(s.submitted_at for s in session.scalars(select(Submission)))
        assert stamps == [due_utc, due_utc + SECOND, end_utc, end_utc + SECOND]


class TestRefusals:
    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            ("grace {id} abc", "in hours, 0 to 168"),
            ("grace {id} -1", "in hours, 0 to 168"),
            ("grace {id} 169", "at most 168 hours"),
            ("grace {id} 1000", "in hours, 0 to 168"),
            ("grace {id}", "in hours, 0 to 168"),
            ("grace {id} 2 3", "in hours, 0 to 168"),
            ("grace 9999 2", "9999"),
            ("grace abc 2", "assignment"),
            ("grace", "Which assignment?"),
        ],
    )
    def test_bad_input_is_refused_with_usage_and_changes_nothing(
        self,
        slack: SlackDriver,
        sessions: sessionmaker[Session],
        session: Session,
        cohort: int,
        fake_slack: FakeSlack,
        text: str,
        fragment: str,
    ) -> None:
        assignment = make_assignment(session, _cohort(session, cohort), DUE)
        assignment.grace_minutes = 60
        session.commit()
        before = database_snapshot(sessions)
        answer = slack.command(ORGANISER, CMD, text.format(id=assignment.id))
        assert answer.json["response_type"] == "ephemeral"
        assert "Usage of `/cba-homework`" in answer.text
        assert "grace ASSIGNMENT-ID HOURS" in answer.text
        assert fragment in answer.text, answer.text
        assert database_snapshot(sessions) == before
        assert _assignment(sessions, assignment.id).grace_minutes == 60

    @pytest.mark.parametrize("user", [COACH, P_AT_DUE])
    def test_only_organisers_set_the_grace(
        self, slack: SlackDriver, sessions: sessionmaker[Session], session: Session, cohort: int, user: str
    ) -> None:
        assignment = make_assignment(session, _cohort(session, cohort), DUE)
        session.commit()
        before = database_snapshot(sessions)
        answer = slack.command(user, CMD, f"grace {assignment.id} 2")
        assert "organiser" in answer.text
        assert database_snapshot(sessions) == before
