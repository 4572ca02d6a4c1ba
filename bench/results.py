"""Shared by the bench scripts: machine description and RESULTS.md sections."""

from __future__ import annotations

import os
import platform
import re
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = (
    "# Benchmarks\n\n"
    "Written by the scripts in `bench/` (`make bench` runs them all). Each section names the command that\n"
    "produced it and the machine. Compare ratios measured side by side in one run, not absolute times.\n"
)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU ({cpu}), Python {sys.version.split()[0]}, {platform.system()} {platform.release()}"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def write_section(name: str, body: str, *, command: str) -> None:
    """Replace (or append) the section `name` of RESULTS.md."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- BEGIN {name} -->\n{body.rstrip()}\n\n"
        f"_Command:_ `{command}`  \n_Machine:_ {machine()}  \n_Measured:_ {stamp}\n<!-- END {name} -->\n"
    )
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->\n", re.DOTALL)
    text = pattern.sub(lambda _m: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


def write_result(output: Path | None, name: str, markdown: str) -> None:
    """A script's whole report: its own file when asked, else its section of RESULTS.md."""
    if output is not None:
        output.write_text(markdown, encoding="utf-8")
        return
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    section = f"<!-- BEGIN {name} -->\n{markdown.rstrip()}\n<!-- END {name} -->\n"
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->\n", re.DOTALL)
    text = pattern.sub(lambda _m: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")
