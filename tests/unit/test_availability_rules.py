"""Availability, pure: reading `capacity` and `away`, and whether a member is away at an instant."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from commands.common import availability
from commands.common.availability import Absence
from commands.members import parse
from commands.members.fields import FieldValue, check_field, parse_away, parse_capacity
from storage.models import Member

BRUSSELS = ZoneInfo("Europe/Brussels")


class TestReading:
    def test_capacity_is_a_whole_number_from_0_to_50_or_the_default(self) -> None:
        assert [parse_capacity(raw) for raw in ("0", "4", " 50 ", "default", "-")] == [0, 4, 50, None, None]
        for bad in ("51", "-1", "2.5", "four", "٣", "1e1"):
            with pytest.raises(ValueError, match="0 to 50"):
                parse_capacity(bad)

    def test_away_is_two_dates_in_order_or_off(self) -> None:
        assert parse_away("2026-12-20 2027-01-06") == (date(2026, 12, 20), date(2027, 1, 6))
        assert parse_away("2026-12-20 2026-12-20") == (date(2026, 12, 20), date(2026, 12, 20))
        assert parse_away(" off ") is None
        for bad, says in (
            ("2027-01-06 2026-12-20", "ends .* before it begins"),
            ("2026-12-20", "two dates"),
            ("0001-01-01 2026-01-01", "out of range"),
            ("2026-12-20 9999-12-31", "out of range"),
            ("2026-13-01 2026-12-31", "not a real date"),
        ):
            with pytest.raises(ValueError, match=says):
                parse_away(bad)

    def test_an_absence_sets_both_columns_and_off_clears_both(self) -> None:
        assert check_field("away", "2026-12-20 2027-01-06").assignments() == [
            ("away_from", date(2026, 12, 20)),
            ("away_until", date(2027, 1, 6)),
        ]
        assert check_field("away", "off").assignments() == [("away_from", None), ("away_until", None)]
        assert check_field("capacity", "3") == FieldValue("question_capacity", 3)

    def test_the_command_reads_both_fields(self) -> None:
        command = parse.parse_profile("set away 2026-12-20 2027-01-06")
        assert command == parse.SetField("away", FieldValue("away", (date(2026, 12, 20), date(2027, 1, 6))))
        assert parse.parse_profile("set capacity 0") == parse.SetField("capacity", FieldValue("question_capacity", 0))


class TestAway:
    def test_both_days_are_included_in_the_members_own_zone(self) -> None:
        member = Absence("Europe/Brussels", date(2026, 12, 20), date(2026, 12, 22))
        # 23:30 UTC on the 19th is 00:30 on the 20th in Brussels: away; 23:30 UTC on the 22nd is the 23rd: back.
        assert availability.is_away(member, datetime(2026, 12, 19, 23, 30, tzinfo=UTC), BRUSSELS)
        assert availability.is_away(member, datetime(2026, 12, 22, 22, 59, tzinfo=UTC), BRUSSELS)
        assert not availability.is_away(member, datetime(2026, 12, 22, 23, 0, tzinfo=UTC), BRUSSELS)
        assert not availability.is_away(member, datetime(2026, 12, 19, 22, 59, tzinfo=UTC), BRUSSELS)

    def test_the_same_instant_is_another_day_in_another_zone(self) -> None:
        at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
        auckland = Absence("Pacific/Auckland", date(2026, 11, 26), date(2026, 11, 30))
        brussels = Absence("Europe/Brussels", date(2026, 11, 26), date(2026, 11, 30))
        unknown = Absence(None, date(2026, 11, 25), date(2026, 11, 25))  # no zone: CBA_TIMEZONE
        assert availability.is_away(auckland, at, BRUSSELS)
        assert not availability.is_away(brussels, at, BRUSSELS)
        assert availability.is_away(unknown, at, BRUSSELS)

    def test_a_day_that_changes_clocks_is_a_whole_day(self) -> None:
        """29 March 2026: Brussels moves from UTC+1 to UTC+2; the day runs 23:00 UTC to 22:00 UTC."""
        member = Absence("Europe/Brussels", date(2026, 3, 29), date(2026, 3, 29))
        assert availability.is_away(member, datetime(2026, 3, 28, 23, 0, tzinfo=UTC), BRUSSELS)
        assert availability.is_away(member, datetime(2026, 3, 29, 21, 59, tzinfo=UTC), BRUSSELS)
        assert not availability.is_away(member, datetime(2026, 3, 29, 22, 0, tzinfo=UTC), BRUSSELS)

    def test_a_planned_absence_is_one_not_over_yet(self) -> None:
        member = Absence("Europe/Brussels", date(2026, 12, 20), date(2026, 12, 22))
        assert availability.planned_absence(member, datetime(2026, 12, 1, tzinfo=UTC), BRUSSELS) == (
            date(2026, 12, 20),
            date(2026, 12, 22),
        )
        assert availability.planned_absence(member, datetime(2026, 12, 23, 12, tzinfo=UTC), BRUSSELS) is None
        assert (
            availability.planned_absence(Absence(None, None, None), datetime(2026, 12, 1, tzinfo=UTC), BRUSSELS) is None
        )

    def test_capacity_defaults_to_four(self) -> None:
        assert availability.capacity_of(Member(question_capacity=None)) == 4
        assert availability.capacity_of(Member(question_capacity=0)) == 0
