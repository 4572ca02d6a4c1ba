"""Bench: 50 participants press "Book" on one slot at once, against a running `cba-bot run` (HTTP).

Settle time = from the moment the 50 signed requests are released until the last of the 50 answers
(1 "Booked!", 49 "was just taken") reaches the fake Slack API. Also the HTTP acknowledgement
latency of those requests. On SQLite (a file) and, when a URL is given, PostgreSQL.

    python bench/coaching_booking_race.py [--rounds 10] [--pg postgresql://postgres@127.0.0.1:5432/test]

Writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.results import write_result

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.console.fakeslack import FakeSlack  # noqa: E402
from storage.db import make_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import CoachingBooking, CoachingSlot, Member, Reminder  # noqa: E402
from tests.coaching_race import (  # noqa: E402
    COACH,
    SECRET,
    TOKEN,
    click_body,
    fire_together,
    outcome,
    post_signed,
    racers,
    seed_race,
)

RACERS = 50


@contextmanager
def database(kind: str, pg_server: str | None) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.sqlite3"
            upgrade(url)
            yield url
        return
    assert pg_server
    server = make_url(pg_server)
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"cba_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def running_bot(db_url: str, fake: FakeSlack) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CBA_")) and k != "DATABASE_URL"}
    env.update(
        DATABASE_URL=db_url,
        SLACK_API_URL=fake.url,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_BOT_TOKEN=TOKEN,
        PORT=str(port),
        CBA_LOG_LEVEL="WARNING",
        CBA_HTTP_THREADS="32",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--no-scheduler", "--host", "127.0.0.1"], cwd=ROOT, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.time() > deadline:
                    raise SystemExit("cba-bot run did not start") from None
                time.sleep(0.1)
        yield f"{base}/slack/events"
    finally:
        process.terminate()
        process.wait(timeout=15)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def bench(kind: str, pg: str | None, rounds: int) -> dict[str, object]:
    settle: list[float] = []
    acks: list[float] = []
    with database(kind, pg) as url, FakeSlack() as fake:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        starts_at = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=3)
        seed_race(sessions, fake, starts_at, RACERS)
        with running_bot(url, fake) as endpoint:
            for round_no in range(rounds + 1):  # round 0 warms the server up and is not counted
                with sessions.begin() as session:
                    session.execute(delete(Reminder))
                    session.execute(delete(CoachingBooking))
                    coach_id = session.query(Member.id).filter(Member.slack_id == COACH).scalar()
                    start = starts_at + timedelta(hours=round_no)
                    slot = CoachingSlot(coach_id=coach_id, starts_at=start, ends_at=start + timedelta(minutes=45))
                    session.add(slot)
                    session.flush()
                    slot_id = slot.id
                fake.reset_calls()
                bodies = [click_body(user, slot_id, fake.new_response_url()) for user in racers(RACERS)]
                latencies: list[float] = []

                def click(body: str, latencies: list[float] = latencies) -> None:
                    began = time.perf_counter()
                    post_signed(endpoint, body)
                    latencies.append(time.perf_counter() - began)

                released = time.time()
                errors = fire_together([lambda body=body: click(body) for body in bodies])
                fake.wait_for("response_url", RACERS, timeout=60)
                result = outcome(fake)
                if errors or (result.booked, result.taken) != (1, RACERS - 1):
                    raise SystemExit(f"{kind} round {round_no}: wrong outcome {result} {errors}")
                last = max(call.at for call in fake.calls_to("response_url"))
                if round_no:
                    settle.append(last - released)
                    acks.extend(latencies)
        engine.dispose()
    return {
        "kind": kind,
        "rounds": rounds,
        "settle_median_ms": statistics.median(settle) * 1000,
        "settle_max_ms": max(settle) * 1000,
        "ack_p50_ms": percentile(acks, 0.5) * 1000,
        "ack_p99_ms": percentile(acks, 0.99) * 1000,
    }


def negative_control(pg: str, *, drop_index: bool) -> tuple[int, int]:
    """In-process, PostgreSQL: 50 threads call the booking service at once; optionally without the index.

    Returns (confirmed, bookings stored). Shows that the partial unique index, not the conditional
    INSERT … WHERE NOT EXISTS alone, is what holds the invariant under READ COMMITTED.
    """

    from bot.kernel.settings import Settings
    from commands.coaching import service
    from commands.common.actors import load_actor
    from storage.models import RoleGrant

    with database("postgresql", pg) as url:
        engine = make_engine(url, pool_size=RACERS + 5, max_overflow=0)
        sessions = make_sessionmaker(engine)
        now = datetime.now(UTC)
        with sessions.begin() as session:
            if drop_index:
                session.execute(text("DROP INDEX uq_coaching_bookings_active_slot"))
            coach = Member(slack_id=COACH, name="coach")
            session.add(coach)
            session.flush()
            session.add(RoleGrant(member_id=coach.id, role="coach"))
            for user in racers(RACERS):
                member = Member(slack_id=user, name=user)
                session.add(member)
                session.flush()
                session.add(RoleGrant(member_id=member.id, role="participant"))
            slot = CoachingSlot(
                coach_id=coach.id, starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=2, minutes=45)
            )
            session.add(slot)
            session.flush()
            slot_id = slot.id
        confirmed: list[str] = []

        def book(user: str) -> None:
            try:
                with sessions.begin() as session:
                    service.book(session, load_actor(session, user, frozenset()), slot_id, now, Settings())
                confirmed.append(user)
            except service.SlotTaken:
                pass

        errors = fire_together([lambda user=user: book(user) for user in racers(RACERS)])
        if errors:
            raise SystemExit(f"negative control failed: {errors[:3]}")
        with sessions() as session:
            stored = session.query(CoachingBooking).count()
        engine.dispose()
    return len(confirmed), stored


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--pg", default=os.environ.get("CBA_TEST_DATABASE_URL"))
    parser.add_argument("--output", type=Path, default=None, help="a file of its own instead of RESULTS.md")
    args = parser.parse_args()
    kinds = ["sqlite"] + (["postgresql"] if args.pg else [])
    results = [bench(kind, args.pg, args.rounds) for kind in kinds]
    lines = [
        "## Coaching: 50-way concurrent booking of one slot",
        "",
        f"Command: `python bench/coaching_booking_race.py --rounds {args.rounds}"
        + (" --pg postgresql://…`" if args.pg else "`"),
        f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; `cba-bot run --no-scheduler` (waitress, 32 threads) "
        "on the same machine, fake Slack API in the bench process.",
        "",
        'Each round: 50 participants\' signed `block_actions` "Book" clicks on one fresh slot, released together '
        'over HTTP. Every round ended with exactly 1 booking, 1 "Booked!" and 49 "was just taken" answers. '
        "Settle = release → the 50th answer received by the fake Slack (response_url). Ack = HTTP round trip "
        "of each request.",
        "",
        "| database | rounds | settle median | settle max | ack p50 | ack p99 |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['kind']} | {r['rounds']} | {r['settle_median_ms']:.0f} ms | {r['settle_max_ms']:.0f} ms "
            f"| {r['ack_p50_ms']:.1f} ms | {r['ack_p99_ms']:.1f} ms |"
        )
    if args.pg:
        lines += [
            "",
            "Negative control (PostgreSQL, in-process, 50 threads calling the booking service at once, 3 runs "
            "each): with the partial unique index vs. the same code after `DROP INDEX "
            "uq_coaching_bookings_active_slot` (only the conditional `INSERT … WHERE NOT EXISTS` left).",
            "",
            "| variant | confirmed per run | bookings stored per run |",
            "|---|---|---|",
        ]
        for drop in (False, True):
            runs = [negative_control(args.pg, drop_index=drop) for _ in range(3)]
            label = "without the index" if drop else "with the index"
            lines.append(f"| {label} | {', '.join(str(c) for c, _ in runs)} | {', '.join(str(n) for _, n in runs)} |")
    lines.append("")
    write_result(args.output, "coaching-booking-race", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
