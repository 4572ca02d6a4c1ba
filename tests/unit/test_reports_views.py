"""Report views as plain functions: page limits, escaping, the legend and the CSV rows."""

from __future__ import annotations

import json

import pytest
from slack_sdk.models.blocks import Block

from commands.reports import views
from commands.reports.service import Engagement, Report


def report(count: int, name: str = "Person") -> Report:
    rows = [Engagement(i, f"{name} {i:03d}", f"U{i:04d}", rsvp_yes=i % 3, questions=i % 2) for i in range(count)]
    return Report("CBA3", "Cohort 3", events=4, assignments=2, assignments_due=1, rows=rows)


def dicts(blocks: list[Block]) -> str:
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)


@pytest.mark.parametrize("count", [0, 1, 25, 26, 500])
def test_every_page_stays_within_slacks_limits(count: int) -> None:
    big = report(count)
    for page in range(views.pages(big)):
        _text, blocks = views.report_message(big, page)
        assert len(blocks) <= 50
        for block in blocks:
            block.validate_json()
            text = getattr(getattr(block, "text", None), "text", "")
            assert len(text) <= 3000


def test_the_last_page_has_only_previous_and_a_page_past_the_end_is_the_last() -> None:
    big = report(60)
    _t, blocks = views.report_message(big, 99)
    body = dicts(blocks)
    assert "Page 3 of 3" in body
    assert "Person 059" in body
    assert "Person 049" not in body
    assert '"text": "Previous"' in body
    assert '"text": "Next"' not in body


def test_names_are_escaped_and_cut_to_the_column() -> None:
    one = Report("CBA3", "", 0, 0, 0, [Engagement(1, "<!channel> & a very long name indeed", "U1")])
    _t, blocks = views.report_message(one)
    body = dicts(blocks)
    assert "<!channel>" not in body
    assert "&lt;!channel&gt; &amp; a very l…" in body
    line = views.table_line(one.rows[0])
    plain = line.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert plain[: views.NAME_WIDTH] == "<!channel> & a very l…"
    assert plain[views.NAME_WIDTH] == " "
    assert len(plain) <= len(views.TABLE_HEAD) + 4


def test_csv_rows_follow_the_header() -> None:
    [row] = list(views.csv_rows(report(1)))
    assert len(row) == len(views.CSV_HEADER)
    assert dict(zip(views.CSV_HEADER, row, strict=True))["name"] == "Person 000"


def test_the_legend_names_colours_and_bars_in_order_and_stops_at_a_limit() -> None:
    legend = views.chart_legend(report(views.LEGEND_NAMES_SHOWN + 5, "A<b>"))
    assert ":large_blue_square: check-ins" in legend
    assert "1. A&lt;b&gt; 000, 2. A&lt;b&gt; 001" in legend
    assert "… and 5 more (see the CSV)" in legend
