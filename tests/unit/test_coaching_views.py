"""Block Kit builders stay inside Slack's limits and show times as date tokens."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.console.fakeslack import validate_blocks
from commands.coaching import views
from commands.coaching.parse import AddSlots
from commands.coaching.service import AskFold, OpenSlot, Page
from commands.common import paging
from commands.common.errors import UsageError
from storage.models import CoachingBooking, CoachingSlot, Member

BRUSSELS = ZoneInfo("Europe/Brussels")


def _slots(count: int, coaches: int = 1) -> list[OpenSlot]:
    slots = []
    for index in range(count):
        coach = index % coaches + 1
        start = datetime(2026, 12, 1, 8, tzinfo=UTC) + timedelta(days=index)
        name = f"Coach <{coach - 1}> & co"
        slots.append(OpenSlot(index + 1, coach, name, start, start + timedelta(minutes=45)))
    return sorted(slots, key=lambda s: (s.coach_id, s.starts_at))


def _dicts(blocks: list) -> list[dict]:  # type: ignore[type-arg]
    return [block if isinstance(block, dict) else block.to_dict() for block in blocks]


def test_a_full_page_of_slots_with_a_new_coach_and_day_each_is_within_limits() -> None:
    page = Page(_slots(views_page_size(), coaches=10), page=1, has_more=True)
    text, blocks = views.browse_blocks(page, BRUSSELS)
    assert validate_blocks(_dicts(blocks)) == []
    assert len(blocks) <= 50
    assert "<!date^" in text
    nav = blocks[-1]["elements"]
    assert [b["text"]["text"] for b in nav] == ["Previous", "Next"]
    # Coach names are user text: escaped.
    assert any("Coach &lt;0&gt; &amp; co" in str(b) for b in blocks)


def views_page_size() -> int:
    from commands.coaching.service import PAGE_SIZE

    return PAGE_SIZE


def test_fold_question_offers_both_readings() -> None:
    question = AskFold(AddSlots(date(2026, 10, 25), time(2, 30)), "first 02:30 (CEST)", "second 02:30 (CET)")
    text, blocks = views.fold_blocks(question, ZoneInfo("Europe/Berlin"))
    assert "happens twice" in text
    assert validate_blocks(_dicts(blocks)) == []
    buttons = blocks[1].to_dict()["elements"]
    assert [b["text"]["text"] for b in buttons] == ["first 02:30 (CEST)", "second 02:30 (CET)"]
    assert buttons[0]["action_id"] != buttons[1]["action_id"]


def _coach_rows(count: int) -> list[tuple[CoachingSlot, CoachingBooking | None]]:
    rows: list[tuple[CoachingSlot, CoachingBooking | None]] = []
    for index in range(count):
        start = datetime(2026, 12, 1, 8, tzinfo=UTC) + timedelta(hours=index)
        slot = CoachingSlot(id=index + 1, coach_id=1, starts_at=start, ends_at=start + timedelta(minutes=45))
        booking = None
        if index % 2:
            booking = CoachingBooking(id=1000 + index, participant=Member(slack_id=f"U{index:08d}", name="P"))
        rows.append((slot, booking))
    return rows


def test_the_coachs_slot_list_pages_within_limits_and_never_cuts_silently() -> None:
    rows = _coach_rows(95)
    shown: list[int] = []
    start: int | None = 0
    while start is not None:
        text, blocks = views.coach_slots_page(rows, BRUSSELS, start)
        assert validate_blocks(_dicts(blocks)) == []
        assert len(blocks) <= 50
        page = json.dumps(_dicts(blocks))
        shown += [int(n) for n in re.findall(r"slot #(\d+):", page)]
        assert re.findall(r"slot #(\d+):", text) == re.findall(r"slot #(\d+):", page)
        nexts = [e for b in _dicts(blocks) if b["type"] == "actions" for e in b["elements"]]
        start = paging.read_next(nexts[0]["value"])[1] if nexts else None
    assert shown == list(range(1, 96))


def test_a_stale_page_of_an_empty_slot_list_is_a_usage_answer() -> None:
    assert "no slots" in views.coach_slots_page([], BRUSSELS, 0)[0]
    with pytest.raises(UsageError, match="0 slots"):
        views.coach_slots_page([], BRUSSELS, 40, usage="u")
