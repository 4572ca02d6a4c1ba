"""Where one command's acknowledgement spends its time: cProfile and SQL statements, in process.

Complements bench/ack_latency.py (which measures over HTTP under load and can sample the server with
py-spy): here the bot is built in this process on a fresh database with the demo cohort, and the same signed
requests go through Bolt's whole pipeline one at a time via SlackDriver (as the tests and the console do).
For each command: wall time per request, SQL statements per request (and the most frequent ones), and the
functions with the most time under cProfile.

`--cpu` measures instead what the load bench's ratio depends on (on 2 cores, latency under load is clients ÷
throughput, i.e. server CPU per request), without the noise of other processes' load: the CPU time of the
request's thread (`time.thread_time`) per signed request, through Bolt's WSGI adapter as in production
(only waitress is missing), best of `--runs` runs, with statements per request; and the same for a bare Bolt
app that only acks in the request's thread (the floor).

    python -m bench.ack_profile [--requests 200] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
    python -m bench.ack_profile --cpu [--requests 300] [--runs 5] [--only help] [--database-url …]

For noise-free counts on a busy machine, bench/instructions.sh runs `--cpu --runs 1` under valgrind and
reports the instructions per request of each line (all threads).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
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

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from sqlalchemy import event

from bench.ack_latency import COMMANDS, USERS, _database
from bot.app import build
from bot.console import slack_payloads as payloads
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


def _environ(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """What waitress hands the WSGI app for one signed POST."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "3000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": headers["content-type"],
    }
    for name, value in headers.items():
        if name.lower() not in ("content-type", "content-length"):
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _signed(command: Any, count: int, response_url: str) -> list[tuple[bytes, dict[str, str]]]:
    """`count` signed requests built before timing (the signing is Slack's work, not the server's)."""
    out = []
    for i in range(count):
        body = payloads.form_body(
            payloads.slash_command(USERS[i % len(USERS)], command.command, command.text(), response_url=response_url)
        )
        out.append((body.encode(), payloads.signed_headers(SECRET, body, content_type=payloads.FORM)))
    return out


def _cpu_per_request(
    handler: SlackRequestHandler, requests: list[tuple[bytes, dict[str, str]]], settle: Any
) -> tuple[float, float]:
    """CPU ms per request of this thread and of the whole process (courier included) for one run."""

    def start_response(status: str, _headers: Any) -> None:
        assert status.startswith("200"), status

    environs = [_environ(body, headers) for body, headers in requests]
    os.getppid()  # a marker for valgrind: bench/instructions.sh dumps the counts at each call
    own, whole = time.thread_time(), time.process_time()
    for environ in environs:
        b"".join(handler(environ, start_response))
    settle()
    count = len(requests)
    os.getppid()
    return (time.thread_time() - own) * 1000 / count, (time.process_time() - whole) * 1000 / count


def _bare_handler() -> SlackRequestHandler:
    """The floor: Bolt that only acks, in the request's thread, authorised without Slack."""
    app = App(
        name="bare",
        signing_secret=SECRET,
        token_verification_enabled=False,
        authorize=lambda **_: AuthorizeResult(enterprise_id=None, team_id="T0001", bot_token="xoxb-bare"),
        process_before_response=True,
    )

    def only_ack(ack: Ack) -> None:
        ack()

    for command in {c.command for c in COMMANDS}:
        app.command(command)(only_ack)
    return SlackRequestHandler(app, path="/slack/events")


def cpu(database_url: str, requests: int, runs: int, only: str = "") -> str:
    env = bot_env(DATABASE_URL=database_url, SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SECRET)
    subprocess.run([sys.executable, "-m", "bot.cli", "demo"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    lines = [
        f"CPU ms per request ({backend}; best of {runs} runs of {requests}; request thread / whole process;"
        " statements per request)"
    ]
    with FakeSlack() as fake:
        settings = Settings(
            database_url=database_url,
            slack_bot_token="xoxb-bench",
            slack_signing_secret=SECRET,
            slack_api_url=fake.url,
        )
        engine = make_engine(database_url)
        statements = [0]

        @event.listens_for(engine, "before_cursor_execute")
        def _count(*_: Any) -> None:
            statements[0] += 1

        built = build(
            settings, client=WebClient(token="xoxb-bench", base_url=fake.url), sessions=make_sessionmaker(engine)
        )
        courier = built.deps.courier

        def settle() -> None:
            if courier is not None:
                courier.wait_idle(timeout=15)

        handlers = [
            ("bare Bolt (ack only)", _bare_handler(), COMMANDS[:1]),
            ("bot", SlackRequestHandler(built.app, path="/slack/events"), COMMANDS),
        ]
        try:
            for name, handler, commands in handlers:
                for command in commands:
                    label = name if name.startswith("bare") else command.label
                    if only and only not in label:
                        continue
                    _cpu_per_request(handler, _signed(command, 30, fake.new_response_url()), settle)  # warm-up
                    best = (float("inf"), float("inf"))
                    counted = 0.0
                    for _ in range(runs):
                        batch = _signed(command, requests, fake.new_response_url())
                        statements[0] = 0
                        best = min(best, _cpu_per_request(handler, batch, settle))
                        counted = statements[0] / requests
                    lines.append(f"  {label:34} {best[0]:5.2f} / {best[1]:5.2f} ms   {counted:4.1f} statements")
        finally:
            if courier is not None:
                courier.stop()
            engine.dispose()
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server; default: a fresh SQLite file")
    parser.add_argument("--cpu", action="store_true", help="CPU per request (best of --runs) instead of profiles")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="with --cpu: only the lines whose label contains this")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="cba-bench-prof-") as folder,
        _database(args.database_url, Path(folder)) as url,
    ):
        report = cpu(url, args.requests, args.runs, args.only) if args.cpu else profile(url, args.requests, args.top)
    print(report)


if __name__ == "__main__":
    main()
