"""Long organiser lists page with "Next" (SPEC §3 Block Kit): `/cba-admin events [COHORT]` and
`/cba-homework status ID`, pressed through the real pipeline; forged or stale page values answer usage."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack, validate_blocks
from bot.kernel import outbox
from bot.kernel.reminders import DELIVERIES_NEXT
from commands.events.views import LIST_NEXT
from commands.homework.views import OVERVIEW_NEXT, STATUS_NEXT
from tests.conftest import ORGANISER, Clock
from tests.factories import database_snapshot, make_cohort, make_member
from tests.factories_events import make_cohort_with_participants, make_event
from tests.factories_homework import make_assignment, make_submission

EVENT_ID = re.compile(r"\(event #(\d+),")
PARTICIPANT = "U0PAGEPART"


@pytest.fixture
def people(sessions: sessionmaker[Session], fake_slack: FakeSlack) -> None:
    """The callers hold their roles in the database (the membership gate refuses anyone else)."""
    fake_slack.add_user(PARTICIPANT, "Paula Participant")
    with sessions.begin() as session:
        cohort = make_cohort(session, "OTHER", channel=None)
        make_member(session, ORGANISER, "Olga Organiser", "organiser")
        make_member(session, PARTICIPANT, "Paula Participant", "participant", cohort=cohort)


@pytest.fixture
def many_days(sessions: sessionmaker[Session], clock: Clock, people: None) -> list[int]:
    """120 programme days of CBA9 and 3 of CBA8, in time order."""
    with sessions.begin() as session:
        cba9 = make_cohort(session, "CBA9", channel=None)
        cba8 = make_cohort(session, "CBA8", channel=None)
        ids = [
            make_event(session, cba9, clock.now + timedelta(days=1 + i), title=f"Day {i:03d}", plan=False).id
            for i in range(120)
        ]
        for i in range(3):
            make_event(session, cba8, clock.now + timedelta(days=2 + i, hours=1), title=f"Other {i}", plan=False)
    return ids


def _next_button(blocks: list[dict[str, Any]]) -> dict[str, Any] | None:
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == "Next"]
    assert len(buttons) <= 1
    return buttons[0] if buttons else None


def _listed(blocks: list[dict[str, Any]]) -> list[int]:
    return [int(n) for b in blocks if b["type"] == "section" for n in EVENT_ID.findall(b["text"]["text"])]


def _press(slack: SlackDriver, fake: FakeSlack, user: str, action_id: str, value: str) -> dict[str, Any]:
    """Press a button; the answer that came back through the request's response_url."""
    before = len(fake.calls_to("response_url"))
    answer = slack.action(user, action_id, value=value)
    assert answer.status == 200
    calls = fake.calls_to("response_url")
    assert len(calls) == before + 1
    return calls[-1].args


