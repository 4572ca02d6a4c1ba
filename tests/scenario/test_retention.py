"""Retention (SPEC 4.10): the scheduler's tick deletes processed event IDs and settled outbox messages
older than CBA_RETENTION_DAYS, in bounded batches, and nothing that is still to be sent or waited for."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot
from bot.kernel import retention
from bot.scheduler import tick
from storage.models import ProcessedEvent, Reminder
from tests.conftest import Clock

_keys = itertools.count(1)


def message(
    session: Session,
    now: datetime,
    *,
    status: str,
    due_days_ago: float,
    sent_days_ago: float | None = None,
    lease_from_now: timedelta | None = None,
    depends_on: Reminder | None = None,
) -> int:
    row = Reminder(
        dedupe_key=f"retention-test:{next(_keys)}",
        kind="message",
        subject_type="message",
        subject_id=0,
        recipient="U0SOMEONE",
        due_at=now - timedelta(days=due_days_ago),
        status=status,
        attempts=1,
        sent_at=None if sent_days_ago is None else now - timedelta(days=sent_days_ago),
        lease_until=None if lease_from_now is None else now + lease_from_now,
        claimed_by="another-worker" if status == "claimed" else None,
        depends_on=depends_on.id if depends_on is not None else None,
        payload={"text": "hello"},
    )
    session.add(row)
    session.flush()
    return row.id


def message_ids(sessions: sessionmaker[Session]) -> set[int]:
    with sessions() as session:
        return set(session.scalars(select(Reminder.id)))


def event_ids(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(ProcessedEvent.event_id)))


class TestRetention:
    def test_the_tick_deletes_old_settled_rows_and_keeps_what_is_open_recent_or_waited_for(
        self, bot: Bot, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        now = clock.now
        held = timedelta(hours=2)  # waiting out a retry's back-off: the tick's delivery leaves it alone
        with sessions.begin() as session:
            session.add(ProcessedEvent(event_id="Ev-old", received_at=now - timedelta(days=91)))
            session.add(ProcessedEvent(event_id="Ev-recent", received_at=now - timedelta(days=89)))
            gone = {
                message(session, now, status="sent", due_days_ago=100, sent_days_ago=100),
                message(session, now, status="failed", due_days_ago=120),
                message(session, now, status="skipped", due_days_ago=95),
                message(session, now, status="cancelled", due_days_ago=91),
            }
            parent = session.get(Reminder, message(session, now, status="sent", due_days_ago=100, sent_days_ago=100))
            assert parent is not None
            gone |= {
                parent.id,
                message(session, now, status="sent", due_days_ago=99, sent_days_ago=99, depends_on=parent),
            }
            waited_for = session.get(
                Reminder, message(session, now, status="sent", due_days_ago=100, sent_days_ago=100)
            )
            assert waited_for is not None
            waiting = message(
                session, now, status="pending", due_days_ago=95, lease_from_now=held, depends_on=waited_for
            )
            kept = {
                waited_for.id,
                waiting,
                message(session, now, status="sent", due_days_ago=100, sent_days_ago=10),  # sent late, recently
                message(session, now, status="sent", due_days_ago=10, sent_days_ago=10),
                message(session, now, status="failed", due_days_ago=89),
                message(session, now, status="pending", due_days_ago=100, lease_from_now=held),
                message(session, now, status="claimed", due_days_ago=100, lease_from_now=timedelta(minutes=5)),
                message(session, now, status="cancelled", due_days_ago=-30),  # a future reminder, cancelled
            }

        tick(bot.deps)

        assert event_ids(sessions) == {"Ev-recent"}
        assert message_ids(sessions) == kept
        assert not gone & message_ids(sessions)

        # Once the row that waited for it has gone out, the old post it depended on goes at the next run.
        with sessions.begin() as session:
            row = session.get(Reminder, waiting)
            assert row is not None
            row.status, row.sent_at, row.lease_until = "sent", now, None
        tick(bot.deps)
        assert waited_for.id in message_ids(sessions)  # runs at most once an hour
        clock.advance(timedelta(hours=1))
        tick(bot.deps)
        assert waited_for.id not in message_ids(sessions)
        assert waiting in message_ids(sessions)

    def test_deletes_in_bounded_batches_and_finishes_on_the_next_ticks(
        self, bot: Bot, sessions: sessionmaker[Session], clock: Clock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(retention, "BATCH_SIZE", 2)
        monkeypatch.setattr(retention, "MAX_BATCHES", 2)
        with sessions.begin() as session:
            for number in range(7):
                message(session, clock.now, status="sent", due_days_ago=200 + number, sent_days_ago=200 + number)
                session.add(ProcessedEvent(event_id=f"Ev{number}", received_at=clock.now - timedelta(days=365)))
            recent = message(session, clock.now, status="sent", due_days_ago=1, sent_days_ago=1)

        tick(bot.deps)
        assert len(message_ids(sessions)) == 1 + 7 - 4  # two batches of two
        assert len(event_ids(sessions)) == 7 - 4
        tick(bot.deps)  # more was left: the next tick goes on without waiting the hour
        assert message_ids(sessions) == {recent}
        assert event_ids(sessions) == set()

    def test_the_window_is_cba_retention_days(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        with sessions.begin() as session:
            old = message(session, clock.now, status="sent", due_days_ago=31, sent_days_ago=31)
            young = message(session, clock.now, status="sent", due_days_ago=29, sent_days_ago=29)
        pruned = retention.prune(sessions, now=clock.now, days=30)
        assert (pruned.messages, pruned.more) == (1, False)
        assert message_ids(sessions) == {young}
        assert old not in message_ids(sessions)
