"""`/cba-admin report [COHORT]` through Slack, and `cba-bot export report`: the same numbers everywhere."""

from __future__ import annotations

import csv
import io
import json
import re
import struct
from datetime import timedelta
from typing import Any

import pytest
from matplotlib import image
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot
from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.features import build_registry
from bot.scheduler import tick
from commands.common.actors import Actor
from commands.common.csv_text import to_csv
from commands.members.service import erase
from commands.reports.chart import DPI
from storage.models import Base, Member, Reminder
from tests.conftest import ORGANISER, Clock
from tests.factories import make_member
from tests.factories_events import make_cohort_with_participants
from tests.factories_reports import ANNA, BEN, CLEO, COACH, EXPECTED, seed_engagement

COLUMNS = list(next(iter(EXPECTED.values())))
TABLE_ROW = re.compile(
    r"^(?P<name>.+?)\s+(\d+)/(\d+)/(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/(\d+)/(\d+)\s+(\d+)/(\d+)\s+(\d+) \((\d+)\)$"
)
# The table's columns, in the order they are printed (not-due homework is only in the CSV).
TABLE_COLUMNS = [
    "rsvp_yes",
    "rsvp_no",
    "rsvp_none",
    "rsvp_late_cancellations",
    "check_ins",
    "homework_on_time",
    "homework_late",
    "homework_missing",
    "coaching_booked",
    "coaching_late_cancelled",
    "questions",
    "questions_anonymous",
]


@pytest.fixture
def seeded(sessions: sessionmaker[Session], fake_slack: FakeSlack) -> dict[str, Any]:
    with sessions.begin() as session:
        return {k: (v.id if hasattr(v, "id") else v) for k, v in seed_engagement(session, fake_slack).items()}


