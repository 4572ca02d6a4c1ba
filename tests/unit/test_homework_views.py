"""Block Kit builders as plain functions: Slack's limits hold, user text is escaped, times are date tokens."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.console.fakeslack import validate_blocks, validate_view
from commands.homework import views
from commands.homework.service import Detail, Mine, Overview, Progress, StatusReport
from storage.models import Assignment, Cohort, Feedback, Member, Submission

ZONE = ZoneInfo("Europe/Brussels")
DUE = datetime(2026, 12, 15, 22, 59, tzinfo=UTC)
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)


def assignment(ident: int = 3, title: str = "Plan <!channel> & more") -> Assignment:
    return Assignment(id=ident, cohort_id=1, title=title, description="Two <b>pages</b>", due_at=DUE)


def member(n: int) -> Member:
    return Member(id=n, slack_id=f"U0P{n:04d}", name=f"Participant {n} with a rather long name for layout")


def submission(ident: int, who: Member, version: int, late: bool) -> Submission:
    return Submission(
        id=ident, assignment_id=3, participant_id=who.id, version=version, text="t", submitted_at=DUE, late=late
    )


def dicts(blocks: list) -> list[dict]:
    return [block.to_dict() for block in blocks]


def test_status_of_a_large_cohort_stays_within_the_block_limits() -> None:
    rows = []
    for n in range(1, 121):
        who = member(n)
        subs = [submission(n, who, 1, n % 3 == 0)] if n % 2 else []
        rows.append(Progress(who, subs, n % 4))
    report = StatusReport(assignment(), Cohort(id=1, code="CBA3"), rows)
    text, blocks = views.status_blocks(report, ZONE)
    assert validate_blocks(dicts(blocks)) == []
    assert "40 on time, 20 late, 60 missing" in text
    body = json.dumps(dicts(blocks))
    assert "<!channel>" not in body
    assert "&lt;!channel&gt;" in body
    assert "<!date^" in body


def test_status_pages_cover_every_participant_once_whatever_their_names() -> None:
    rows = []
    for n in range(1, 121):
        who = member(n)
        who.name = f"P{n:03d} " + "<long name> " * 40  # every line near its own section
        subs = [submission(n, who, 1, n % 3 == 0)] if n % 2 else []
        rows.append(Progress(who, subs, n % 4))
    report = StatusReport(assignment(), Cohort(id=1, code="CBA3"), rows)
    seen: list[str] = []
    start: int | None = 0
    pages = 0
    while start is not None:
        _text, blocks = views.status_blocks(report, ZONE, start)
        assert validate_blocks(dicts(blocks)) == []
        body = json.dumps(dicts(blocks))
        seen += re.findall(r"P\d{3} ", body)
        nav = [b for b in dicts(blocks) if b["type"] == "actions"]
        start = json.loads(nav[0]["elements"][0]["value"])["o"] if nav else None
        pages += 1
    assert pages == 3
    assert sorted(seen) == [f"P{n:03d} " for n in range(1, 121)]


def test_the_overview_pages_too() -> None:
    items = [Overview(assignment(n, f"Plan {n}"), "CBA3", 1, 2, 3) for n in range(1, 101)]
    _text, blocks = views.overview_blocks(items, ZONE)
    assert validate_blocks(dicts(blocks)) == []
    body = json.dumps(dicts(blocks), ensure_ascii=False)
    assert "Showing 1–40 of 100 open assignments" in body
    assert "assignment #40 " in body
    assert "assignment #41 " not in body
    _text, last = views.overview_blocks(items, ZONE, 80)
    assert "assignment #100 " in json.dumps(dicts(last))
    assert not [b for b in dicts(last) if b["type"] == "actions"]


def test_the_announcement_escapes_title_and_description_and_carries_a_submit_button() -> None:
    text, blocks = views.announcement(assignment(), "CBA3", ZONE)
    rendered = dicts(blocks)
    assert validate_blocks(rendered) == []
    assert "<!channel>" not in text
    assert "<!channel>" not in json.dumps(rendered)
    assert "Two &lt;b&gt;pages&lt;/b&gt;" in json.dumps(rendered)
    assert rendered[0]["accessory"] == {
        "type": "button",
        "action_id": views.SUBMIT_ACTION,
        "value": "3",
        "text": {"type": "plain_text", "text": "Submit", "emoji": True},
        "style": "primary",
    }


def test_my_list_paginates() -> None:
    who = member(1)
    items = [Mine(assignment(n, f"Task {n}"), Progress(who, [], 0)) for n in range(1, 26)]
    _text, first = views.my_list(items, ZONE, NOW, 0)
    _text, last = views.my_list(items, ZONE, NOW, 99)  # clamped to the last page
    for blocks in (first, last):
        assert validate_blocks(dicts(blocks)) == []
    assert "Task 1*" in json.dumps(dicts(first))
    assert "Page 3 of 3" in json.dumps(dicts(last))
    assert "Task 25*" in json.dumps(dicts(last))


def test_my_list_says_when_the_due_date_has_passed() -> None:
    who = member(1)
    _text, blocks = views.my_list([Mine(assignment(), Progress(who, [], 0))], ZONE, DUE + timedelta(hours=1))
    assert "marked late" in json.dumps(dicts(blocks))


def test_the_submit_modal_is_valid() -> None:
    view = views.submit_modal(assignment(), ZONE, "C0GENERAL")
    assert validate_view(view.to_dict()) == []
    assert json.loads(view.private_metadata or "") == {"assignment_id": 3, "channel_id": "C0GENERAL"}


def test_a_submission_with_a_long_feedback_history_stays_within_limits() -> None:
    who, coach = member(1), member(2)
    subs = [submission(n, who, n, False) for n in range(1, 4)]
    subs[-1].text = "x" * 9000
    feedback = [
        (Feedback(id=n, submission_id=3, text="y" * 2000, created_at=DUE + timedelta(minutes=n)), coach.name)
        for n in range(80)
    ]
    detail = Detail(subs[-1], assignment(), who, subs, feedback)
    _text, blocks = views.submission_blocks(detail, ZONE)
    assert validate_blocks(dicts(blocks)) == []
    assert "version 3 of 3" in json.dumps(dicts(blocks))


def test_grace_is_said_as_people_say_it() -> None:
    assert [views.grace_text(m) for m in (0, 45, 60, 90, 10080)] == [
        "no grace",
        "45m grace",
        "1h grace",
        "1h30m grace",
        "168h grace",
    ]
