"""A reminder kind for engine tests: its text carries the dedupe key, so every delivery can be counted."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.features import build_registry
from bot.kernel.kinds import Outgoing, Skip
from bot.kernel.registry import Registry
from storage.models import Reminder

KIND = "probe"
STALE_SUBJECT = 0  # reminders about subject 0 are always "already begun"


def render_probe(session: Session, reminder: Reminder, now: datetime, zone: ZoneInfo) -> Outgoing | Skip:
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


def probe_registry() -> Registry:
    """The product's registry plus the probe kind."""
    registry = build_registry()
    registry.reminder_kind(KIND, render_probe)
    return registry
