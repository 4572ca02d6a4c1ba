"""Acknowledgement latency of real commands vs a bare Bolt app that only acks (SPEC 5).

One run measures, side by side on the same production server (waitress, same HTTP and listener thread
counts), two processes:
- the baseline: a Bolt app that only calls `ack()` in the default mode, as Slack's starter apps do
  (bench/bare_app.py);
- the bot: `cba-bot run --no-scheduler` in HTTP mode on a fresh database with the demo cohort, talking to a
  fake Slack Web API in a third process.
For each command and each concurrency, closed loop (each of C clients sends its next signed request as soon
as the previous one is answered, a new connection each), rounds alternate bare/bot so both see the same
machine state. Latency is the time to the HTTP answer; a request is unacknowledged when the answer is not
200 or comes after 3 s (Slack's limit). The load generator shares the machine: compare the ratios.

    python -m bench.ack_latency [--requests 300] [--rounds 3] [--concurrency 1,10,50]
                                [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
                                [--profile DIR] [--profile-seconds 15] [--no-pin]

`--database-url` names a PostgreSQL server: a fresh database is created on it and dropped afterwards.
Each server runs on one CPU and the load generator on the others (both apps alike; `--no-pin`: all on all).
`--profile DIR` then samples the bot with py-spy (`pip install py-spy`) under the highest concurrency, one
command at a time, and writes raw stacks and a summary of hot spots to DIR.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench.results import percentile, write_section
from bot.console import slack_payloads as payloads
from tests.process_helpers import ROOT, bot_env, free_port

SECRET = "bench-secret"
SLACK_LIMIT_MS = 3000.0
USERS = ["U0DEMOPA01", "U0DEMOPA02", "U0DEMOPA03", "U0DEMOPA04"]  # demo participants: members with a role
DIRECTORY_WORD = "cluster"  # in the organisation or bio of most demo profiles
_region = itertools.count(1)


@dataclass(frozen=True)
class Command:
    label: str
    command: str
    text: Callable[[], str]


COMMANDS = [
    Command("`/cba-help`", "/cba-help", lambda: ""),
    Command("`/cba-book` (list)", "/cba-book", lambda: ""),
    Command(f"`/cba-directory {DIRECTORY_WORD}`", "/cba-directory", lambda: DIRECTORY_WORD),
    # A new value every time, so that every request really writes (and re-indexes the member's search terms).
    Command("`/cba-profile set region WORD`", "/cba-profile", lambda: f"set region Benchland {next(_region)}"),
]


@dataclass
class Sample:
    ms: float
    acked: bool


@dataclass
class Cell:
    bare: list[Sample] = field(default_factory=list)
    bot: list[Sample] = field(default_factory=list)
    bare_cpu: float = 0.0  # CPU seconds the server process used (all threads) while answering these requests
    bot_cpu: float = 0.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all threads (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed_load(
    pid: int, port: int, command: Command, requests: int, level: int, url: str
) -> tuple[list[Sample], float]:
    before = _cpu_seconds(pid)
    samples = _load(port, command, requests, level, url)
    return samples, _cpu_seconds(pid) - before


def _one_request(port: int, command: Command, user: str, response_url: str) -> Sample:
    body = payloads.form_body(payloads.slash_command(user, command.command, command.text(), response_url=response_url))
    headers = payloads.signed_headers(SECRET, body, content_type=payloads.FORM)
    started = time.perf_counter()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/slack/events", body=body.encode(), headers=headers)
        response = connection.getresponse()
        response.read()
        status = response.status
        connection.close()
    except OSError:
        status = 0
    ms = (time.perf_counter() - started) * 1000
    return Sample(ms, status == 200 and ms <= SLACK_LIMIT_MS)


def _load(port: int, command: Command, requests: int, concurrency: int, response_url: str) -> list[Sample]:
    """Closed loop: `concurrency` clients, each sending its next request when the last one is answered."""
    tickets = itertools.count()

    def client(_: int) -> list[Sample]:
        samples = []
        while (i := next(tickets)) < requests:
            samples.append(_one_request(port, command, USERS[i % len(USERS)], response_url))
        return samples

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return [s for samples in pool.map(client, range(concurrency)) for s in samples]


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
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on {port} did not become healthy")


@contextmanager
def _database(server_url: str | None, workdir: Path) -> Iterator[str]:
    if not server_url:
        yield f"sqlite:///{workdir / 'bench.sqlite3'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"cba_bench_ack_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _check_answers(port: int, response_url: str) -> list[str]:
    """One request per command before timing: the bot must answer each with real content, not a refusal."""
    lines = []
    for command in COMMANDS:
        body = payloads.form_body(
            payloads.slash_command(USERS[0], command.command, command.text(), response_url=response_url)
        )
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request(
            "POST",
            "/slack/events",
            body=body.encode(),
            headers=payloads.signed_headers(SECRET, body, content_type=payloads.FORM),
        )
        response = connection.getresponse()
        answer = response.read().decode(errors="replace")
        if response.status != 200 or not answer:
            raise SystemExit(f"{command.command}: HTTP {response.status} {answer[:200]!r}")
        refusal = ("not a member", "only for", "usage", "sorry", "went wrong")
        if any(word in answer.lower()[:400] for word in refusal):
            raise SystemExit(f"{command.command}: the bot refused or failed: {answer[:300]!r}")
        lines.append(f"{command.command} {USERS[0]}: {answer[:160]!r}… ({len(answer)} bytes)")
    return lines


def _stats(samples: list[Sample]) -> tuple[float, float, int]:
    # An unacknowledged request counts with at least Slack's limit, so that it shows in the tail.
    values = [s.ms if s.acked else max(s.ms, SLACK_LIMIT_MS) for s in samples]
    return percentile(values, 50), percentile(values, 99), sum(1 for s in samples if not s.acked)


def _log_summary(path: Path) -> str:
    """What a server wrote to stderr: errors matter; waitress's queue-depth warnings just say it was busy."""
    if not path.exists():
        return "no log"
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    queue = sum(1 for line in lines if "Task queue depth" in line)
    other = [line for line in lines if "Task queue depth" not in line]
    errors = [line for line in other if "ERROR" in line or "Traceback" in line]
    head = f"{len(errors)} error lines, {queue} waitress queue-depth warnings, {len(other)} other lines"
    return head + ("; first: " + errors[0][:300] if errors else "")


