"""50 participants press "Book" on one slot at the same moment: one booking, one confirmation, 49 "taken".

(a) over HTTP against a real `python -m bot.cli run --no-scheduler` process;
(b) from two OS processes, each with its own Bolt app, on one database.
Both on SQLite (a file) and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.console.fakeslack import FakeSlack
from storage.models import CoachingBooking
from tests.coaching_race import COACH, SECRET, TOKEN, click_body, fire_together, outcome, post_signed, racers, seed_race
from tests.process_helpers import release_together

ROOT = Path(__file__).resolve().parents[2]
RACERS = 50

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CBA_")) and k != "DATABASE_URL"}
    env.update(extra)
    return env


def _assert_one_winner(fake: FakeSlack, sessions: sessionmaker[Session], *, settle: float) -> None:
    fake.wait_for("response_url", RACERS, timeout=60)
    result = outcome(fake)
    assert result.other == []
    assert (result.booked, result.taken) == (1, RACERS - 1)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(CoachingBooking)) == 1
        winner = session.scalars(select(CoachingBooking)).one().participant.slack_id
    # One confirmation: a DM and a calendar file to the winner and the coach, nobody else.
    fake.wait_for("files.completeUploadExternal", 2, timeout=30)
    time.sleep(settle)  # time for a wrong third upload to show up, while a bot still runs
    assert sorted(f.channel_id or "" for f in fake.files) == sorted([fake.dm_channel(COACH), fake.dm_channel(winner)])


@pytest.fixture
def starts_at() -> datetime:
    # The bot processes use the real clock: a slot three days from now is bookable.
    return datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=3)


@pytest.fixture
def server(db_url: str, fake_slack: FakeSlack) -> Iterator[str]:
    port = _free_port()
    env = _child_env(
        DATABASE_URL=db_url,
        SLACK_API_URL=fake_slack.url,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_BOT_TOKEN=TOKEN,
        PORT=str(port),
        CBA_LOG_LEVEL="WARNING",
        CBA_HTTP_THREADS="32",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--no-scheduler", "--host", "127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.time() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"cba-bot run did not come up:\n{output}")
                time.sleep(0.1)
        yield f"{base}/slack/events"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_fifty_signed_http_clicks_on_a_running_bot(
    db_url: str,
    fake_slack: FakeSlack,
    sessions: sessionmaker[Session],
    starts_at: datetime,
    server: str,
) -> None:
    slot_id = seed_race(sessions, fake_slack, starts_at, RACERS)
    bodies = [click_body(user, slot_id, fake_slack.new_response_url()) for user in racers(RACERS)]
    statuses: list[int] = []
    errors = fire_together([lambda body=body: statuses.append(post_signed(server, body)) for body in bodies])
    assert errors == []
    assert statuses == [200] * RACERS
    _assert_one_winner(fake_slack, sessions, settle=0.5)


def test_fifty_clicks_from_two_processes_on_one_database(
    db_url: str, fake_slack: FakeSlack, sessions: sessionmaker[Session], starts_at: datetime
) -> None:
    slot_id = seed_race(sessions, fake_slack, starts_at, RACERS)
    jobs = [[user, fake_slack.new_response_url()] for user in racers(RACERS)]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.coaching_race",
                "--db",
                db_url,
                "--fake-url",
                fake_slack.url,
                "--slot",
                str(slot_id),
                "--jobs",
                json.dumps(half),
            ],
            cwd=ROOT,
            env=_child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for half in (jobs[: RACERS // 2], jobs[RACERS // 2 :])
    ]
    release_together(processes)  # both built, then all fifty clicks at once
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()[-3000:]
        report = json.loads(out.decode().strip().splitlines()[-1])
        assert report["statuses"] == [200] * (RACERS // 2)
    # Both processes have exited, after waiting for all their work: every upload has been made.
    _assert_one_winner(fake_slack, sessions, settle=0)
