"""Homework rules: assignments, versioned submissions, late flags, feedback and their reminders.

Takes a session, the caller and the parsed arguments; flushes, never commits; no Slack calls.
Every instant is UTC; the organiser's zone is used only to read the due day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.kernel import planning
from commands.common.actors import Actor
from commands.common.cohorts import cohort_participants
from commands.common.errors import Conflict, NotFound, NotPermitted, UsageError
from commands.common.parsing import NonexistentLocalTime, local_to_utc
from commands.homework.parse import GRACE_MAX_HOURS, usage
from storage.models import Assignment, Cohort, Feedback, Member, RoleGrant, Submission

REMINDER_KIND = "homework"
SUBJECT = "assignment"
DUE_TIME = time(23, 59)
STAFF = ("coach", "organiser")

ON_TIME, IN_GRACE, LATE, MISSING = "on time", "late (within grace)", "late", "missing"


# --- time ---------------------------------------------------------------------------------------


def due_instant(day: date, zone: ZoneInfo) -> datetime:
    """23:59 of `day` on the wall clock of `zone`, as a UTC instant (DST-safe).

    If 23:59 happens twice, the later one counts (in the participant's favour); if a clock
    change skips it (a few zones change at midnight), the wall time is read with the offset
    in force before the change.
    """
    try:
        return local_to_utc(day, DUE_TIME, zone, fold=1)
    except NonexistentLocalTime:
        return datetime.combine(day, DUE_TIME, tzinfo=zone).astimezone(UTC)


def is_late(submitted_at: datetime, due_at: datetime) -> bool:
    """Late means strictly after the due instant; both are compared as UTC instants."""
    return submitted_at.astimezone(UTC) > due_at.astimezone(UTC)


def grace_of(assignment: Assignment) -> timedelta:
    return timedelta(minutes=assignment.grace_minutes or 0)


def grace_ends(assignment: Assignment) -> datetime:
    """The last instant of "late (within grace)": due + grace in real time (UTC), whatever the clocks do."""
    return assignment.due_at.astimezone(UTC) + grace_of(assignment)


def submission_status(submission: Submission, assignment: Assignment | None) -> str:
    """On time (by the due instant, decided when submitted), late (within grace) up to due + grace, else late.

    The grace is read now, so a grace set after the fact counts for submissions already in.
    """
    if not submission.late:
        return ON_TIME
    if not assignment or not assignment.grace_minutes:
        return LATE  # no grace: late as decided when submitted (also if the due date moved since)
    return IN_GRACE if submission.submitted_at.astimezone(UTC) <= grace_ends(assignment) else LATE


# --- who ----------------------------------------------------------------------------------------


def _require(actor: Actor, *roles: str, action: str) -> None:
    if not actor.has(*roles):
        error = NotPermitted(*roles, action=action)
        error.usage = usage(actor.roles)
        raise error


def participant_cohort_id(session: Session, member: Member) -> int | None:
    return session.scalar(
        select(RoleGrant.cohort_id).where(RoleGrant.member_id == member.id, RoleGrant.role == "participant")
    )


def _assignment(session: Session, assignment_id: int, actor: Actor) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound("assignment", assignment_id, usage=usage(actor.roles))
    return assignment


def _submission(session: Session, submission_id: int, actor: Actor) -> Submission:
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound("submission", submission_id, usage=usage(actor.roles))
    return submission


# --- progress (what status, lists, exports and reports read) ---------------------------------------


@dataclass
class Progress:
    """One participant's submissions for one assignment, oldest version first."""

    member: Member
    submissions: list[Submission] = field(default_factory=list)
    feedback_count: int = 0
    assignment: Assignment | None = None  # for its grace window; without it, every late version is late

    @property
    def versions(self) -> int:
        return len(self.submissions)

    @property
    def latest(self) -> Submission | None:
        return self.submissions[-1] if self.submissions else None

    @property
    def first(self) -> Submission | None:
        return self.submissions[0] if self.submissions else None

    @property
    def state(self) -> str:
        """The best of its versions: on time, else late (within grace), else late; nothing in: missing."""
        if not self.submissions:
            return MISSING
        states = {submission_status(s, self.assignment) for s in self.submissions}
        return next(state for state in (ON_TIME, IN_GRACE, LATE) if state in states)


def progress(
    session: Session, assignment_ids: Sequence[int], participant_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], tuple[list[Submission], int]]:
    """(assignment_id, participant_id) -> (submissions by version, feedback count) for those with any."""
    if not assignment_ids:
        return {}
    query = select(Submission).where(Submission.assignment_id.in_(assignment_ids))
    if participant_ids is not None:
        query = query.where(Submission.participant_id.in_(list(participant_ids)))
    rows = list(
        session.scalars(query.order_by(Submission.assignment_id, Submission.participant_id, Submission.version))
    )
    counts: dict[int, int] = {}
    if rows:
        counts = {
            submission_id: count
            for submission_id, count in session.execute(
                select(Feedback.submission_id, func.count())
                .join(Submission, Submission.id == Feedback.submission_id)
                .where(Submission.assignment_id.in_(assignment_ids))
                .group_by(Feedback.submission_id)
            )
        }
    result: dict[tuple[int, int], tuple[list[Submission], int]] = {}
    grouped: dict[tuple[int, int], list[Submission]] = defaultdict(list)
    for row in rows:
        grouped[(row.assignment_id, row.participant_id)].append(row)
    for key, submissions in grouped.items():
        result[key] = (submissions, sum(counts.get(s.id, 0) for s in submissions))
    return result