def _machine() -> str:
    return (
        f"`uname -m` {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, slack_bolt {version('slack_bolt')}, waitress {version('waitress')}, "
        f"SQLAlchemy {version('SQLAlchemy')}"
    )


# --- profiling ----------------------------------------------------------------------------------------------

PROJECT = ("bot/", "commands/", "storage/")


def _frame_file(frame: str) -> str:
    return frame[frame.rfind("(") + 1 : -1] if frame.endswith(")") else ""


def summarise_profile(raw: Path, top: int = 10) -> str:
    """Self and inclusive shares of the active samples in a py-spy raw (collapsed stacks) file."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        self_time[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "no samples\n"
    out = [f"{total} samples of the thread holding the GIL", "self time:"]
    out += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in self_time.most_common(top)]
    out.append("inclusive, project code (bot/, commands/, storage/):")
    project = [(f, n) for f, n in inclusive.most_common() if _frame_file(f).startswith(PROJECT)]
    out += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in project[: top * 2]]
    out.append("inclusive, libraries:")
    libraries = [
        (f, n)
        for f, n in inclusive.most_common()
        if not _frame_file(f).startswith(PROJECT)
        and not _frame_file(f).startswith(("threading", "waitress/"))
        and n < total * 0.95
    ]
    out += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in libraries[:top]]
    return "\n".join(out) + "\n"


def _profile(bot_pid: int, bot_port: int, concurrency: int, seconds: float, folder: Path, response_url: str) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        raise SystemExit("--profile needs py-spy: pip install py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    for index, command in enumerate(COMMANDS):
        raw = folder / f"{index + 1}-{command.command.strip('/')}.txt"
        recorder = subprocess.Popen(
            [spy, "record", "--pid", str(bot_pid), "--duration", str(int(seconds)), "--rate", "100", "--gil"]
            + ["--format", "raw", "--nolineno", "--output", str(raw)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stop = threading.Event()

        def keep_loading(command: Command = command, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                _load(bot_port, command, concurrency * 4, concurrency, response_url)

        time.sleep(0.5)  # py-spy attached
        loader = threading.Thread(target=keep_loading)
        loader.start()
        recorder.wait()
        stop.set()
        loader.join()
        summary = summarise_profile(raw)
        (folder / f"{index + 1}-{command.command.strip('/')}.summary.txt").write_text(summary, encoding="utf-8")
        print(f"\n== profile of the bot, {command.command} at c={concurrency}\n{summary}", flush=True)


# --- main ---------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="at least this many per row and app (all rounds)")
    parser.add_argument("--waves", type=int, default=10, help="and at least this many × clients per round")
    parser.add_argument("--rounds", type=int, default=3, help="bare/bot alternations per command and concurrency")
    parser.add_argument("--concurrency", default="1,10,50", help="comma-separated client counts")
    parser.add_argument("--warmup", type=int, default=100, help="requests per app before each command's timing")
    parser.add_argument("--http-threads", type=int, default=8, help="waitress threads, both apps (bot default)")
    parser.add_argument("--listener-threads", type=int, default=32, help="Bolt listener pool, both (bot default)")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server; default: a fresh SQLite file")
    parser.add_argument("--profile", type=Path, default=None, help="then profile the bot with py-spy into DIR")
    parser.add_argument("--profile-seconds", type=float, default=15)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument(
        "--no-pin", action="store_true", help="leave the servers and the load generator on every CPU (see _pinning)"
    )
    args = parser.parse_args()
    server_cpus = _pinning(not args.no_pin)
    levels = [int(c) for c in args.concurrency.split(",")]

    def per_round(level: int) -> int:
        return max(1, -(-args.requests // args.rounds), args.waves * level)

    workdir = Path(tempfile.mkdtemp(prefix="cba-bench-ack-"))
    started = datetime.now(UTC)
    fake = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bot.console.fakeslack import FakeSlack; import time; f=FakeSlack().start(); "
            "print(f.url, flush=True); time.sleep(10**6)",
        ],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=bot_env(),
    )
    assert fake.stdout is not None
    fake_url = fake.stdout.readline().decode().strip()
    response_url = fake_url.replace("/api/", "/_response/999")  # the commands answer in the ack; never used
    processes: list[subprocess.Popen[bytes]] = [fake]
    cells: dict[tuple[int, int], Cell] = {}
    try:
        with _database(args.database_url, workdir) as database_url:
            env = bot_env(
                SLACK_BOT_TOKEN="xoxb-bench",
                SLACK_SIGNING_SECRET=SECRET,
                SLACK_API_URL=fake_url,
                DATABASE_URL=database_url,
                CBA_LOG_LEVEL="WARNING",
                CBA_HTTP_THREADS=str(args.http_threads),
                CBA_LISTENER_THREADS=str(args.listener_threads),
            )
            subprocess.run(
                [sys.executable, "-m", "bot.cli", "demo"], env=env, cwd=workdir, check=True, stdout=subprocess.DEVNULL
            )
            bare_port, bot_port = free_port(), free_port()
            names = ",".join(sorted({c.command for c in COMMANDS}))
            bare = subprocess.Popen(
                [sys.executable, "-m", "bench.bare_app", str(bare_port), SECRET, names]
                + [str(args.http_threads), str(args.listener_threads)],
                cwd=ROOT,
                env=env,
                stderr=(workdir / "bare.log").open("wb"),
                preexec_fn=_on_cpus(server_cpus),
            )
            processes.append(bare)
            bot = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--no-scheduler", "--host", "127.0.0.1"],
                cwd=workdir,
                env={**env, "PORT": str(bot_port)},
                stderr=(workdir / "bot.log").open("wb"),
                preexec_fn=_on_cpus(server_cpus),
            )
            processes.append(bot)
            _wait_healthy(bare_port, bare)
            _wait_healthy(bot_port, bot)
            for line in _check_answers(bot_port, response_url):
                print("checked", line, flush=True)
            ports = {"bare": bare_port, "bot": bot_port}
            for ci, command in enumerate(COMMANDS):
                for port in ports.values():  # warm-up: connections, caches, the bot's first queries
                    _load(port, command, args.warmup, max(levels), response_url)
                for li, level in enumerate(levels):
                    cell = cells[(ci, li)] = Cell()
                    for _ in range(args.rounds):
                        samples, cpu = _timed_load(bare.pid, bare_port, command, per_round(level), level, response_url)
                        cell.bare += samples
                        cell.bare_cpu += cpu
                        samples, cpu = _timed_load(bot.pid, bot_port, command, per_round(level), level, response_url)
                        cell.bot += samples
                        cell.bot_cpu += cpu
                    bare_stats, bot_stats = _stats(cell.bare), _stats(cell.bot)
                    print(
                        f"{command.label:36} c={level:<3} bare p50 {bare_stats[0]:7.1f} p99 {bare_stats[1]:7.1f} | "
                        f"bot p50 {bot_stats[0]:7.1f} p99 {bot_stats[1]:7.1f} | "
                        f"{bot_stats[0] / bare_stats[0]:.2f}× / {bot_stats[1] / bare_stats[1]:.2f}× | "
                        f"unacked {bare_stats[2]} / {bot_stats[2]} | CPU ms/req "
                        f"{1000 * cell.bare_cpu / len(cell.bare):.2f} / {1000 * cell.bot_cpu / len(cell.bot):.2f}",
                        flush=True,
                    )
            if args.profile is not None:
                _profile(bot.pid, bot_port, max(levels), args.profile_seconds, args.profile, response_url)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        logs = {name: _log_summary(workdir / f"{name}.log") for name in ("bare", "bot")}
        for name, summary in logs.items():
            print(f"{name} server log: {summary}", flush=True)
        shutil.rmtree(workdir, ignore_errors=True)

    backend = "PostgreSQL" if args.database_url else "SQLite"
    body = _report(args, backend, levels, cells, started, logs, server_cpus)
    print("\n" + body)
    if not args.no_write:
        shown = " ".join("postgresql://…" if a == args.database_url else a for a in sys.argv[1:])
        write_section(f"ack-latency-{backend.lower()}", body, command=f"python -m bench.ack_latency {shown}".strip())


def _pinning(wanted: bool) -> set[int] | None:
    """Each server on one CPU, the load generator and the fake Slack on the others (None: no pinning).

    As one would deploy a CPython server (README, "CPUs"): its threads take turns on one interpreter, and
    spread over several CPUs each hand-off wakes a thread on another CPU with cold caches (measured on this
    bench's machine: 0.7 ms more CPU per request). Pinned, the load generator also stops competing with the
    server for its CPU. Both apps get the same CPU; their rounds alternate, never overlap."""
    if not wanted or not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    os.sched_setaffinity(0, set(cpus[1:]))  # this process (the clients) and what it starts from now on
    return {cpus[0]}


def _on_cpus(cpus: set[int] | None) -> Callable[[], None] | None:
    return None if cpus is None else (lambda: os.sched_setaffinity(0, cpus))


def _pinning_text(cpus: set[int] | None) -> str:
    if cpus is None:
        return "servers and load generator unpinned"
    return f"each server pinned to CPU {min(cpus)}, the load generator and fake Slack to the other CPUs"


def _mark(ratio: float) -> str:
    return f"**{ratio:.2f}×**" if ratio > 1.5 else f"{ratio:.2f}×"


def _report(
    args: argparse.Namespace,
    backend: str,
    levels: list[int],
    cells: dict[tuple[int, int], Cell],
    started: datetime,
    logs: dict[str, str],
    server_cpus: set[int] | None,
) -> str:
    rows = []
    worst = 0.0
    unacked = 0
    for ci, command in enumerate(COMMANDS):
        for li, level in enumerate(levels):
            cell = cells[(ci, li)]
            (b50, b99, bmiss), (o50, o99, omiss) = _stats(cell.bare), _stats(cell.bot)
            r50, r99 = o50 / b50, o99 / b99
            worst = max(worst, r50, r99)
            unacked += omiss
            rows.append(
                f"| {command.label} | {level} | {len(cell.bot)} | {b50:.1f} | {o50:.1f} | {_mark(r50)} | {b99:.1f} | {o99:.1f} | "
                f"{_mark(r99)} | {bmiss} / {omiss} | {1000 * cell.bare_cpu / len(cell.bare):.1f} / "
                f"{1000 * cell.bot_cpu / len(cell.bot):.1f} |"
            )
    verdict = (
        "meets the bar"
        if worst <= 1.5 and unacked == 0
        else f"misses the bar (worst ratio {worst:.2f}×, {unacked} unacknowledged)"
    )
    return (
        f"## Acknowledgement latency, bot vs bare Bolt ({backend})\n\n"
        f"Same waitress server for both ({args.http_threads} HTTP threads, Bolt listener pool "
        f"{args.listener_threads}), {_pinning_text(server_cpus)}; bare = Bolt that only calls `ack()` (default mode), bot = `cba-bot run "
        f"--no-scheduler` (`process_before_response=True`) on {backend} with the demo cohort, fake Slack in its "
        f"own process. Closed loop, a new connection per request, signed by the demo participants "
        f"U0DEMOPA01..04; per command and concurrency, {args.rounds} alternating bare/bot rounds of "
        f"max({args.requests}/{args.rounds}, {args.waves} × clients) requests each (the requests column: per app), after {args.warmup} warm-up requests per app "
        f"and command. Unacknowledged = not 200 or later than 3 s. Server CPU = user + system time of the server "
        f"process (all threads) during the timed requests, divided by their number. Bold: over the SPEC 5 bar "
        f"(p50 and p99 within 1.5× of bare, none unacknowledged). This run {verdict}.\n\n"
        "| command | clients | requests | bare p50 ms | bot p50 ms | p50 ratio | bare p99 ms | bot p99 ms | p99 ratio "
        "| unacked (bare / bot) | server CPU ms per request (bare / bot) |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"_Server logs:_ bare: {logs['bare']}; bot: {logs['bot']}.  \n"
        f"_Run:_ {_machine()}; started {started:%Y-%m-%d %H:%M} UTC."
    )


if __name__ == "__main__":
    main()
