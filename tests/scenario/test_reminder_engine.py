"""The delivery engine through the scheduler's tick, on SQLite and PostgreSQL, with a controlled clock."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot, build
from bot.console.fakeslack import Call, FakeSlack
from bot.kernel import delivery as engine
from bot.kernel.delivery import MAX_ATTEMPTS, Pacer, claim, deliver_due
from bot.kernel.registry import Registry
from bot.kernel.settings import Settings
from bot.scheduler import start_clock, tick
from storage.models import Reminder
from tests.conftest import Clock, with_settings
from tests.process_helpers import release_together
from tests.reminder_probe import STALE_SUBJECT, add_probes, key_of, probe_registry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def registry() -> Registry:
    return probe_registry()


def _users(fake: FakeSlack, count: int, prefix: str = "U0P") -> list[str]:
    ids = [f"{prefix}{index:05d}" for index in range(count)]
    for user_id in ids:
        fake.add_user(user_id, user_id)
    return ids


def _rows(sessions: sessionmaker[Session]) -> dict[str, Reminder]:
    with sessions() as session:
        return {row.recipient: row for row in session.scalars(select(Reminder))}


def _delivered(fake: FakeSlack) -> Counter[str]:
    return Counter(key_of(c.args["text"]) for c in fake.calls_to("chat.postMessage") if c.response.get("ok"))


class TestDelivery:
    def test_due_reminders_go_out_once_with_channel_and_ts(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        users = _users(fake_slack, 3)
        with sessions.begin() as session:
            add_probes(session, users, due_at=clock.now + timedelta(minutes=10))
        tick(bot.deps)
        assert fake_slack.calls_to("chat.postMessage") == []
        clock.advance(timedelta(minutes=10))
        tick(bot.deps)
        tick(bot.deps)
        assert sorted(_delivered(fake_slack).values()) == [1, 1, 1]
        for user in users:
            row = _rows(sessions)[user]
            assert (row.status, row.slack_channel, row.sent_at) == ("sent", fake_slack.dm_channel(user), clock.now)
            assert row.slack_ts == fake_slack.dms_to(user)[0].ts

    def test_bot_down_across_the_due_time_sends_on_start_and_skips_what_began(
        self,
        settings: Settings,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        users = _users(fake_slack, 2)
        with sessions.begin() as session:
            add_probes(session, users[:1], due_at=clock.now + timedelta(minutes=5))
            add_probes(session, users[1:], due_at=clock.now + timedelta(minutes=5), subject_id=STALE_SUBJECT)
        clock.advance(timedelta(hours=2))  # nobody ticked: the bot was down
        caplog.set_level(logging.INFO, logger="bot.kernel.delivery")
        restarted = build(
            settings,
            client=WebClient(token="xoxb-t", base_url=fake_slack.url),
            sessions=sessions,
            clock=clock,
            registry=probe_registry(),
        )
        scheduler = start_clock(restarted.deps, seconds=3600)  # the real clock: it ticks once at start-up
        try:
            fake_slack.wait_for("chat.postMessage", 1)
            deadline = time.monotonic() + 5
            while _rows(sessions)[users[1]].status != "skipped" and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            scheduler.shutdown(wait=True)
        tick(restarted.deps)
        assert _delivered(fake_slack) == Counter({f"probe:probe:1:0:{users[0]}": 1})
        rows = _rows(sessions)
        assert rows[users[0]].status == "sent"
        assert (rows[users[1]].status, rows[users[1]].last_error) == ("skipped", "subject already began")
        assert f"reminder #{rows[users[1]].id} (probe) skipped: subject already began" in caplog.text

    def test_rate_limit_is_honoured_and_nothing_is_lost_or_early(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        # One sender, so that "the batch stopped at the 429" is exact (several senders: the next test).
        deps = replace(bot.deps, settings=with_settings(bot.deps.settings, senders=1), courier=None)
        users = _users(fake_slack, 4)
        start = clock.now
        with sessions.begin() as session:
            add_probes(session, users[:3], due_at=start)
            add_probes(session, users[3:], due_at=start + timedelta(hours=1), subject_id=2)
        fake_slack.rate_limit("chat.postMessage", times=2, retry_after=5)
        tick(deps)
        assert len(fake_slack.calls_to("chat.postMessage")) == 1  # the 429; the batch stopped there
        rows = _rows(sessions)
        assert {rows[u].status for u in users[:3]} == {"pending"}
        assert {rows[u].lease_until for u in users[:3]} == {start + timedelta(seconds=5)}
        assert {rows[u].due_at for u in users[:3]} == {start}  # due_at unchanged
        clock.advance(timedelta(seconds=4))
        tick(deps)
        assert len(fake_slack.calls_to("chat.postMessage")) == 1  # not a single early call
        clock.advance(timedelta(seconds=1))
        tick(deps)  # second 429: another 5 s
        assert len(fake_slack.calls_to("chat.postMessage")) == 2
        clock.advance(timedelta(seconds=4, milliseconds=999))
        tick(deps)
        assert len(fake_slack.calls_to("chat.postMessage")) == 2
        clock.advance(timedelta(milliseconds=1))
        tick(deps)
        assert sorted(_delivered(fake_slack).values()) == [1, 1, 1]
        assert _rows(sessions)[users[3]].status == "pending"  # due in an hour: not early either
        assert {_rows(sessions)[u].attempts for u in users[:3]} == {1}  # rate limits are not failed attempts

    def test_permanent_errors_are_recorded_and_block_nobody(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        users = _users(fake_slack, 5)
        fake_slack.add_user("U0GONE", "Gone", deleted=True)
        fake_slack.add_channel("C0ARCHIVED", "old", archived=True)
        with sessions.begin() as session:
            add_probes(session, [users[0], "U0GONE", *users[1:], "C0ARCHIVED", "C0NOWHERE"], due_at=clock.now)
        tick(bot.deps)
        rows = _rows(sessions)
        assert (rows["U0GONE"].status, rows["U0GONE"].last_error) == ("failed", "account_inactive")
        assert (rows["C0ARCHIVED"].status, rows["C0ARCHIVED"].last_error) == ("failed", "is_archived")
        assert (rows["C0NOWHERE"].status, rows["C0NOWHERE"].last_error) == ("failed", "channel_not_found")
        assert {rows[u].status for u in users} == {"sent"}
        assert len(_delivered(fake_slack)) == 5
        tick(bot.deps)
        assert len(fake_slack.calls_to("chat.postMessage")) == 8  # failed rows are not retried

    def test_transient_errors_are_retried_with_backoff_then_fail(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        flaky, broken = _users(fake_slack, 2)
        with sessions.begin() as session:
            add_probes(session, [flaky, broken], due_at=clock.now)
        fake_slack.fail("chat.postMessage", "internal_error", status=500, times=2, when=lambda a: a["channel"] == flaky)
        fake_slack.fail("chat.postMessage", "service_unavailable", status=503, when=lambda a: a["channel"] == broken)
        waits = [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]
        tick(bot.deps)
        for wait in waits:
            row = _rows(sessions)[broken]
            assert (row.status, row.lease_until) == ("pending", clock.now + wait)
            clock.advance(wait - timedelta(seconds=1))
            calls = len(fake_slack.calls_to("chat.postMessage"))
            tick(bot.deps)
            assert len(fake_slack.calls_to("chat.postMessage")) == calls  # backoff respected
            clock.advance(timedelta(seconds=1))
            tick(bot.deps)
        rows = _rows(sessions)
        assert rows[flaky].status == "sent"
        assert (rows[broken].status, rows[broken].attempts) == ("failed", MAX_ATTEMPTS)
        assert rows[broken].last_error == "slack service_unavailable"

    def test_a_late_acknowledgement_after_a_lost_lease_changes_nothing(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        (user,) = _users(fake_slack, 1)
        with sessions.begin() as session:
            add_probes(session, [user], due_at=clock.now)
        with sessions.begin() as session:
            (stale,) = claim(session, now=clock.now, worker_id="crashed", batch=10, lease=timedelta(minutes=5))
        clock.advance(timedelta(minutes=4))
        assert deliver_due(bot.deps, now=clock.now, worker_id="other").claimed == 0  # lease still held
        clock.advance(timedelta(minutes=2))
        assert deliver_due(bot.deps, now=clock.now, worker_id="other").sent == 1
        with sessions.begin() as session:
            late = session.execute(engine._fenced(stale.id, "crashed").values(status="failed"))
            assert late.rowcount == 0  # type: ignore[attr-defined]
        assert _rows(sessions)[user].status == "sent"

    def test_cancelled_or_moved_while_claimed_is_not_sent(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        users = _users(fake_slack, 2)
        with sessions.begin() as session:
            add_probes(session, users, due_at=clock.now)
        with sessions.begin() as session:
            rows = claim(session, now=clock.now, worker_id="me", batch=10, lease=timedelta(minutes=5))
            session.execute(update(Reminder).where(Reminder.recipient == users[0]).values(status="cancelled"))
        work = engine._Batch(
            engine._Link(sessions),
            bot.deps.client,
            clock=clock,
            worker_id="me",
            pacer=Pacer(),
            pause=engine._Pause(),
            report=engine.DeliveryReport(),
            renderers=bot.deps.renderers,
            zone=bot.deps.zone,
        )
        work.deliver(rows)
        assert [m.channel for m in fake_slack.messages] == [fake_slack.dm_channel(users[1])]
        assert work.report.lost_lease == 1


class TestPacing:
    def test_posts_to_one_channel_are_spaced_and_other_channels_interleave(self) -> None:
        slept: list[float] = []
        pacer = Pacer(interval=1.0, sleep=slept.append)
        rows = [engine._Claimed(i, recipient, 1) for i, recipient in enumerate(["C1", "C1", "C1", "U1", "U2"])]
        ordered = engine._interleave(rows)
        assert [row.recipient for row in ordered] == ["C1", "U1", "U2", "C1", "C1"]
        for row in ordered:
            pacer.wait(row.recipient)
        assert len(slept) == 2
        assert all(0 < delay <= 1.0 for delay in slept)


# --- separate OS processes on one database --------------------------------------------------------


def _spawn(db_url: str, fake: FakeSlack, worker: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # A lease well above a post's worst time on a loaded machine: a live worker's rows are never re-claimed.
    command = [sys.executable, "-m", "tests.reminder_worker", db_url, fake.url, worker, "--lease", "8"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _worker_of(call: Call) -> str:
    return str(call.headers.get("Authorization", "")).removeprefix("Bearer xoxb-")


@pytest.mark.slow
@pytest.mark.parametrize("kill_one", [False, True], ids=["both-live", "one-killed"])
def test_two_processes_deliver_2000_reminders_exactly_once(
    db_url: str, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock, kill_one: bool
) -> None:
    users = _users(fake_slack, 2000, prefix="U0M")
    from datetime import UTC, datetime

    with sessions.begin() as session:
        add_probes(session, users, due_at=datetime.now(UTC) - timedelta(minutes=1))
    workers: dict[str, subprocess.Popen[bytes]] = {}
    killed: list[int] = []
    calls_by_a: list[int] = []

    def kill_mid_batch(call: Call) -> None:
        # Called by the fake after recording the call, before answering: the message is out but
        # the killed worker never learns it, the worst moment for a crash.
        if not kill_one or killed or call.method != "chat.postMessage" or _worker_of(call) != "A":
            return
        calls_by_a.append(1)
        if len(calls_by_a) == 105:  # mid-batch: batches are 10 rows
            killed.append(1)
            os.kill(workers["A"].pid, signal.SIGKILL)

    fake_slack.subscribe(kill_mid_batch)
    workers = {name: _spawn(db_url, fake_slack, name) for name in ("A", "B")}
    try:
        release_together(list(workers.values()))  # both start at once, whatever their start-up took
        for name, process in workers.items():
            _out, err = process.communicate(timeout=120)
            if not (kill_one and name == "A"):
                assert process.returncode == 0, err.decode()
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.kill()
    delivered = _delivered(fake_slack)
    expected = {f"probe:probe:1:{i}:{user}" for i, user in enumerate(users)}
    assert set(delivered) == expected  # 0 missing
    duplicates = sum(count - 1 for count in delivered.values())
    by_worker = Counter(_worker_of(c) for c in fake_slack.calls_to("chat.postMessage"))
    assert by_worker["A"] > 0  # both processes really worked
    assert by_worker["B"] > 0
    if kill_one:
        assert killed
        assert duplicates <= 1
        assert workers["A"].returncode == -signal.SIGKILL
    else:
        assert duplicates == 0
    with sessions() as session:
        assert set(session.scalars(select(Reminder.status))) == {"sent"}
