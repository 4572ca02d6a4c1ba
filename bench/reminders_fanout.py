"""Reminder fan-out: the delivery engine's own overhead per message, against raw WebClient calls.

Each round sends 1,000 DMs twice against the same fake Slack API (its own process, no rate limit):
once as bare `WebClient.chat_postMessage` calls, once as 1,000 due programme-day reminders delivered
by `deliver_due` with one sender (claims, the real event renderer, a fence before each call, per-row
fenced acknowledgements). The difference,
per message, is the engine's overhead. Rounds alternate so that machine noise hits both alike.

    python bench/reminders_fanout.py [--rounds 5] [--messages 1000] [--pg postgresql://…/test]

Writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.results import write_result

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.features import build_registry  # noqa: E402
from bot.kernel.delivery import deliver_due  # noqa: E402
from commands.events import service  # noqa: E402
from storage.db import make_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Cohort, Event, Member, RoleGrant  # noqa: E402


def _serve_fake(users: list[str], ready: Any, stop: Any) -> None:
    from bot.console.fakeslack import FakeSlack

    fake = FakeSlack().start()
    for user in users:
        fake.add_user(user, user)
    ready.put(fake.url)
    stop.wait()
    fake.stop()


class Parts:
    def __init__(self, database_url: str, client: WebClient) -> None:
        from zoneinfo import ZoneInfo

        self.sessions = make_sessionmaker(make_engine(database_url))
        self.client = client
        registry = build_registry()  # the product's kinds, the programme-day reminder among them
        self.renderers = registry.renderers
        self.delivered = registry.delivered
        self.zone = ZoneInfo("Europe/Brussels")


def _plan(parts: Parts, users: list[str], code: str, now: datetime) -> None:
    """A cohort of len(users) participants and one programme day whose 1h reminders are all due now."""
    with parts.sessions.begin() as session:
        cohort = Cohort(code=code, name=code)
        session.add(cohort)
        session.flush()
        members = [Member(slack_id=user, name=user) for user in users]
        session.add_all(members)
        session.flush()
        session.add_all([RoleGrant(member_id=m.id, role="participant", cohort_id=cohort.id) for m in members])
        starts = now + timedelta(hours=1)
        event = Event(
            cohort_id=cohort.id, kind="online", title=f"Day {code}", location="https://meet.example.com/x",
            starts_at=starts, ends_at=starts + timedelta(hours=3), tz="Europe/Brussels",
        )  # fmt: skip
        session.add(event)
        session.flush()
        service.plan_reminders(session, event, offsets=[timedelta(hours=1)], now=now - timedelta(seconds=1))


def _same_message(now: datetime) -> tuple[str, list[dict[str, Any]]]:
    """The message the engine sends (same text and blocks), so both sides pay the same HTTP and fake-Slack cost."""
    from zoneinfo import ZoneInfo

    from commands.events import views

    starts = now + timedelta(hours=1)
    event = Event(
        id=1, cohort_id=1, kind="online", title="Day BS0", location="https://meet.example.com/x",
        starts_at=starts, ends_at=starts + timedelta(hours=3), tz="Europe/Brussels",
    )  # fmt: skip
    return views.reminder_message(event, ZoneInfo("Europe/Brussels"), "1h")


def _raw(client: WebClient, users: list[str]) -> float:
    text, blocks = _same_message(datetime.now(UTC))
    started = time.perf_counter()
    for user in users:
        client.chat_postMessage(channel=user, text=text, blocks=blocks)
    return time.perf_counter() - started


def _engine(parts: Parts, now: datetime) -> tuple[float, int]:
    started = time.perf_counter()
    # One sender, like the raw loop: the difference is then the engine's own work per message (claim,
    # render, fence, acknowledgement). With CBA_SENDERS senders it posts several at once and beats the loop.
    report = deliver_due(parts, now=now, worker_id="bench", batch=50, senders=1)
    return time.perf_counter() - started, report.sent


def _database(kind: str, pg_server: str | None) -> tuple[str, Any]:
    if kind == "sqlite":
        path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url)
        return url, lambda: None
    assert pg_server
    server = make_url(pg_server)
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"cba_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    upgrade(url)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def run(backend: str, url: str, slack_url: str, rounds: int, messages: int) -> dict[str, float]:
    client = WebClient(token="xoxb-bench", base_url=slack_url)
    parts = Parts(url, client)
    raw_times, engine_times = [], []
    _raw(client, [f"U0W{i:05d}" for i in range(50)])  # warm-up: connections, imports
    for index in range(rounds):
        raw_users = [f"U{backend[0].upper()}{index:02d}R{i:05d}" for i in range(messages)]
        engine_users = [f"U{backend[0].upper()}{index:02d}E{i:05d}" for i in range(messages)]
        now = datetime.now(UTC)
        _plan(parts, engine_users, f"B{backend[0].upper()}{index}", now)
        raw_times.append(_raw(client, raw_users))
        elapsed, sent = _engine(parts, now)
        assert sent == messages, f"engine sent {sent} of {messages}"
        engine_times.append(elapsed)
        print(f"{backend} round {index + 1}: raw {raw_times[-1]:.3f} s, engine {elapsed:.3f} s", flush=True)
    raw_ms = statistics.median(raw_times) / messages * 1000
    engine_ms = statistics.median(engine_times) / messages * 1000
    overheads = [(e - r) / messages * 1000 for r, e in zip(raw_times, engine_times, strict=True)]
    return {
        "raw_ms": raw_ms,
        "engine_ms": engine_ms,
        "overhead_ms": statistics.median(overheads),
        "overhead_min_ms": min(overheads),
        "ratio": engine_ms / raw_ms,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--pg", default=os.environ.get("CBA_TEST_DATABASE_URL"))
    parser.add_argument("--output", type=Path, default=None, help="a file of its own instead of RESULTS.md")
    args = parser.parse_args()

    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    users = [f"U0W{i:05d}" for i in range(50)]
    for backend in backends:
        for index in range(args.rounds):
            for phase in "RE":
                users += [f"U{backend[0].upper()}{index:02d}{phase}{i:05d}" for i in range(args.messages)]
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve_fake, args=(users, ready, stop), daemon=True)
    server.start()
    slack_url = ready.get(timeout=60)
    results: dict[str, dict[str, float]] = {}
    try:
        for backend in backends:
            url, drop = _database(backend, args.pg)
            try:
                results[backend] = run(backend, url, slack_url, args.rounds, args.messages)
            finally:
                drop()
    finally:
        stop.set()
        server.join(timeout=10)

    load = os.getloadavg()
    lines = [
        "# Reminder fan-out: engine overhead per message (issue 4)",
        "",
        f"Command: `python bench/reminders_fanout.py --rounds {args.rounds} --messages {args.messages}"
        + (" --pg <CBA_TEST_DATABASE_URL>`" if args.pg else "`"),
        f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (a shared machine: other jobs ran).",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Each round: {args.messages} DMs as raw `WebClient.chat_postMessage` calls (same text and blocks), then {args.messages} due",
        "programme-day reminders through `deliver_due` (batch 50, one sender: leased claim, real event renderer,",
        "a fence before each call, per-row fenced acknowledgement), against one fake Slack API in its own",
        "process, no rate limit.",
        "Medians over the rounds; overhead = (engine - raw) / messages, per round, then the median.",
        "",
        "| backend | raw ms/msg | engine ms/msg | overhead ms/msg (median) | overhead (best round) | ratio | goal < 2 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for backend, r in results.items():
        verdict = "met" if r["overhead_ms"] < 2 else "NOT met"
        lines.append(
            f"| {backend} | {r['raw_ms']:.2f} | {r['engine_ms']:.2f} | {r['overhead_ms']:.2f} | "
            f"{r['overhead_min_ms']:.2f} | {r['ratio']:.2f}x | {verdict} |"
        )
    write_result(args.output, "reminder-fanout", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
