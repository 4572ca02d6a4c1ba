"""The directory page (plain dicts on the hot path) stays inside Slack's limits."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.console.fakeslack import validate_blocks
from commands.members import views
from commands.members.parse import DirectoryQuery
from commands.members.search import PAGE_SIZE, Card, Page, RoleLine


def _member(index: int) -> Card:
    return Card(
        id=index,
        name="Név <" + "é" * 400 + ">",
        visible=index % 2 == 0,
        organisation="Org & co " * 100,
        country="IT",
        expertise=["mobility"] * 20,
        roles=[RoleLine("participant", "C1" * 100)],
    )


def test_a_full_middle_page_of_long_cards_with_a_long_non_ascii_query_is_accepted() -> None:
    query = DirectoryQuery(words=("ünïcode",), text="ü" * 1800)
    members = [_member(i) for i in range(1, PAGE_SIZE + 1)]
    page = Page(members, total=500, page=2, pages=500 // PAGE_SIZE + 1)
    members[0] = replace(members[0], away_from=date(2026, 11, 20), away_until=date(2099, 12, 31))
    text, blocks = views.directory_blocks(
        query, page, organiser=True, now=datetime(2026, 11, 25, 9, 0, tzinfo=UTC), zone=ZoneInfo("Europe/Brussels")
    )
    assert validate_blocks(blocks) == []
    assert "showing" in text
    assert "&lt;" in blocks[1]["text"]["text"]  # names are user text: escaped
    assert "away until 2099-12-31" in blocks[1]["text"]["text"]
    assert "away until" not in blocks[2]["text"]["text"]
    buttons = blocks[-1]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Previous", "Next"]
    # The query rides on the page buttons: shortened until it fits, still readable.
    queries = [views.read_page_value(b["value"]) for b in buttons]
    assert [p for _q, p in queries] == [1, 3]
    assert all(q and set(q) == {"ü"} for q, _p in queries)
    assert all(len(b["value"]) <= 2000 for b in buttons)


def test_a_short_query_rides_whole_on_the_buttons() -> None:
    query = DirectoryQuery(words=("cluster",), text="cluster country:IT")
    assert json.loads(views.page_value(query, 1)) == {"q": "cluster country:IT", "p": 1}