class TestEventsPages:
    def test_120_days_come_in_three_pages_by_pressing_next(
        self, slack: SlackDriver, fake_slack: FakeSlack, many_days: list[int]
    ) -> None:
        first = slack.command(ORGANISER, "/cba-admin", "events CBA9")
        assert first.status == 200
        assert first.json["response_type"] == "ephemeral"
        pages = [first.json["blocks"]]
        assert validate_blocks(pages[0]) == []
        button = _next_button(pages[0])
        while button is not None:
            assert button["action_id"] == LIST_NEXT
            answer = _press(slack, fake_slack, ORGANISER, button["action_id"], button["value"])
            assert answer["replace_original"] in (True, "true")
            assert validate_blocks(answer["blocks"]) == []
            pages.append(answer["blocks"])
            button = _next_button(answer["blocks"])
        assert [len(_listed(page)) for page in pages] == [45, 45, 30]
        assert [event for page in pages for event in _listed(page)] == many_days
        shown = [json.dumps(page, ensure_ascii=False) for page in pages]
        assert "Showing 1–45 of 120 programme days" in shown[0]
        assert "Showing 46–90 of 120" in shown[1]
        assert "Showing 91–120 of 120" in shown[2]
        assert all("*Programme days of CBA9* (120)" in page for page in shown)

    def test_without_a_cohort_every_cohort_pages_in_time_order(
        self, slack: SlackDriver, fake_slack: FakeSlack, many_days: list[int]
    ) -> None:
        first = slack.command(ORGANISER, "/cba-admin", "events")
        button = _next_button(first.json["blocks"])
        assert button is not None
        second = _press(slack, fake_slack, ORGANISER, button["action_id"], button["value"])
        assert "Showing 46–90 of 123" in json.dumps(second["blocks"], ensure_ascii=False)
        assert "Other 2" in json.dumps(first.json["blocks"])  # the other cohort's days sit in time order

    def test_a_short_list_has_no_button(
        self, slack: SlackDriver, sessions: sessionmaker[Session], clock: Clock, people: None
    ) -> None:
        with sessions.begin() as session:
            cohort = make_cohort(session, "CBA7", channel=None)
            make_event(session, cohort, clock.now + timedelta(days=3), plan=False)
        answer = slack.command(ORGANISER, "/cba-admin", "events CBA7")
        assert _next_button(answer.json["blocks"]) is None
        assert "Showing" not in json.dumps(answer.json["blocks"])

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("", "no longer available"),
            ("not json", "no longer available"),
            ("[45]", "no longer available"),
            ('{"c":"CBA9"}', "no longer available"),
            ('{"c":"CBA9","o":-45}', "no longer available"),
            ('{"c":"CBA9","o":"45"}', "no longer available"),
            ('{"c":"CBA9","o":true}', "no longer available"),
            ('{"c":"CBA9","o":1e3}', "no longer available"),
            ('{"c":"CBA9","o":45,"x":1}', "no longer available"),
            ('{"c":"<!channel>","o":45}', "no longer available"),
            ('{"c":"CBA9\\n","o":45}', "no longer available"),
            ('{"c":7,"o":45}', "no longer available"),
            ('{"c":"CBA9","o":120}', "has 120 programme days now"),
            ('{"c":"CBA9","o":99999999}', "no longer available"),
            ('{"c":"NOPE","o":45}', "NOPE"),
            ("[" * 1900, "no longer available"),
            ("[" * 5000, "no longer available"),
        ],
        ids=[
            "empty",
            "not-json",
            "a-list",
            "no-offset",
            "negative",
            "offset-as-text",
            "offset-as-bool",
            "offset-as-float",
            "extra-field",
            "mention-as-cohort",
            "newline-in-cohort",
            "cohort-as-number",
            "past-the-end",
            "huge-offset",
            "unknown-cohort",
            "deep-nesting",
            "too-long",
        ],
    )
    def test_forged_or_stale_values_answer_usage_and_change_nothing(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        many_days: list[int],
        value: str,
        expected: str,
    ) -> None:
        before = database_snapshot(sessions)
        answer = _press(slack, fake_slack, ORGANISER, LIST_NEXT, value)
        assert expected in answer["text"]
        assert "/cba-admin events [COHORT]" in answer["text"]
        assert "Sorry, something went wrong" not in answer["text"]
        assert "<!channel>" not in answer["text"]
        assert database_snapshot(sessions) == before

    def test_next_is_for_organisers_only(self, slack: SlackDriver, fake_slack: FakeSlack, many_days: list[int]) -> None:
        answer = _press(slack, fake_slack, PARTICIPANT, LIST_NEXT, '{"c":"CBA9","o":45}')
        assert "You need to be an organiser" in answer["text"]
        assert "Day 050" not in json.dumps(answer)


