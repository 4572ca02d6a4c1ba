"""sync_reminders: planning that follows its subject, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.planning import cancel_reminders, sync_reminders
from storage.models import Reminder

START = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
OFFSETS = (timedelta(days=7), timedelta(days=1), timedelta(hours=1))


def _plan(session: Session, recipients: list[str], now: datetime, starts_at: datetime = START) -> None:
    sync_reminders(
        session,
        kind="probe",
        subject_type="probe",
        subject_id=1,
        starts_at=starts_at,
        offsets=OFFSETS,
        recipients=recipients,
        now=now,
    )


def _rows(sessions: sessionmaker[Session]) -> dict[tuple[str, str], tuple[str, datetime]]:
    with sessions() as session:
        return {
            (row.offset_label, row.recipient): (row.status, row.due_at)
            for row in session.scalars(select(Reminder).order_by(Reminder.id))
        }


def test_plans_offsets_times_recipients_once(sessions: sessionmaker[Session]) -> None:
    now = START - timedelta(days=10)
    for _ in range(2):
        with sessions.begin() as session:
            _plan(session, ["U1", "U2", "U1"], now)
    rows = _rows(sessions)
    assert len(rows) == 6
    assert rows[("7d", "U1")] == ("pending", START - timedelta(days=7))


def test_offsets_already_past_are_not_planned(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _plan(session, ["U1"], START - timedelta(days=3))
    assert set(_rows(sessions)) == {("1d", "U1"), ("1h", "U1")}


def test_moving_the_subject_moves_pending_rows_and_keeps_history(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _plan(session, ["U1"], START - timedelta(days=10))
    with sessions.begin() as session:
        session.scalars(select(Reminder).where(Reminder.offset_label == "7d")).one().status = "sent"
    later = START + timedelta(days=2)
    with sessions.begin() as session:
        _plan(session, ["U1"], START - timedelta(days=6), starts_at=later)
    rows = _rows(sessions)
    assert rows[("7d", "U1")] == ("sent", START - timedelta(days=7))
    assert rows[("1d", "U1")] == ("pending", later - timedelta(days=1))


def test_a_recipient_who_left_is_cancelled_but_a_due_row_is_left_to_the_engine(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        _plan(session, ["U1", "U2"], START - timedelta(days=10))
    # Re-planned exactly when the 1-day reminders fall due, after U2 left.
    with sessions.begin() as session:
        _plan(session, ["U1"], START - timedelta(days=1))
    rows = _rows(sessions)
    assert rows[("1d", "U1")][0] == "pending"  # due now: the engine sends it
    assert rows[("1h", "U1")][0] == "pending"
    assert {status for (label, who), (status, _due) in rows.items() if who == "U2" and label != "7d"} == {"cancelled"}


def test_cancel_reminders_cancels_only_open_rows(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _plan(session, ["U1"], START - timedelta(days=10))
        session.scalars(select(Reminder).where(Reminder.offset_label == "7d")).one().status = "sent"
    with sessions.begin() as session:
        assert cancel_reminders(session, subject_type="probe", subject_id=1) == 2
    assert sorted(status for status, _due in _rows(sessions).values()) == ["cancelled", "cancelled", "sent"]
