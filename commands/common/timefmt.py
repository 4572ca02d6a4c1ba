"""Times as users see them: Slack date tokens with a readable fallback."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def fallback_text(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def slack_date(instant: datetime, zone: ZoneInfo, fmt: str = "{date_short_pretty} {time}") -> str:
    """`<!date^UNIX^FORMAT|FALLBACK>`: each reader sees their own local time."""
    return f"<!date^{int(instant.timestamp())}^{fmt}|{fallback_text(instant, zone)}>"


def slack_date_range(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """`Mon 3 Jun 09:00–12:00` style: one date token plus the end time token."""
    end_token = f"<!date^{int(end.timestamp())}^{{time}}|{end.astimezone(zone):%H:%M}>"
    return f"{slack_date(start, zone)}–{end_token}"


def zone_of(tz: str | None, default: ZoneInfo) -> ZoneInfo:
    """The time zone `tz` names, else `default` (no zone stored, or one this machine cannot load)."""
    if tz:
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return default


def zone_name(tz: object) -> str | None:
    """`tz` if it names a time zone we can load (as Slack's `tz` does), else None: nothing else is stored."""
    if not isinstance(tz, str) or not tz or len(tz) > 64:
        return None
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return tz
