"""What a homework reminder says, decided at send time: nothing once the participant has submitted."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.kinds import Outgoing, Skip
from commands.common.actors import member_by_slack_id
from commands.homework import service, views
from storage.models import Assignment, Reminder, Submission


def render(session: Session, reminder: Reminder, now: datetime, zone: ZoneInfo) -> Outgoing | Skip:
    assignment = session.get(Assignment, reminder.subject_id)
    if assignment is None:
        return Skip("the assignment no longer exists")
    if assignment.withdrawn_at is not None:
        return Skip("the assignment was withdrawn")
    if assignment.due_at <= now:
        return Skip("the assignment is already due")
    member = member_by_slack_id(session, reminder.recipient)
    if member is None:
        return Skip("the recipient is not a member")
    if service.participant_cohort_id(session, member) != assignment.cohort_id:
        return Skip("the recipient is not a participant of the assignment's cohort")
    submitted = session.scalar(
        select(Submission.id)
        .where(Submission.assignment_id == assignment.id, Submission.participant_id == member.id)
        .limit(1)
    )
    if submitted is not None:
        return Skip("already submitted")
    text, blocks = views.reminder(assignment, zone)
    return Outgoing(text=text, blocks=[block.to_dict() for block in blocks])
