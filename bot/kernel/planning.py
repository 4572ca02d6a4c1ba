"""Planning reminders: rows written in the same transaction as the change that causes them.

`sync_reminders` states the reminders a subject should have (offsets × recipients before a start
instant); it inserts missing ones, moves pending ones whose time changed and cancels pending ones
no longer wanted. Sent, skipped and failed rows are history and are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import Reminder

OPEN_STATUSES = ("pending", "claimed")


def offset_label(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def dedupe_key(kind: str, subject_type: str, subject_id: int, label: str, recipient: str) -> str:
    return f"{kind}:{subject_type}:{subject_id}:{label}:{recipient}"


def sync_reminders(
    session: Session,
    *,
    kind: str,
    subject_type: str,
    subject_id: int,
    starts_at: datetime,
    offsets: Iterable[timedelta],
    recipients: Iterable[str],
    now: datetime,
) -> list[Reminder]:
    """Make the subject's open reminders of `kind` exactly offsets × recipients, due `starts_at - offset`.

    Offsets whose instant has already passed when planning are not planned (a day added four
    days ahead gets no 7-day reminder). Returns the open reminders after the change.
    """
    wanted: dict[str, tuple[str, str, datetime]] = {}
    # Reminders whose instant has passed are not planned anew; one already planned is left to the
    # engine (it may be due right now), unless its recipient is no longer wanted at all.
    passed: set[str] = set()
    for offset in offsets:
        due = starts_at - offset  # arithmetic on UTC instants: DST never shifts it
        label = offset_label(offset)
        for recipient in dict.fromkeys(recipients):
            key = dedupe_key(kind, subject_type, subject_id, label, recipient)
            if due <= now:
                passed.add(key)
            else:
                wanted[key] = (label, recipient, due)

    existing = {
        row.dedupe_key: row
        for row in session.scalars(
            select(Reminder).where(
                Reminder.kind == kind, Reminder.subject_type == subject_type, Reminder.subject_id == subject_id
            )
        )
    }
    kept: list[Reminder] = []
    for key, row in existing.items():
        if row.status not in OPEN_STATUSES and row.status != "cancelled":
            continue
        if key in passed:
            if row.status in OPEN_STATUSES:
                kept.append(row)
            continue
        if key not in wanted:
            if row.status in OPEN_STATUSES:
                row.status = "cancelled"
            continue
        _label, _recipient, due = wanted[key]
        if row.status == "cancelled" or row.due_at != due:
            row.status, row.due_at, row.claimed_by, row.lease_until = "pending", due, None, None
        kept.append(row)
    for key, (label, recipient, due) in wanted.items():
        if key not in existing:
            kept.append(_new_reminder(session, key, kind, subject_type, subject_id, label, recipient, due))
    session.flush()
    return kept


def _new_reminder(
    session: Session,
    key: str,
    kind: str,
    subject_type: str,
    subject_id: int,
    label: str,
    recipient: str,
    due_at: datetime,
) -> Reminder:
    row = Reminder(
        dedupe_key=key,
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        offset_label=label,
        recipient=recipient,
        due_at=due_at,
        status="pending",
        attempts=0,
    )
    session.add(row)
    return row


def plan_once(
    session: Session, *, kind: str, subject_type: str, subject_id: int, label: str, recipient: str, due_at: datetime
) -> Reminder | None:
    """A single reminder at an instant (e.g. a question nudge); None if it already exists."""
    key = dedupe_key(kind, subject_type, subject_id, label, recipient)
    if session.scalar(select(Reminder.id).where(Reminder.dedupe_key == key)) is not None:
        return None
    row = _new_reminder(session, key, kind, subject_type, subject_id, label, recipient, due_at)
    session.flush()
    return row


def cancel_reminders(session: Session, *, subject_type: str, subject_id: int, recipient: str | None = None) -> int:
    """Cancel the subject's open reminders (all kinds), optionally for one recipient only."""
    statement = (
        update(Reminder)
        .where(
            Reminder.subject_type == subject_type,
            Reminder.subject_id == subject_id,
            Reminder.status.in_(OPEN_STATUSES),
        )
        .values(status="cancelled", claimed_by=None, lease_until=None)
    )
    if recipient is not None:
        statement = statement.where(Reminder.recipient == recipient)
    return session.execute(statement).rowcount or 0  # type: ignore[attr-defined]