def _table(blocks: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    [text] = [b["text"]["text"] for b in blocks if b["type"] == "section" and "```" in b["text"]["text"]]
    rows = {}
    for line in text.strip("`").splitlines()[1:]:
        match = TABLE_ROW.match(line)
        assert match, line
        rows[match["name"].strip()] = dict(zip(TABLE_COLUMNS, map(int, match.groups()[1:]), strict=True))
    return rows


def _without_not_due(expected: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The table's columns only: not-due homework and the within-grace count are in the CSV."""
    hidden = ("homework_not_due", "homework_late_within_grace")
    return {name: {k: v for k, v in row.items() if k not in hidden} for name, row in expected.items()}


def _csv(text: str) -> dict[str, dict[str, str]]:
    return {row["name"]: row for row in csv.DictReader(io.StringIO(text))}


def _as_numbers(rows: dict[str, dict[str, str]]) -> dict[str, dict[str, int]]:
    return {name: {k: int(row[k]) for k in COLUMNS} for name, row in rows.items()}


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            t.name: connection.execute(select(func.count()).select_from(t)).scalar_one()
            for t in Base.metadata.sorted_tables
        }


def _png_size(content: bytes) -> tuple[int, int]:
    """Width and height from the header, after checking the whole PNG decodes (matplotlib reads it)."""
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    assert content[12:16] == b"IHDR"
    width, height = struct.unpack(">II", content[16:24])
    pixels = image.imread(io.BytesIO(content), format="png")
    assert pixels.shape[:2] == (height, width)
    return width, height


class TestReportMessage:
    def test_numbers_per_participant_in_the_message(self, slack: SlackDriver, seeded: dict[str, Any]) -> None:
        answer = slack.command(ORGANISER, "/cba-admin", "report CBA3")
        assert answer.status == 200
        assert answer.json["response_type"] == "ephemeral"
        blocks = answer.json["blocks"]
        assert len(blocks) <= 50
        assert _table(blocks) == _without_not_due(EXPECTED)
        summary = json.dumps(blocks, ensure_ascii=False)
        assert "Engagement report: CBA3" in summary
        assert "*3 participants* · 3 programme days · 3 assignments (2 due so far)" in summary
        assert "4 yes, 1 no (1 late cancellations), 4 unanswered" in summary
        assert "*check-ins:* 5" in summary
        assert "4 on time, 2 late (0 within grace), 1 missing, 2 not due yet" in summary
        assert "5 sessions booked, 1 cancelled late" in summary
        assert "3 asked (1 anonymously)" in summary

    def test_without_a_cohort_the_newest_is_reported(self, slack: SlackDriver, seeded: dict[str, Any]) -> None:
        answer = slack.command(ORGANISER, "/cba-admin", "report")
        assert set(_table(answer.json["blocks"])) == set(EXPECTED)
        older = slack.command(ORGANISER, "/cba-admin", "report cba2")
        assert set(_table(older.json["blocks"])) == {"Olaf Older"}

    def test_csv_and_chart_arrive_in_the_organisers_dm(
        self, slack: SlackDriver, seeded: dict[str, Any], fake_slack: FakeSlack
    ) -> None:
        slack.command(ORGANISER, "/cba-admin", "report CBA3")
        fake_slack.wait_for("files.completeUploadExternal")
        files = {f.filename: f for f in fake_slack.files}
        assert set(files) == {"cba-report-CBA3.csv", "cba-report-CBA3.png"}
        assert {f.channel_id for f in files.values()} == {fake_slack.dm_channel(ORGANISER)}
        rows = _csv(files["cba-report-CBA3.csv"].content.decode())
        assert _as_numbers(rows) == EXPECTED
        assert {rows[name]["slack_id"] for name in rows} == {ANNA, BEN, CLEO}
        png = files["cba-report-CBA3.png"].content
        width, height = _png_size(png)
        assert width == 8 * DPI
        assert 2 * DPI < height < 4 * DPI
        comment = files["cba-report-CBA3.png"].initial_comment or ""
        assert "1. Anna Active, 2. Ben Busy, 3. Cleo Quiet" in comment
        assert ":large_blue_square: check-ins" in comment

    def test_the_files_arrive_once_when_slack_fails_once(
        self,
        bot: Bot,
        slack: SlackDriver,
        seeded: dict[str, Any],
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
    ) -> None:
        fake_slack.fail("files.completeUploadExternal", "internal_error", status=500, times=1)
        answer = slack.command(ORGANISER, "/cba-admin", "report CBA3")
        assert "follow by direct message" in json.dumps(answer.json["blocks"])
        # The CSV's first try failed; the chart waits behind it (one recipient's messages keep their order).
        assert [f.filename for f in fake_slack.files] == []
        clock.advance(timedelta(minutes=1))  # past the retry's back-off
        tick(bot.deps)
        assert sorted(f.filename for f in fake_slack.files) == ["cba-report-CBA3.csv", "cba-report-CBA3.png"]
        with sessions() as session:
            rows = session.scalars(select(Reminder).where(Reminder.method == "files.upload")).all()
            assert sorted((row.status, row.attempts) for row in rows) == [("sent", 1), ("sent", 2)]

    def test_export_has_the_same_numbers(self, sessions: sessionmaker[Session], seeded: dict[str, Any]) -> None:
        export = build_registry().exporters.get("report")
        assert export is not None
        with sessions() as session:
            only = _csv(to_csv(export(session, "cba3")))
            every = list(csv.DictReader(io.StringIO(to_csv(export(session, None)))))
            unknown = to_csv(export(session, "NOPE"))
        assert _as_numbers(only) == EXPECTED
        assert {r["cohort"] for r in only.values()} == {"CBA3"}
        assert [(r["cohort"], r["name"]) for r in every] == [
            ("CBA2", "Olaf Older"),
            ("CBA3", "Anna Active"),
            ("CBA3", "Ben Busy"),
            ("CBA3", "Cleo Quiet"),
        ]
        assert unknown.splitlines() == [unknown.splitlines()[0]]
        assert unknown.startswith("cohort,slack_id,name,rsvp_yes")

    def test_an_erased_member_is_a_former_member_with_counts_intact(
        self, slack: SlackDriver, sessions: sessionmaker[Session], seeded: dict[str, Any], fake_slack: FakeSlack
    ) -> None:
        with sessions.begin() as session:
            cleo = session.get(Member, seeded[CLEO])
            assert cleo is not None
            erase(session, Actor(cleo, frozenset({"participant"})), cleo.created_at)
        answer = slack.command(ORGANISER, "/cba-admin", "report CBA3")
        table = _table(answer.json["blocks"])
        expected = _without_not_due(EXPECTED)
        expected["former member"] = expected.pop("Cleo Quiet")
        assert table == expected
        assert "Cleo" not in json.dumps(answer.json)
        fake_slack.wait_for("files.completeUploadExternal")
        [csv_file] = [f for f in fake_slack.files if f.filename.endswith(".csv")]
        rows = _csv(csv_file.content.decode())
        assert rows["former member"]["slack_id"] == ""
        assert _as_numbers(rows)["former member"] == EXPECTED["Cleo Quiet"]
        assert b"Cleo" not in csv_file.content


class TestRefusals:
    @pytest.mark.parametrize("caller", [ANNA, COACH, "U0ALUMNI"])
    def test_only_organisers(
        self,
        slack: SlackDriver,
        sessions: sessionmaker[Session],
        engine: Engine,
        seeded: dict[str, Any],
        fake_slack: FakeSlack,
        caller: str,
    ) -> None:
        with sessions.begin() as session:
            if caller == "U0ALUMNI":
                make_member(session, caller, "Alma Alumni", "alumni")
        before = _row_counts(engine)
        answer = slack.command(caller, "/cba-admin", "report CBA3")
        assert answer.status == 200
        assert "You need to be an organiser" in answer.text
        assert "Anna" not in answer.text
        assert _row_counts(engine) == before
        assert fake_slack.calls_to("files.completeUploadExternal") == []

    @pytest.mark.parametrize("text", ["report NOPE", "report CBA3 CBA2", "report <@U0ANNA>"])
    def test_unknown_cohort_or_bad_words_answer_usage(
        self, slack: SlackDriver, engine: Engine, seeded: dict[str, Any], fake_slack: FakeSlack, text: str
    ) -> None:
        before = _row_counts(engine)
        answer = slack.command(ORGANISER, "/cba-admin", text)
        assert answer.status == 200
        assert "`/cba-admin report [COHORT]` — engagement report" in answer.text
        assert _row_counts(engine) == before
        assert fake_slack.calls_to("files.completeUploadExternal") == []

    def test_unknown_cohort_names_it(self, slack: SlackDriver, seeded: dict[str, Any]) -> None:
        assert "There is no cohort NOPE" in slack.command(ORGANISER, "/cba-admin", "report NOPE").text

    def test_no_cohort_at_all(self, slack: SlackDriver) -> None:
        text = slack.command(ORGANISER, "/cba-admin", "report").text
        assert "There is no cohort yet" in text
        assert "/cba-admin report [COHORT]" in text


class TestPages:
    def test_a_large_cohort_pages_with_next_and_previous(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack
    ) -> None:
        with sessions.begin() as session:
            make_cohort_with_participants(session, None, 30, code="BIG", channel=None)
        first = slack.command(ORGANISER, "/cba-admin", "report BIG")
        assert len(_table(first.json["blocks"])) == 25
        assert "Page 1 of 2" in json.dumps(first.json["blocks"], ensure_ascii=False)
        [nav] = [b for b in first.json["blocks"] if b.get("block_id") == "report-pages"]
        [next_button] = nav["elements"]
        assert next_button["text"]["text"] == "Next"

        slack.action(ORGANISER, next_button["action_id"], value=next_button["value"])
        [page_two] = fake_slack.calls_to("response_url")
        assert page_two.args["replace_original"] in (True, "true")
        assert sorted(_table(page_two.args["blocks"])) == [f"Participant {i:03d}" for i in range(25, 30)]
        [nav_two] = [b for b in page_two.args["blocks"] if b.get("block_id") == "report-pages"]
        assert [e["text"]["text"] for e in nav_two["elements"]] == ["Previous"]

        fake_slack.wait_for("files.completeUploadExternal")
        [png] = [f for f in fake_slack.files if f.filename.endswith(".png")]
        width, height = _png_size(png.content)
        assert width == 8 * DPI
        assert height > 30 * 0.25 * DPI  # one bar per participant, all 30 of them

    def test_page_buttons_are_for_organisers_only(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack
    ) -> None:
        with sessions.begin() as session:
            make_cohort_with_participants(session, None, 30, code="BIG", channel=None)
        slack.action("U0BIGP000", "report_page_next", value=json.dumps({"c": "BIG", "p": 1}))
        [answer] = fake_slack.calls_to("response_url")
        assert "You need to be an organiser" in answer.args["text"]
        assert "Participant 025" not in json.dumps(answer.args)
