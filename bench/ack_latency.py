"""Acknowledgement latency of real commands vs a bare Bolt app, under 50 concurrent signed requests.

Both apps run as their own processes behind the same WSGI server (waitress, same thread counts);
the load generator sends signed slash commands over HTTP, closed loop, and measures the time to the
HTTP answer. Runs alternate bare/bot so that both see the same machine state.

    python -m bench.ack_latency [--requests 1000] [--concurrency 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.results import median, percentile, write_section
from bot.console import slack_payloads as payloads
from tests.process_helpers import ROOT, bot_env, free_port

SECRET = "bench-secret"
RESPONSE_URL = "http://127.0.0.1:9/r"
DEFAULT_COMMANDS = [("/cba-book", ""), ("/cba-directory", "cluster"), ("/cba-help", "")]
USERS = ["U0DEMOPA01", "U0DEMOPA02", "U0DEMOPA03", "U0DEMOPA04"]


def _wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on {port} exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on {port} did not become healthy")


def _one_request(port: int, command: str, text: str, user: str) -> float:
    body = payloads.form_body(payloads.slash_command(user, command, text, response_url=RESPONSE_URL))
    headers = payloads.signed_headers(SECRET, body, content_type=payloads.FORM)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    connection.request("POST", "/slack/events", body=body.encode(), headers=headers)
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    # Bolt answers 404 when a listener has not acknowledged within 3 s: count it, as Slack would fail it.
    return elapsed * 1000 if response.status == 200 else -1.0


def _load(port: int, command: str, text: str, requests: int, concurrency: int) -> list[float]:
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda i: _one_request(port, command, text, USERS[i % len(USERS)]), range(requests)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file with the demo cohort")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="cba-bench-"))
    fake = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bot.console.fakeslack import FakeSlack; import sys, time; f=FakeSlack().start(); print(f.url, flush=True); time.sleep(10**6)",
        ],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=bot_env(),
    )
    assert fake.stdout is not None
    fake_url = fake.stdout.readline().decode().strip()
    global RESPONSE_URL
    RESPONSE_URL = fake_url.replace("/api/", "/_response/999")
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    env = bot_env(
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_url,
        DATABASE_URL=database_url,
        CBA_LOG_LEVEL="WARNING",
    )
    subprocess.run([sys.executable, "-m", "bot.cli", "demo"], env=env, cwd=workdir, check=True, capture_output=True)
    commands = DEFAULT_COMMANDS
    bare_port, bot_port = free_port(), free_port()
    bare = subprocess.Popen(
        [sys.executable, "-m", "bench.bare_app", str(bare_port), SECRET, ",".join(c for c, _ in commands), "16", "32"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--no-scheduler", "--host", "127.0.0.1"],
        cwd=workdir,
        env={**env, "PORT": str(bot_port)},
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(bare_port, bare)
        _wait_healthy(bot_port, bot)
        rows = []
        for command, text in commands:
            for port in (bare_port, bot_port):  # warm-up: connections, caches, users.info time zones
                _load(port, command, text, 100, args.concurrency)
            bare_runs: list[list[float]] = []
            bot_runs: list[list[float]] = []
            for _ in range(args.rounds):
                bare_runs.append(_load(bare_port, command, text, args.requests, args.concurrency))
                bot_runs.append(_load(bot_port, command, text, args.requests, args.concurrency))
            stats = {}
            missed = {}
            for name, runs in (("bare", bare_runs), ("bot", bot_runs)):
                missed[name] = sum(1 for r in runs for ms in r if ms < 0)
                # A missed acknowledgement counts as the worst latency, so it shows in p99.
                runs = [[ms if ms >= 0 else 3000.0 for ms in r] for r in runs]
                stats[name] = (median([percentile(r, 50) for r in runs]), median([percentile(r, 99) for r in runs]))
            rows.append(
                f"| `{command} {text}`.strip() | {stats['bare'][0]:.1f} | {stats['bot'][0]:.1f} | "
                f"**{stats['bot'][0] / stats['bare'][0]:.2f}×** | {stats['bare'][1]:.1f} | {stats['bot'][1]:.1f} | "
                f"**{stats['bot'][1] / stats['bare'][1]:.2f}×** | {missed['bare']} / {missed['bot']} |"
            )
            print(rows[-1], flush=True)
    finally:
        for process in (bare, bot, fake):
            process.terminate()
        for process in (bare, bot, fake):
            process.wait(timeout=20)
    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    body = (
        f"## Acknowledgement latency under {args.concurrency} concurrent signed requests ({backend})\n\n"
        "Bare Bolt app that only acks vs the bot, same waitress server and thread counts, side by side; "
        f"median over {args.rounds} rounds of {args.requests} requests each. Goal: p50 and p99 within 1.5×.\n\n"
        "| command | bare p50 ms | bot p50 ms | ratio | bare p99 ms | bot p99 ms | ratio | not acked in 3 s (bare / bot) |\n"
        "|---|---|---|---|---|---|---|---|\n" + "\n".join(row.replace("`.strip()", "`") for row in rows)
    )
    write_section(
        f"ack-latency-{backend.lower()}", body, command="python -m bench.ack_latency " + " ".join(sys.argv[1:])
    )


if __name__ == "__main__":
    main()
