"""Homework rules against the real database (SQLite and PostgreSQL): time, versions, reminders, export, demo."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.demo import load_demo
from bot.features import build_registry
from bot.kernel.kinds import Outgoing, Skip
from commands.common.actors import Actor, load_actor
from commands.common.csv_text import to_csv
from commands.homework import service
from commands.homework.reminders import render
from storage.models import Assignment, Cohort, Feedback, Member, Reminder, Submission
from tests.factories import make_cohort, make_member
from tests.factories_homework import make_assignment, make_feedback, make_submission

BRUSSELS = ZoneInfo("Europe/Brussels")
ZONE = BRUSSELS
OFFSETS = (timedelta(days=3), timedelta(days=1))
ORGANISER = "U0ORGANISER"


def actor(session: Session, slack_id: str) -> Actor:
    return load_actor(session, slack_id, frozenset({ORGANISER}))


@pytest.fixture
def cohort(session: Session) -> Cohort:
    cohort = make_cohort(session, "CBA3")
    for n in (1, 2, 3):
        make_member(session, f"U0PART{n}", f"Participant {n}", "participant", cohort=cohort)
    make_member(session, "U0COACH1", "Carla Coach", "coach")
    make_member(session, ORGANISER, "Olga Organiser")
    return cohort


def create(session: Session, cohort: Cohort, due: date, now: datetime, zone: ZoneInfo = BRUSSELS) -> Assignment:
    announced = service.create_assignment(
        session,
        actor(session, ORGANISER),
        cohort_code=cohort.code,
        due=due,
        title="Action plan",
        description="",
        zone=zone,
        now=now,
        offsets=OFFSETS,
    )
    return announced.assignment


# --- the due instant ----------------------------------------------------------------------------


class TestDueInstant:
    @pytest.mark.parametrize(
        ("day", "zone", "expected"),
        [
            # Europe/Brussels: CET (UTC+1) in winter, CEST (UTC+2) from the last Sunday of March.
            (date(2026, 3, 28), "Europe/Brussels", datetime(2026, 3, 28, 22, 59, tzinfo=UTC)),
            (date(2026, 3, 29), "Europe/Brussels", datetime(2026, 3, 29, 21, 59, tzinfo=UTC)),
            (date(2026, 10, 24), "Europe/Brussels", datetime(2026, 10, 24, 21, 59, tzinfo=UTC)),
            (date(2026, 10, 25), "Europe/Brussels", datetime(2026, 10, 25, 22, 59, tzinfo=UTC)),
            (date(2026, 12, 15), "America/New_York", datetime(2026, 12, 16, 4, 59, tzinfo=UTC)),
            # Santiago turns its clocks back at midnight: 23:59 happens twice; the later one counts.
            (date(2026, 4, 4), "America/Santiago", datetime(2026, 4, 5, 3, 59, tzinfo=UTC)),
        ],
    )
    def test_is_2359_on_the_wall_clock_of_the_zone(self, day: date, zone: str, expected: datetime) -> None:
        assert service.due_instant(day, ZoneInfo(zone)) == expected


class TestLateAcrossDaylightSaving:
    """Due 2026-03-29 (the spring change in Brussels): 23:59 CEST is 21:59 UTC, not 22:59."""

    DUE = datetime(2026, 3, 29, 21, 59, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("submitted", "late"),
        [
            (DUE - timedelta(seconds=1), False),
            (DUE, False),
            (DUE + timedelta(seconds=1), True),
            # 22:30 UTC would still be "before 23:59" had the winter offset been used.
            (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), True),
        ],
    )
    def test_submission_is_late_only_after_the_due_instant(
        self, session: Session, cohort: Cohort, submitted: datetime, late: bool
    ) -> None:
        assignment = create(session, cohort, date(2026, 3, 29), now=datetime(2026, 3, 20, tzinfo=UTC))
        assert assignment.due_at == self.DUE
        submission = service.submit(
            session, actor(session, "U0PART1"), assignment.id, text="done", link=None, now=submitted
        )
        assert submission.late is late

    def test_autumn_change_too(self, session: Session, cohort: Cohort) -> None:
        assignment = create(session, cohort, date(2026, 10, 25), now=datetime(2026, 10, 20, tzinfo=UTC))
        due = datetime(2026, 10, 25, 22, 59, tzinfo=UTC)
        assert assignment.due_at == due
        on_time = service.submit(session, actor(session, "U0PART1"), assignment.id, text="a", link=None, now=due)
        late = service.submit(
            session, actor(session, "U0PART2"), assignment.id, text="b", link=None, now=due + timedelta(seconds=1)
        )
        assert (on_time.late, late.late) == (False, True)

    def test_a_past_due_date_is_refused_at_creation(self, session: Session, cohort: Cohort) -> None:
        from commands.common.errors import UsageError

        with pytest.raises(UsageError, match="has passed"):
            create(session, cohort, date(2026, 3, 29), now=self.DUE + timedelta(seconds=1))


# --- versions and progress ----------------------------------------------------------------------


class TestVersions:
    def test_three_submissions_keep_three_versions_in_order(self, session: Session, cohort: Cohort) -> None:
        now = datetime(2026, 11, 25, 9, tzinfo=UTC)
        assignment = create(session, cohort, date(2026, 12, 15), now=now)
        participant = actor(session, "U0PART1")
        made = [
            service.submit(session, participant, assignment.id, text=f"v{n}", link=None, now=now + timedelta(hours=n))
            for n in (1, 2, 3)
        ]
        rows = session.scalars(select(Submission).order_by(Submission.version)).all()
        assert [(r.id, r.version, r.text) for r in rows] == [(s.id, n, f"v{n}") for n, s in enumerate(made, 1)]

    def test_state_is_on_time_if_any_version_came_in_time(self, session: Session, cohort: Cohort) -> None:
        due = datetime(2026, 12, 15, 22, 59, tzinfo=UTC)
        assignment = make_assignment(session, cohort, due)
        p1, p2 = (session.scalars(select(Member).where(Member.slack_id == f"U0PART{n}")).one() for n in (1, 2))
        first = make_submission(session, assignment, p1, due - timedelta(hours=1))
        make_submission(session, assignment, p1, due + timedelta(hours=1))
        make_submission(session, assignment, p2, due + timedelta(seconds=1))
        make_feedback(session, first, p2, "nice", due)
        rows = {row.member.slack_id: row for row in service.assignment_progress(session, assignment)}
        assert {k: (r.state, r.versions, r.feedback_count) for k, r in rows.items()} == {
            "U0PART1": (service.ON_TIME, 2, 1),
            "U0PART2": (service.LATE, 1, 0),
            "U0PART3": (service.MISSING, 0, 0),
        }


# --- reminders ----------------------------------------------------------------------------------


def _open_rows(session: Session, assignment: Assignment) -> list[Reminder]:
    return list(
        session.scalars(
            select(Reminder)
            .where(Reminder.subject_id == assignment.id, Reminder.status == "pending")
            .order_by(Reminder.due_at, Reminder.recipient)
        )
    )


def _send_due(session: Session, until: datetime) -> list[tuple[str, str, Outgoing | Skip]]:
    """What a delivery loop would do: render every pending reminder due by `until`, at its time."""
    renderer = build_registry().renderers.get("homework")
    assert getattr(renderer, "__wrapped__", None) is render  # (quiet while the recipient is away)
    results = []
    for row in session.scalars(
        select(Reminder).where(Reminder.status == "pending", Reminder.due_at <= until).order_by(Reminder.due_at)
    ):
        outcome = renderer(session, row, row.due_at, ZONE)
        row.status = "sent" if isinstance(outcome, Outgoing) else "skipped"
        results.append((row.recipient, row.offset_label, outcome))
    session.flush()
    return results


class TestReminders:
    NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)
    DUE = datetime(2026, 12, 15, 22, 59, tzinfo=UTC)

    def test_planned_once_per_offset_and_participant(self, session: Session, cohort: Cohort) -> None:
        assignment = create(session, cohort, date(2026, 12, 15), now=self.NOW)
        rows = _open_rows(session, assignment)
        assert sorted((r.kind, r.offset_label, r.recipient, r.due_at) for r in rows) == sorted(
            ("homework", label, f"U0PART{n}", self.DUE - delta)
            for label, delta in (("3d", OFFSETS[0]), ("1d", OFFSETS[1]))
            for n in (1, 2, 3)
        )
        # Planning again changes nothing.
        service.plan_reminders(session, assignment, OFFSETS, self.NOW)
        assert session.scalar(select(func.count()).select_from(Reminder)) == 6

    def test_a_participant_who_submitted_after_planning_is_skipped_the_others_get_one_per_offset(
        self, session: Session, cohort: Cohort
    ) -> None:
        assignment = create(session, cohort, date(2026, 12, 15), now=self.NOW)
        p1_rows = [r for r in _open_rows(session, assignment) if r.recipient == "U0PART1"]
        # U0PART1 submits between planning and sending.
        service.submit(
            session, actor(session, "U0PART1"), assignment.id, text="done", link=None, now=self.NOW + timedelta(days=1)
        )
        for row in p1_rows:
            assert render(session, row, row.due_at, ZONE) == Skip("already submitted")
        sent = _send_due(session, self.DUE)
        outgoing = sorted((who, label) for who, label, outcome in sent if isinstance(outcome, Outgoing))
        assert outgoing == sorted((f"U0PART{n}", label) for n in (2, 3) for label in ("3d", "1d"))
        assert all(isinstance(outcome, Outgoing) for _who, _label, outcome in sent)
        message = next(outcome for _w, _l, outcome in sent if isinstance(outcome, Outgoing))
        assert f"assignment #{assignment.id}" in message.text
        assert message.blocks[0]["accessory"]["action_id"] == "homework_submit"

    def test_a_submission_between_two_offsets_stops_the_later_one(self, session: Session, cohort: Cohort) -> None:
        assignment = create(session, cohort, date(2026, 12, 15), now=self.NOW)
        first = _send_due(session, self.DUE - timedelta(days=3))
        assert sorted(who for who, _l, o in first if isinstance(o, Outgoing)) == ["U0PART1", "U0PART2", "U0PART3"]
        # A submission that the planner did not hear of (e.g. added by an import) is still caught at send time.
        p2 = session.scalars(select(Member).where(Member.slack_id == "U0PART2")).one()
        make_submission(session, assignment, p2, self.DUE - timedelta(days=2))
        second = _send_due(session, self.DUE)
        assert sorted((who, type(o).__name__) for who, _l, o in second) == [
            ("U0PART1", "Outgoing"),
            ("U0PART2", "Skip"),
            ("U0PART3", "Outgoing"),
        ]

    def test_withdrawn_or_already_due_assignments_are_skipped(self, session: Session, cohort: Cohort) -> None:
        assignment = create(session, cohort, date(2026, 12, 15), now=self.NOW)
        row = _open_rows(session, assignment)[0]
        assert isinstance(render(session, row, row.due_at, ZONE), Outgoing)
        assert render(session, row, self.DUE, ZONE) == Skip("the assignment is already due")
        service.withdraw(session, actor(session, ORGANISER), assignment.id, now=self.NOW)
        assert render(session, row, row.due_at, ZONE) == Skip("the assignment was withdrawn")
        assert _open_rows(session, assignment) == []

    def test_changing_the_due_date_moves_the_reminders(self, session: Session, cohort: Cohort) -> None:
        assignment = create(session, cohort, date(2026, 12, 15), now=self.NOW)
        service.change_due(
            session, actor(session, ORGANISER), assignment.id, date(2026, 3, 29) + timedelta(days=365),
            zone=BRUSSELS, now=self.NOW, offsets=OFFSETS,
        )  # fmt: skip
        due = datetime(2027, 3, 29, 21, 59, tzinfo=UTC)  # CEST again by then
        rows = _open_rows(session, assignment)
        assert len(rows) == 6
        assert {r.due_at for r in rows} == {due - OFFSETS[0], due - OFFSETS[1]}


# --- export and demo ----------------------------------------------------------------------------


class TestExport:
    def test_one_row_per_participant_and_assignment(self, session: Session, cohort: Cohort) -> None:
        due = datetime(2026, 12, 15, 22, 59, tzinfo=UTC)
        first = make_assignment(session, cohort, due, "First")
        second = make_assignment(session, cohort, due + timedelta(days=7), "Second")
        make_assignment(session, cohort, due, "Withdrawn", withdrawn_at=due - timedelta(days=9))
        other = make_cohort(session, "CBA2", channel="C0COHORT2")
        make_assignment(session, other, due, "Other cohort")
        make_member(session, "U0OTHER1", "Otto Other", "participant", cohort=other)
        p1 = session.scalars(select(Member).where(Member.slack_id == "U0PART1")).one()
        coach = session.scalars(select(Member).where(Member.slack_id == "U0COACH1")).one()
        make_submission(session, first, p1, due - timedelta(days=1))
        latest = make_submission(session, first, p1, due + timedelta(hours=2))
        make_feedback(session, latest, coach, "ok", due + timedelta(hours=3))
        export = build_registry().exporters.get("homework")
        assert export is not None
        rows = list(csv.DictReader(io.StringIO(to_csv(export(session, "cba3")))))
        assert [(r["assignment_id"], r["slack_id"]) for r in rows] == [
            (str(a.id), f"U0PART{n}") for a in (first, second) for n in (1, 2, 3)
        ]
        p1_first = rows[0]
        assert p1_first["status"] == "on time"
        assert p1_first["versions"] == "2"
        assert p1_first["late"] == "no"
        assert p1_first["latest_submitted_at"] == (due + timedelta(hours=2)).isoformat()
        assert p1_first["latest_submission_id"] == str(latest.id)
        assert p1_first["feedback_count"] == "1"
        assert (rows[1]["status"], rows[1]["versions"], rows[1]["late"]) == ("missing", "0", "")
        everyone = list(csv.DictReader(io.StringIO(to_csv(export(session, None)))))
        assert sorted((r["cohort"], r["slack_id"]) for r in everyone if r["cohort"] == "CBA2") == [("CBA2", "U0OTHER1")]
        assert len(everyone) == 7


class TestDemo:
    def test_adds_an_assignment_a_submission_and_feedback_once(self, session: Session) -> None:
        now = datetime(2026, 11, 25, 9, tzinfo=UTC)
        load_demo(session, now, build_registry())
        load_demo(session, now + timedelta(minutes=5), build_registry())
        [assignment] = session.scalars(select(Assignment)).all()
        assert assignment.cohort.code == "CBA3"
        assert assignment.due_at > now
        assert session.scalar(select(func.count()).select_from(Submission)) == 1
        assert session.scalar(select(func.count()).select_from(Feedback)) == 1
        recipients = set(session.scalars(select(Reminder.recipient).where(Reminder.kind == "homework")))
        assert recipients == {"U0DEMOPA02", "U0DEMOPA03", "U0DEMOPA04"}


class TestGraceStatus:
    """Pure: the status of each version and of a participant's versions together."""

    DUE = datetime(2027, 3, 28, 21, 59, tzinfo=UTC)

    def _version(self, at: datetime) -> Submission:
        return Submission(submitted_at=at, late=service.is_late(at, self.DUE))

    @pytest.mark.parametrize(
        ("after_due", "grace_minutes", "expected"),
        [
            (timedelta(0), 120, service.ON_TIME),
            (timedelta(seconds=1), 120, service.IN_GRACE),
            (timedelta(hours=2), 120, service.IN_GRACE),
            (timedelta(hours=2, seconds=1), 120, service.LATE),
            (timedelta(seconds=1), 0, service.LATE),
        ],
    )
    def test_each_version(self, after_due: timedelta, grace_minutes: int, expected: str) -> None:
        assignment = Assignment(due_at=self.DUE, grace_minutes=grace_minutes)
        assert service.submission_status(self._version(self.DUE + after_due), assignment) == expected

    def test_a_participant_counts_their_best_version(self) -> None:
        assignment = Assignment(due_at=self.DUE, grace_minutes=60)
        late, in_grace, on_time = (
            self._version(self.DUE + d) for d in (timedelta(hours=3), timedelta(minutes=5), -timedelta(hours=1))
        )
        member = Member(name="Ada")
        assert service.Progress(member, [late], 0, assignment).state == service.LATE
        assert service.Progress(member, [in_grace, late], 0, assignment).state == service.IN_GRACE
        assert service.Progress(member, [on_time, in_grace, late], 0, assignment).state == service.ON_TIME
        assert service.Progress(member, [in_grace], 0, None).state == service.LATE  # no assignment, no grace
        assert service.Progress(member, [], 0, assignment).state == service.MISSING

    def test_without_grace_a_late_version_stays_late_after_the_due_date_moves(self) -> None:
        version = self._version(self.DUE + timedelta(hours=1))
        moved = Assignment(due_at=self.DUE + timedelta(days=1), grace_minutes=0)
        assert service.submission_status(version, moved) == service.LATE
