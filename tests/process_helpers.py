"""Start `cba-bot` as a real OS process for end-to-end tests."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Block until `process` prints the line "ready" on its stdout (a pipe).

    Reads byte by byte from the descriptor, so nothing past that line is taken from a later communicate().
    """
    assert process.stdout is not None
    fd = process.stdout.fileno()
    line = b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise AssertionError(f"process {process.pid} did not say ready within {timeout} s")
        byte = os.read(fd, 1)
        if not byte:
            err = process.stderr.read().decode(errors="replace")[-3000:] if process.stderr else ""
            raise AssertionError(f"process {process.pid} exited before it was ready:\n{err}")
        line += byte
    assert line == b"ready\n", line


def release_together(processes: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    """Wait until every process is ready (built, connected), then send each "go" on its stdin at once."""
    for process in processes:
        wait_ready(process, timeout)
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        process.stdin.flush()


def await_go() -> None:
    """The child's side of release_together."""
    print("ready", flush=True)
    sys.stdin.readline()


def bot_env(**overrides: str) -> dict[str, str]:
    """A clean environment: only what the process needs, nothing from the developer's shell."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "CBA_"))}
    env.pop("DATABASE_URL", None)
    env["PYTHONPATH"] = str(ROOT)
    env.update(overrides)
    return env


def run_cli(*args: str, env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def bot_process(
    env: dict[str, str],
    cwd: Path,
    *,
    args: tuple[str, ...],
    ready: Callable[[], bool],
    what: str,
    log_name: str = "bot.log",
) -> Iterator[subprocess.Popen[str]]:
    """`cba-bot <args>` as a process; yields it once `ready()` holds. Output goes to `cwd/log_name`
    (a pipe nobody reads could fill up and stall the bot) and is shown if it exits early.
    Stopped with SIGTERM at the end (killed after 15 s) unless the test stopped it already."""
    log_path = cwd / log_name
    with log_path.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *args],
            env=env,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + 30
        while not ready():
            if process.poll() is not None:
                raise AssertionError(f"cba-bot exited with {process.returncode}:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"cba-bot: {what} within 30 s:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[str], timeout: float = 15) -> int:
    """SIGTERM, then SIGKILL if it has not exited after `timeout`; returns the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@contextmanager
def running_bot(
    env: dict[str, str], cwd: Path, *, port: int, extra_args: tuple[str, ...] = (), scheduler: bool = False
) -> Iterator[str]:
    """`cba-bot run` in HTTP mode (`--no-scheduler` unless `scheduler`); yields its base URL once /healthz
    answers. Its output goes to `cwd/cba-bot-PORT.log`."""
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    with bot_process(
        {**env, "PORT": str(port)},
        cwd,
        args=("run", *(() if scheduler else ("--no-scheduler",)), "--host", "127.0.0.1", *extra_args),
        ready=healthy,
        what="no answer on /healthz",
        log_name=f"cba-bot-{port}.log",
    ):
        yield base
