"""The role matrix: every restricted subcommand × every role. Refusals name the role and change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.console.driver import SlackDriver
from bot.kernel.commands import COMMANDS, EVERYONE
from storage.models import Base
from tests.factories import make_cohort, make_member

CALLERS = {
    "participant": "U0PART1",
    "alumni": "U0ALUM1",
    "coach": "U0COACH1",
    "organiser": "U0ORG2",
    "nobody": "U0STRANGER",
}
RESTRICTED = [
    (command.name, usage.example, usage.roles)
    for command in COMMANDS
    for usage in command.usages
    if set(usage.roles) != set(EVERYONE)
]


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            t.name: connection.execute(select(func.count()).select_from(t)).scalar_one()
            for t in Base.metadata.sorted_tables
        }


@pytest.fixture
def people(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        cohort = make_cohort(session, "CBA2")
        for role, slack_id in CALLERS.items():
            if role == "nobody":
                make_member(session, slack_id, "Stranger")
            else:
                make_member(session, slack_id, role.title(), role, cohort=cohort)


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(("command", "example", "roles"), RESTRICTED, ids=[f"{c} {e}" for c, e, _ in RESTRICTED])
@pytest.mark.parametrize("caller_role", list(CALLERS))
def test_restricted_subcommands_check_the_callers_role(
    slack: SlackDriver, engine: Engine, command: str, example: str, roles: tuple[str, ...], caller_role: str
) -> None:
    text = example.removeprefix(command).strip()
    before = _row_counts(engine)
    answer = slack.command(CALLERS[caller_role], command, text)
    assert answer.status == 200
    refused = "You need to be" in answer.text
    if caller_role in roles:
        assert not refused, f"{caller_role} may `{example}` but was told: {answer.text}"
    else:
        assert refused, f"{caller_role} must not `{example}` but got: {answer.text}"
        assert any(role in answer.text for role in roles)
        after = _row_counts(engine)
        after.pop("members", None)
        before.pop("members", None)
        assert after == before
