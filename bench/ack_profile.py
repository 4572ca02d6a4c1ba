"""Where one command's acknowledgement spends its time: cProfile and SQL statements, in process.

Complements bench/ack_latency.py (which measures over HTTP under load and can sample the server with
py-spy): here the bot is built in this process on a fresh database with the demo cohort, and the same signed
requests go through Bolt's whole pipeline one at a time via SlackDriver (as the tests and the console do).
For each command: wall time per request, SQL statements per request (and the most frequent ones), and the
functions with the most time under cProfile.

    python -m bench.ack_profile [--requests 200] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import event

from bench.ack_latency import COMMANDS, USERS, _database
from bot.app import build
from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.kernel.settings import Settings
from storage.db import make_engine, make_sessionmaker
from tests.process_helpers import ROOT, bot_env

SECRET = "bench-secret"
PROJECT = re.compile(r"/(bot|commands|storage)/")


def _short(path: str) -> str:
    for marker in ("/site-packages/", str(ROOT) + "/", "/lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/lib/python3.":
                path = path.split("/", 1)[1]
    return path


def profile(database_url: str, requests: int, top: int) -> str:
    env = bot_env(DATABASE_URL=database_url, SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SECRET)
    subprocess.run([sys.executable, "-m", "bot.cli", "demo"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    out: list[str] = []
    with FakeSlack() as fake:
        settings = Settings(
            database_url=database_url,
            slack_bot_token="xoxb-bench",
            slack_signing_secret=SECRET,
            slack_api_url=fake.url,
        )
        engine = make_engine(database_url)
        statements: Counter[str] = Counter()
        elsewhere: Counter[str] = Counter()  # statements of other threads: the courier delivering what was queued
        requester = threading.get_ident()

        @event.listens_for(engine, "before_cursor_execute")
        def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            counter = statements if threading.get_ident() == requester else elsewhere
            counter[" ".join(statement.split())[:110]] += 1

        built = build(
            settings, client=WebClient(token="xoxb-bench", base_url=fake.url), sessions=make_sessionmaker(engine)
        )
        driver = SlackDriver(built.app, built.deps, SECRET, fake=fake)
        try:
            for command in COMMANDS:
                for i in range(20):  # warm-up
                    driver.command(USERS[i % len(USERS)], command.command, command.text())
                started, cpu_started, own_started = time.perf_counter(), time.process_time(), time.thread_time()
                for i in range(requests):
                    driver.command(USERS[i % len(USERS)], command.command, command.text())
                plain = (time.perf_counter() - started) * 1000 / requests
                cpu = (time.process_time() - cpu_started) * 1000 / requests
                own = (time.thread_time() - own_started) * 1000 / requests
                statements.clear()
                elsewhere.clear()
                profiler = cProfile.Profile()
                started = time.perf_counter()
                profiler.enable()
                for i in range(requests):
                    answer = driver.command(USERS[i % len(USERS)], command.command, command.text())
                    assert answer.status == 200, answer
                profiler.disable()
                wall = (time.perf_counter() - started) * 1000 / requests
                stats = pstats.Stats(profiler)
                total = stats.total_tt  # type: ignore[attr-defined]
                out.append(
                    f"\n### {command.label}: {plain:.2f} ms per request ({wall:.2f} under cProfile); CPU per request "
                    f"{own:.2f} ms in the request's thread, {cpu:.2f} ms in the whole process (courier and fake Slack "
                    f"included); SQL statements per request {sum(statements.values()) / requests:.1f} in the "
                    f"request's thread, {sum(elsewhere.values()) / requests:.1f} in other threads"
                )
                out.append("most frequent statements of the request's thread (per request):")
                out += [f"  {n / requests:5.1f}  {sql}" for sql, n in statements.most_common(6)]
                rows = []
                for (path, _line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
                    rows.append((tottime, cumtime, calls, f"{_short(path)}:{name}", bool(PROJECT.search(path))))
                out.append("self time (tottime), share of profiled time:")
                out += [
                    f"  {100 * t / total:5.1f}%  {where}  ({c / requests:.0f} calls/req)"
                    for t, _cum, c, where, _p in sorted(rows, reverse=True)[:top]
                ]
                out.append("project functions by cumulative time:")
                project = sorted((r for r in rows if r[4]), key=lambda r: r[1], reverse=True)
                out += [f"  {100 * cum / total:5.1f}%  {where}" for _t, cum, _c, where, _p in project[: top + 4]]
        finally:
            if built.deps.courier is not None:
                built.deps.courier.stop()
            engine.dispose()
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server; default: a fresh SQLite file")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="cba-bench-prof-") as folder,
        _database(args.database_url, Path(folder)) as url,
    ):
        report = profile(url, args.requests, args.top)
    print(report)


if __name__ == "__main__":
    main()
