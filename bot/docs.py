"""The README's command table, generated from the command registry (`python -m bot.docs` rewrites it)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.kernel.commands import COMMANDS, EVERYONE

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- commands:begin -->", "<!-- commands:end -->"


def commands_table() -> str:
    rows = ["| command | who | what |", "|---|---|---|"]
    for command in COMMANDS:
        for usage in command.usages:
            who = "everyone" if set(usage.roles) == set(EVERYONE) else ", ".join(usage.roles)
            grammar = usage.grammar.replace("|", "\\|")
            rows.append(f"| `{grammar}` | {who} | {usage.summary} |")
    return "\n".join(rows)


def with_table(readme: str) -> str:
    block = f"{BEGIN}\n{commands_table()}\n{END}"
    return re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _m: block, readme, flags=re.DOTALL)


if __name__ == "__main__":
    README.write_text(with_table(README.read_text(encoding="utf-8")), encoding="utf-8")
