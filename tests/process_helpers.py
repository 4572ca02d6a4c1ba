"""Start `cba-bot` as a real OS process for end-to-end tests."""

from __future__ import annotations

import os
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
    env: dict[str, str], cwd: Path, *, args: tuple[str, ...], ready: Callable[[], bool], what: str
) -> Iterator[subprocess.Popen[str]]:
    """`cba-bot <args>` as a process; yields it once `ready()` holds. Output goes to `cwd/bot.log`
    (a pipe nobody reads could fill up and stall the bot) and is shown if it exits early.
    Stopped with SIGTERM at the end (killed after 15 s) unless the test stopped it already."""
    log_path = cwd / "bot.log"
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
def running_bot(env: dict[str, str], cwd: Path, *, port: int, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """`cba-bot run --no-scheduler` in HTTP mode; yields its base URL once /healthz answers."""
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
        args=("run", "--no-scheduler", "--host", "127.0.0.1", *extra_args),
        ready=healthy,
        what="no answer on /healthz",
    ):
        yield base