def assignment_progress(session: Session, assignment: Assignment) -> list[Progress]:
    """Every participant of the cohort, plus anyone who submitted and has since left it."""
    members = {m.id: m for m in cohort_participants(session, assignment.cohort_id)}
    found = progress(session, [assignment.id])
    for _aid, participant_id in found:
        if participant_id not in members:
            member = session.get(Member, participant_id)
            if member is not None:
                members[participant_id] = member
    rows = []
    for member in members.values():
        submissions, feedback = found.get((assignment.id, member.id), ([], 0))
        rows.append(Progress(member, submissions, feedback, assignment))
    return rows


# --- reminders ----------------------------------------------------------------------------------


def plan_reminders(session: Session, assignment: Assignment, offsets: Sequence[timedelta], now: datetime) -> int:
    """Reminders before the due instant to every participant who has not submitted yet."""
    if assignment.withdrawn_at is not None:
        planning.cancel_reminders(session, subject_type=SUBJECT, subject_id=assignment.id)
        return 0
    submitted = set(
        session.scalars(select(Submission.participant_id).where(Submission.assignment_id == assignment.id).distinct())
    )
    recipients = [
        m.slack_id
        for m in cohort_participants(session, assignment.cohort_id)
        if m.id not in submitted and m.slack_id is not None
    ]
    rows = planning.sync_reminders(
        session,
        kind=REMINDER_KIND,
        subject_type=SUBJECT,
        subject_id=assignment.id,
        starts_at=assignment.due_at,
        offsets=offsets,
        recipients=recipients,
        now=now,
    )
    return len(rows)


# --- organisers ---------------------------------------------------------------------------------


@dataclass
class Announced:
    """An assignment and whom to tell about it (after commit)."""

    assignment: Assignment
    cohort: Cohort
    participant_ids: list[str]


