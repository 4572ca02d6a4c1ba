"""The call's late-cancellation rule for programme days (SPEC 4.6), as a pure function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from commands.events.service import is_late_decline
from storage.models import Event


class TestLateRule:
    """Two weeks before the day, counted in days where the day takes place (the call: "less than two
    weeks before the intended dates"), not in hours: declining on the 14th day before is in time."""

    @staticmethod
    def _day(starts_at: datetime, kind: str = "in-person") -> Event:
        return Event(kind=kind, starts_at=starts_at, ends_at=starts_at + timedelta(hours=8), tz="Europe/Rome")

    @pytest.mark.parametrize(
        ("before", "late"),
        [
            (timedelta(days=30), False),
            (timedelta(days=14), False),
            (timedelta(days=13, hours=23), False),  # still the 14th day before, where the day takes place
            (timedelta(days=13, hours=8), True),  # the 13th day before
            (timedelta(days=10), True),
            (timedelta(hours=1), True),
        ],
    )
    def test_in_person(self, before: timedelta, late: bool) -> None:
        day = self._day(datetime(2026, 12, 25, 8, 0, tzinfo=UTC))  # 09:00 in Torino
        assert is_late_decline(day, day.starts_at - before) is late

    def test_online_days_are_never_late(self) -> None:
        day = self._day(datetime(2026, 12, 25, 8, 0, tzinfo=UTC), kind="online")
        assert is_late_decline(day, day.starts_at - timedelta(days=1)) is False
