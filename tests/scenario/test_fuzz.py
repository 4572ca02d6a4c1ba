"""Every command, fed arbitrary text by every kind of caller: always a clear answer, never a crash."""

from __future__ import annotations

import random
import string
import zlib

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.kernel.commands import COMMANDS
from storage.models import AuditEntry, Reminder
from tests.conftest import ORGANISER
from tests.factories import make_cohort, make_member

APOLOGY = "Sorry, something went wrong"
TRICKY = [
    "",
    " ",
    "help",
    "#",
    "#0",
    "#999999999",
    "-1",
    "0",
    "x" * 4000,
    "<@U0NOBODY|ghost>",
    "<#C0NOWHERE|void>",
    "<!channel> <!here>",
    "<https://example.com|click>",
    "2026-02-30 25:61",
    "2026-03-29 02:30",
    "1999-01-01 10:00",
    "add",
    "add 2026-12-01",
    "remove",
    "remove abc",
    "cancel",
    "cancel #",
    "submit 1",
    "new",
    "new CBA3 2026-12-01",
    "review 1",
    "status",
    "role",
    "role <@U0NOBODY> wizard",
    "event add CBA3 online 2026-12-01 10:00-09:00 Backwards",
    "cohort add",
    "set country Atlantis",
    "set linkedin javascript:alert(1)",
    "search",
    "resolve 1",
    "anon",
    "country:ZZ role:king cohort:",
    "\u202eevil\u202c \x00 \t\n",
    "'unbalanced \"quotes",
    "💥 ünïcödé 漢字",
]


def _random_texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = string.printable + "äöü漢字<>&|#@:!"
    words = ["add", "remove", "cancel", "mine", "list", "set", "new", "submit", "status", "review", "#3", "12", "x2"]
    texts = []
    for _ in range(count):
        parts = [
            rng.choice(words) if rng.random() < 0.5 else "".join(rng.choices(alphabet, k=rng.randint(1, 12)))
            for _ in range(rng.randint(1, 6))
        ]
        texts.append(" ".join(parts))
    return texts


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_command_never_crashes_on_odd_text(
    slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], command: str
) -> None:
    with sessions.begin() as session:
        cohort = make_cohort(session)
        make_member(session, "U0PART1", "Pat Participant", "participant", cohort=cohort)
        make_member(session, "U0COACH1", "Cora Coach", "coach", cohort=cohort)
        make_member(session, "U0ALUM1", "Al Alumni", "alumni")
    callers = ["U0PART1", "U0COACH1", "U0ALUM1", ORGANISER, "U0STRANGER"]
    texts = TRICKY + _random_texts(seed=zlib.crc32(command.encode()), count=15)
    for index, text in enumerate(texts):
        caller = callers[index % len(callers)]
        modals_before = len(fake_slack.calls_to("views.open"))
        answer = slack.command(caller, command, text)
        assert answer.status == 200, (command, text)
        assert APOLOGY not in answer.text, f"{command} {text!r} as {caller} crashed"
        opened_a_modal = len(fake_slack.calls_to("views.open")) > modals_before
        assert answer.text.strip() or opened_a_modal, f"{command} {text!r} as {caller} got no answer"
        if answer.json:
            assert answer.json.get("response_type") in ("ephemeral", None), (command, text)
    # Odd text must never have planned reminders or written audit entries by accident.
    with sessions() as session:
        # (/cba-ask takes any text of a question's length as a question, whose nudge is planned on purpose.)
        planned = select(func.count()).select_from(Reminder).where(Reminder.status == "pending")
        assert session.scalar(planned.where(Reminder.kind != "question_nudge")) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