def create_assignment(
    session: Session,
    actor: Actor,
    *,
    cohort_code: str,
    due: date,
    title: str,
    description: str,
    zone: ZoneInfo,
    now: datetime,
    offsets: Sequence[timedelta],
    grace: timedelta = timedelta(0),
) -> Announced:
    _require(actor, "organiser", action="create assignments")
    cohort = session.scalar(select(Cohort).where(func.upper(Cohort.code) == cohort_code.upper()))
    if cohort is None:
        raise UsageError(f":mag: There is no cohort {cohort_code}.", usage=usage(actor.roles))
    due_at = due_instant(due, zone)
    if due_at <= now:
        raise UsageError(
            f"The due date {due.isoformat()} has passed (due means 23:59 that day, {zone.key}).",
            usage=usage(actor.roles),
        )
    if not title.strip():
        raise UsageError("The assignment needs a title.", usage=usage(actor.roles))
    assignment = Assignment(
        cohort_id=cohort.id,
        title=title.strip(),
        description=description.strip(),
        due_at=due_at,
        created_by_id=actor.member.id,
        created_at=now,
        grace_minutes=int(grace.total_seconds() // 60),
    )
    session.add(assignment)
    session.flush()
    plan_reminders(session, assignment, offsets, now)
    return Announced(assignment, cohort, [m.slack_id for m in cohort_participants(session, cohort.id) if m.slack_id])


def change_due(
    session: Session,
    actor: Actor,
    assignment_id: int,
    due: date,
    *,
    zone: ZoneInfo,
    now: datetime,
    offsets: Sequence[timedelta],
) -> Announced:
    _require(actor, "organiser", action="change due dates")
    assignment = _assignment(session, assignment_id, actor)
    if assignment.withdrawn_at is not None:
        raise Conflict(f"assignment #{assignment.id} was withdrawn.", usage=usage(actor.roles))
    due_at = due_instant(due, zone)
    if due_at <= now:
        raise UsageError(
            f"The due date {due.isoformat()} has passed (due means 23:59 that day, {zone.key}).",
            usage=usage(actor.roles),
        )
    assignment.due_at = due_at
    session.flush()
    plan_reminders(session, assignment, offsets, now)
    cohort = session.get_one(Cohort, assignment.cohort_id)
    return Announced(assignment, cohort, [m.slack_id for m in cohort_participants(session, cohort.id) if m.slack_id])


def set_grace(session: Session, actor: Actor, assignment_id: int, minutes: int) -> Assignment:
    """The assignment's own grace window; reminders stay tied to the due instant, so none is re-planned."""
    _require(actor, "organiser", action="change grace windows")
    if not 0 <= minutes <= GRACE_MAX_HOURS * 60:
        raise UsageError(f"The grace window is 0 to {GRACE_MAX_HOURS} hours.", usage=usage(actor.roles))
    assignment = _assignment(session, assignment_id, actor)
    if assignment.withdrawn_at is not None:
        raise Conflict(f"assignment #{assignment.id} was withdrawn.", usage=usage(actor.roles))
    assignment.grace_minutes = minutes
    session.flush()
    return assignment


def withdraw(session: Session, actor: Actor, assignment_id: int, *, now: datetime) -> Announced:
    _require(actor, "organiser", action="withdraw assignments")
    assignment = _assignment(session, assignment_id, actor)
    if assignment.withdrawn_at is not None:
        raise Conflict(f"assignment #{assignment.id} was already withdrawn.", usage=usage(actor.roles))
    assignment.withdrawn_at = now
    planning.cancel_reminders(session, subject_type=SUBJECT, subject_id=assignment.id)
    session.flush()
    cohort = session.get_one(Cohort, assignment.cohort_id)
    return Announced(assignment, cohort, [m.slack_id for m in cohort_participants(session, cohort.id) if m.slack_id])


@dataclass
class StatusReport:
    assignment: Assignment
    cohort: Cohort
    rows: list[Progress]

    def of(self, state: str) -> list[Progress]:
        return [row for row in self.rows if row.state == state]


def status(session: Session, actor: Actor, assignment_id: int) -> StatusReport:
    _require(actor, *STAFF, action="see who submitted homework")
    assignment = _assignment(session, assignment_id, actor)
    cohort = session.get_one(Cohort, assignment.cohort_id)
    return StatusReport(assignment, cohort, assignment_progress(session, assignment))


@dataclass
class Overview:
    assignment: Assignment
    cohort_code: str
    on_time: int
    late: int
    missing: int
    in_grace: int = 0


def overview(session: Session, actor: Actor) -> list[Overview]:
    """Coaches and organisers: open assignments of every cohort with their counts."""
    _require(actor, *STAFF, action="see every cohort's homework")
    assignments = list(
        session.scalars(
            select(Assignment).where(Assignment.withdrawn_at.is_(None)).order_by(Assignment.due_at, Assignment.id)
        )
    )
    items = []
    for assignment in assignments:
        rows = assignment_progress(session, assignment)
        cohort = session.get_one(Cohort, assignment.cohort_id)
        states = [row.state for row in rows]
        items.append(
            Overview(
                assignment,
                cohort.code,
                states.count(ON_TIME),
                states.count(LATE),
                states.count(MISSING),
                states.count(IN_GRACE),
            )
        )
    return items


# --- participants -------------------------------------------------------------------------------


@dataclass
class Mine:
    assignment: Assignment
    progress: Progress


def my_assignments(session: Session, actor: Actor) -> list[Mine]:
    """The caller's cohort's open assignments, soonest due first, with the caller's own progress only."""
    _require(actor, "participant", action="see your homework")
    cohort_id = participant_cohort_id(session, actor.member)
    if cohort_id is None:
        return []
    assignments = list(
        session.scalars(
            select(Assignment)
            .where(Assignment.cohort_id == cohort_id, Assignment.withdrawn_at.is_(None))
            .order_by(Assignment.due_at, Assignment.id)
        )
    )
    found = progress(session, [a.id for a in assignments], [actor.member.id])
    items = []
    for assignment in assignments:
        submissions, feedback = found.get((assignment.id, actor.member.id), ([], 0))
        items.append(Mine(assignment, Progress(actor.member, submissions, feedback, assignment)))
    return items


def open_for_submission(session: Session, actor: Actor, assignment_id: int) -> Assignment:
    """The assignment the caller may submit to (their cohort's, not withdrawn), or a refusal."""
    _require(actor, "participant", action="submit homework")
    assignment = _assignment(session, assignment_id, actor)
    if assignment.withdrawn_at is not None:
        raise UsageError(f"assignment #{assignment.id} was withdrawn.", usage=usage(actor.roles))
    if participant_cohort_id(session, actor.member) != assignment.cohort_id:
        raise UsageError(f"assignment #{assignment.id} is not for your cohort.", usage=usage(actor.roles))
    return assignment


def submit(
    session: Session, actor: Actor, assignment_id: int, *, text: str, link: str | None, now: datetime
) -> Submission:
    """A new version; after the due instant it is accepted and marked late."""
    assignment = open_for_submission(session, actor, assignment_id)
    text = text.strip()
    if not text and not link:
        raise UsageError("Write your answer or give a link.", usage=usage(actor.roles))
    latest = session.scalar(
        select(func.max(Submission.version)).where(
            Submission.assignment_id == assignment.id, Submission.participant_id == actor.member.id
        )
    )
    submission = Submission(
        assignment_id=assignment.id,
        participant_id=actor.member.id,
        version=(latest or 0) + 1,
        text=text,
        link=link or None,
        submitted_at=now,
        late=is_late(now, assignment.due_at),
    )
    session.add(submission)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("You submitted twice at the same moment; please check `/cba-homework`.") from None
    # Nothing left to remind this participant of.
    planning.cancel_reminders(session, subject_type=SUBJECT, subject_id=assignment.id, recipient=actor.slack_id)
    return submission


# --- coaches and organisers ---------------------------------------------------------------------


@dataclass
class Reviewed:
    feedback: Feedback
    submission: Submission
    assignment: Assignment
    participant: Member


def review(session: Session, actor: Actor, submission_id: int, text: str, *, now: datetime) -> Reviewed:
    _require(actor, *STAFF, action="review homework")
    submission = _submission(session, submission_id, actor)
    if not text.strip():
        raise UsageError("Write the feedback after the submission ID.", usage=usage(actor.roles))
    feedback = Feedback(submission_id=submission.id, author_id=actor.member.id, text=text.strip(), created_at=now)
    session.add(feedback)
    session.flush()
    assignment = session.get_one(Assignment, submission.assignment_id)
    participant = session.get_one(Member, submission.participant_id)
    return Reviewed(feedback, submission, assignment, participant)


@dataclass
class Detail:
    submission: Submission
    assignment: Assignment
    participant: Member
    versions: list[Submission]
    feedback: list[tuple[Feedback, str]]  # (feedback, author's name)


def submission_detail(session: Session, actor: Actor, submission_id: int) -> Detail:
    """Owner, coaches and organisers only: participants see only their own submissions."""
    # Role first: a caller with no homework role learns nothing, not even whether the ID exists.
    _require(actor, "participant", *STAFF, action="see submissions")
    submission = _submission(session, submission_id, actor)
    if submission.participant_id != actor.member.id:
        _require(actor, *STAFF, action="see other participants' submissions")
    versions = list(
        session.scalars(
            select(Submission)
            .where(
                Submission.assignment_id == submission.assignment_id,
                Submission.participant_id == submission.participant_id,
            )
            .order_by(Submission.version)
        )
    )
    feedback = [
        (row, author.display_name if author else "former member")
        for row, author in session.execute(
            select(Feedback, Member)
            .outerjoin(Member, Member.id == Feedback.author_id)
            .where(Feedback.submission_id == submission.id)
            .order_by(Feedback.created_at, Feedback.id)
        )
    ]
    return Detail(
        submission,
        session.get_one(Assignment, submission.assignment_id),
        session.get_one(Member, submission.participant_id),
        versions,
        feedback,
    )