class TestHomeworkStatusPages:
    @pytest.fixture
    def assignment_id(self, sessions: sessionmaker[Session], clock: Clock, people: None) -> int:
        """90 participants: 30 on time, 60 missing."""
        due = clock.now + timedelta(days=7)
        with sessions.begin() as session:
            cohort, members = make_cohort_with_participants(session, None, 90, code="BIG", channel=None)
            assignment = make_assignment(session, cohort, due, "Action plan")
            for member in members[::3]:
                make_submission(session, assignment, member, clock.now)
            return assignment.id

    def test_a_large_cohort_pages_with_next_and_lists_everyone_once(
        self, slack: SlackDriver, fake_slack: FakeSlack, assignment_id: int
    ) -> None:
        first = slack.command(ORGANISER, "/cba-homework", f"status {assignment_id}")
        assert first.status == 200
        pages = [first.json["blocks"]]
        button = _next_button(pages[0])
        while button is not None:
            assert button["action_id"] == STATUS_NEXT
            answer = _press(slack, fake_slack, ORGANISER, button["action_id"], button["value"])
            assert validate_blocks(answer["blocks"]) == []
            pages.append(answer["blocks"])
            button = _next_button(answer["blocks"])
        texts = [json.dumps(page, ensure_ascii=False) for page in pages]
        assert len(pages) == 3
        names = [re.findall(r"Participant \d{3}", text) for text in texts]
        assert [len(found) for found in names] == [40, 40, 10]
        assert sorted(name for found in names for name in found) == [f"Participant {i:03d}" for i in range(90)]
        assert "On time (30)" in texts[0]
        assert "Missing (60)" in texts[0]
        assert "Missing (60, continued)" in texts[1]
        assert "Showing 81–90 of 90 participants" in texts[2]
        assert all("30 on time, 0 late, 60 missing" in text for text in texts)

    @pytest.mark.parametrize("value", ['{"a":999,"o":40}', '{"a":"1","o":40}', '{"o":40}', '{"a":1,"o":400}', "{}"])
    def test_forged_values_answer_usage(
        self, slack: SlackDriver, fake_slack: FakeSlack, assignment_id: int, value: str
    ) -> None:
        value = value.replace('"a":1,', f'"a":{assignment_id},')
        answer = _press(slack, fake_slack, ORGANISER, STATUS_NEXT, value)
        assert "Usage of `/cba-homework`" in answer["text"]
        assert "Sorry, something went wrong" not in answer["text"]

    def test_participants_cannot_page_the_status(
        self, slack: SlackDriver, fake_slack: FakeSlack, assignment_id: int
    ) -> None:
        answer = _press(slack, fake_slack, PARTICIPANT, STATUS_NEXT, json.dumps({"a": assignment_id, "o": 40}))
        assert "need to be a coach or organiser" in answer["text"]
        assert "Participant 0" not in json.dumps(answer)

    def test_the_open_assignments_overview_pages_too(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock, people: None
    ) -> None:
        with sessions.begin() as session:
            cohort = make_cohort(session, "MANY", channel=None)
            for n in range(50):
                make_assignment(session, cohort, clock.now + timedelta(days=1, minutes=n), f"Plan {n:02d}")
        first = slack.command(ORGANISER, "/cba-homework", "")
        button = _next_button(first.json["blocks"])
        assert button is not None
        assert button["action_id"] == OVERVIEW_NEXT
        second = _press(slack, fake_slack, ORGANISER, button["action_id"], button["value"])
        plans = [re.findall(r"Plan \d\d", json.dumps(page)) for page in (first.json["blocks"], second["blocks"])]
        assert plans == [[f"Plan {n:02d}" for n in range(40)], [f"Plan {n:02d}" for n in range(40, 50)]]
        assert _next_button(second["blocks"]) is None
        assert (
            "Usage of `/cba-homework`" in _press(slack, fake_slack, ORGANISER, OVERVIEW_NEXT, '{"a":1,"o":40}')["text"]
        )


class TestFailedDeliveriesPages:
    def test_next_walks_the_failed_deliveries(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock, people: None
    ) -> None:
        with sessions.begin() as session:
            for index in range(45):
                row = outbox.queue(session, f"C0NONE{index:02d}", now=clock.now + timedelta(seconds=index), text="x")
                row.status, row.last_error, row.attempts = "failed", "channel_not_found", 1
        first = slack.command(ORGANISER, "/cba-admin", "deliveries")
        assert validate_blocks(first.json["blocks"]) == []
        assert first.text.splitlines()[-1] == "More: `/cba-admin deliveries 2`"
        pages = [first.json["blocks"]]
        button = _next_button(pages[0])
        while button is not None:
            assert button["action_id"] == DELIVERIES_NEXT
            answer = _press(slack, fake_slack, ORGANISER, button["action_id"], button["value"])
            assert answer["replace_original"] in (True, "true")
            pages.append(answer["blocks"])
            button = _next_button(answer["blocks"])
        found = [re.findall(r"<#(C0NONE\d\d)>", json.dumps(page)) for page in pages]
        assert [len(names) for names in found] == [20, 20, 5]
        assert [name for names in found for name in names] == [f"C0NONE{i:02d}" for i in reversed(range(45))]
        for value in ('{"o":45}', '{"o":-1}', '{"x":1,"o":20}', "nope"):
            answer = _press(slack, fake_slack, ORGANISER, DELIVERIES_NEXT, value)
            assert "/cba-admin deliveries [PAGE]" in answer["text"]
        refused = _press(slack, fake_slack, PARTICIPANT, DELIVERIES_NEXT, '{"o":20}')
        assert "organiser" in refused["text"]
        assert "C0NONE" not in json.dumps(refused)
