"""The organisers' digest as plain functions: its schedule on the local wall clock, and its Block Kit limits."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import HeaderBlock, SectionBlock

from bot.console.fakeslack import validate_blocks
from bot.kernel.digest import (
    MAX_BLOCKS,
    MAX_ITEMS,
    Digest,
    DigestItem,
    DigestPart,
    Group,
    latest_instant,
    mentions,
    render_digest,
)
from bot.kernel.registry import DigestSection, Registry
from bot.kernel.settings import DigestSchedule

BRUSSELS = ZoneInfo("Europe/Brussels")
MONDAY_NINE = DigestSchedule(frozenset({0}), time(9, 0))


class TestLatestInstant:
    @pytest.mark.parametrize(
        ("now", "expected_day", "expected_utc"),
        [
            # Winter (CET, UTC+1): Monday 09:00 is 08:00 UTC.
            (datetime(2026, 12, 7, 8, 0, tzinfo=UTC), date(2026, 12, 7), datetime(2026, 12, 7, 8, 0, tzinfo=UTC)),
            (datetime(2026, 12, 7, 7, 59, tzinfo=UTC), date(2026, 11, 30), datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
            (datetime(2026, 12, 10, 12, 0, tzinfo=UTC), date(2026, 12, 7), datetime(2026, 12, 7, 8, 0, tzinfo=UTC)),
            # The week summer time begins (Sunday 28 March 2027): Monday 09:00 CEST is 07:00 UTC.
            (datetime(2027, 3, 29, 7, 0, tzinfo=UTC), date(2027, 3, 29), datetime(2027, 3, 29, 7, 0, tzinfo=UTC)),
            (datetime(2027, 3, 29, 6, 59, tzinfo=UTC), date(2027, 3, 22), datetime(2027, 3, 22, 8, 0, tzinfo=UTC)),
            # And the week it ends (Sunday 31 October 2027): back to 08:00 UTC.
            (datetime(2027, 11, 1, 8, 0, tzinfo=UTC), date(2027, 11, 1), datetime(2027, 11, 1, 8, 0, tzinfo=UTC)),
            (datetime(2027, 11, 1, 7, 30, tzinfo=UTC), date(2027, 10, 25), datetime(2027, 10, 25, 7, 0, tzinfo=UTC)),
        ],
    )
    def test_nine_local_whatever_the_offset(self, now: datetime, expected_day: date, expected_utc: datetime) -> None:
        assert latest_instant(MONDAY_NINE, BRUSSELS, now) == (expected_day, expected_utc)

    def test_several_days_and_daily(self) -> None:
        twice = DigestSchedule(frozenset({0, 3}), time(8, 30))
        thursday = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
        assert latest_instant(twice, BRUSSELS, thursday) == (
            date(2026, 12, 10),
            datetime(2026, 12, 10, 7, 30, tzinfo=UTC),
        )
        daily = DigestSchedule(frozenset(range(7)), time(18, 0))
        assert latest_instant(daily, BRUSSELS, thursday) == (
            date(2026, 12, 9),
            datetime(2026, 12, 9, 17, 0, tzinfo=UTC),
        )


def _busy_digest(cohorts: int, items: int) -> Digest:
    sections = [DigestSection(f"s{n}", f"Section {n}", lambda scope: None, n) for n in range(6)]
    digest = Digest(since=datetime(2026, 11, 30, tzinfo=UTC), now=datetime(2026, 12, 7, tzinfo=UTC))
    for c in range(cohorts):
        group = Group(f"CBA{c} · A cohort with a rather long name", f"CBA{c}")
        for section in sections:
            part = DigestPart(
                [DigestItem(f"assignment #{i} “{'x' * 500}”", f"`/cba-homework status {i}`") for i in range(items)],
                more="`/cba-homework`",
            )
            group.parts.append((section, part))
        digest.groups.append(group)
    digest.groups.append(Group("Quiet", "CBA99"))
    return digest


class TestRender:
    def test_stays_within_slacks_limits_and_says_what_it_left_out(self) -> None:
        text, blocks = render_digest(_busy_digest(cohorts=12, items=40), BRUSSELS)
        dicts = [block.to_dict() for block in blocks]  # slack_sdk's validators run here
        assert validate_blocks(dicts) == []
        assert len(blocks) <= MAX_BLOCKS
        sections = [block for block in blocks if isinstance(block, SectionBlock)]
        assert all(len(block.text.text) <= 3000 for block in sections if block.text is not None)
        assert text == "Organisers' digest: 2880 things need attention"
        shown = str(dicts)
        assert f"…and {40 - MAX_ITEMS} more: `/cba-homework`" in shown
        assert "did not fit" in shown
        assert "`/cba-admin digest CBA11`" in shown
        assert "Nothing needs attention in CBA99." in shown

    def test_an_empty_digest_says_so(self) -> None:
        digest = Digest(since=datetime(2026, 11, 30, tzinfo=UTC), now=datetime(2026, 12, 7, tzinfo=UTC))
        text, blocks = render_digest(digest, BRUSSELS)
        assert text == "Organisers' digest: nothing needs attention"
        assert isinstance(blocks[0], HeaderBlock)

    def test_mentions_are_capped(self) -> None:
        assert mentions(["U1", None]) == "<@U1>, former member"
        assert mentions([f"U{n}" for n in range(10)], limit=3) == "<@U0>, <@U1>, <@U2> and 7 more"


def test_a_digest_section_is_registered_once() -> None:
    registry = Registry()
    registry.digest_section("waitlist", lambda scope: None, title="Waitlist lengths", order=70)
    registry.digest_section("first", lambda scope: None, title="First", order=1)
    assert [section.name for section in registry.digest_sections] == ["first", "waitlist"]
    with pytest.raises(ValueError, match="registered twice"):
        registry.digest_section("waitlist", lambda scope: None, title="Again")
