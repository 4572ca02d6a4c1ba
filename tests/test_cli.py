"""The `cba-bot` command: manifest, start-up errors, migrations and demo data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, func, select

from bot.kernel.commands import COMMANDS
from bot.manifest import manifest_yaml
from storage.models import Base
from tests.process_helpers import ROOT, bot_env, run_cli

SPEC_COMMANDS = {
    "/cba-help",
    "/cba-directory",
    "/cba-profile",
    "/cba-slots",
    "/cba-book",
    "/cba-homework",
    "/cba-ask",
    "/cba-admin",
}


def test_manifest_lists_every_command_and_equals_manifest_yml(tmp_path: Path) -> None:
    result = run_cli("manifest", env=bot_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "manifest.yml").read_text(encoding="utf-8")
    manifest = yaml.safe_load(result.stdout)
    commands = {entry["command"] for entry in manifest["features"]["slash_commands"]}
    assert commands == SPEC_COMMANDS == {command.name for command in COMMANDS}
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert "commands" in manifest["oauth_config"]["scopes"]["bot"]


def test_socket_mode_manifest_has_no_urls() -> None:
    manifest = yaml.safe_load(manifest_yaml(socket_mode=True))
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert all("url" not in entry for entry in manifest["features"]["slash_commands"])


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "DATABASE_URL": "::nonsense::"}, "DATABASE_URL"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "CBA_EVENT_REMINDERS": "weekly"},
            "CBA_EVENT_REMINDERS",
        ),
    ],
)
def test_run_with_a_bad_setting_prints_one_line_naming_it(tmp_path: Path, env: dict[str, str], variable: str) -> None:
    result = run_cli("run", env=bot_env(**env), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_db_upgrade_twice_and_demo_twice_leave_the_same_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    env = bot_env(DATABASE_URL=url)
    for _ in range(2):
        assert run_cli("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    first = run_cli("demo", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    snapshot = _row_counts(url)
    second = run_cli("demo", env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert _row_counts(url) == snapshot
    assert snapshot["members"] >= 10


def _row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        counts = {
            table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
            for table in Base.metadata.sorted_tables
        }
    engine.dispose()
    return counts


def test_readme_command_table_matches_the_registry() -> None:
    from bot.docs import README, with_table

    readme = README.read_text(encoding="utf-8")
    assert with_table(readme) == readme, "run `python -m bot.docs` to refresh the README's command table"
