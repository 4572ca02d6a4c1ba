"""A reminder kind for engine tests: its text carries the dedupe key, so every delivery can be counted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from commands.reminders.kinds import Outgoing, Skip, reminder_kind
from storage.models import Reminder

KIND = "probe"
STALE_SUBJECT = 0  # reminders about subject 0 are always "already begun"


@reminder_kind(KIND)
def render_probe(session: Session, reminder: Reminder, now: datetime) -> Outgoing | Skip:
    if reminder.subject_id == STALE_SUBJECT:
        return Skip("subject already began")
    return Outgoing(text=f"probe {reminder.dedupe_key}")


def add_probes(session: Session, recipients: list[str], *, due_at: datetime, subject_id: int = 1) -> list[Reminder]:
    rows = [
        Reminder(
            dedupe_key=f"{KIND}:probe:{subject_id}:{index}:{recipient}",
            kind=KIND,
            subject_type="probe",
            subject_id=subject_id,
            offset_label="0m",
            recipient=recipient,
            due_at=due_at,
            status="pending",
            attempts=0,
        )
        for index, recipient in enumerate(recipients)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def key_of(text: str) -> str:
    return text.removeprefix("probe ")
