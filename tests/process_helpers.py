"""Start `cba-bot` as a real OS process for end-to-end tests."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
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
def running_bot(env: dict[str, str], cwd: Path, *, port: int, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """`cba-bot run --no-scheduler` in HTTP mode; yields its base URL once /healthz answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--no-scheduler", "--host", "127.0.0.1", *extra_args],
        env={**env, "PORT": str(port)},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise AssertionError(f"cba-bot run exited with {process.returncode}:\n{output}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("cba-bot run did not answer /healthz within 30 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
