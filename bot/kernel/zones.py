"""Members' time zones, kept on their rows so that no request waits on Slack to learn them.

The scheduler's tick asks Slack (`users.info`) for the zones it has not checked for a day, a few
members per tick and outside any transaction; a `user_change` event updates a zone at once.
Requests read the row only (`Turn.zone()`), falling back to CBA_TIMEZONE.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from bot.kernel.deps import Deps
from bot.kernel.registry import Registry
from bot.kernel.request import Turn
from bot.kernel.slack_client import users_info
from commands.common.timefmt import zone_name
from storage.models import Member

TZ_REFRESH = timedelta(days=1)
PER_TICK = 20


def refresh_zones(deps: Deps, *, limit: int = PER_TICK) -> int:
    """Ask Slack for the zones that are unknown or a day old; how many members were checked."""
    now = deps.clock()
    with deps.sessions() as session:
        stale = list(
            session.scalars(
                select(Member.slack_id)
                .where(
                    Member.slack_id.is_not(None),
                    Member.erased_at.is_(None),
                    or_(Member.tz_checked_at.is_(None), Member.tz_checked_at < now - TZ_REFRESH),
                )
                .order_by(Member.tz_checked_at.is_not(None), Member.tz_checked_at, Member.id)
                .limit(limit)
            )
        )
    users = users_info(deps.client, [slack_id for slack_id in stale if slack_id])
    found = {slack_id: zone_name(user.get("tz")) for slack_id, user in users.items()}
    if found:
        with deps.sessions.begin() as session:
            for slack_id, tz in found.items():
                values: dict[str, Any] = {"tz_checked_at": now}
                if tz:
                    values["tz"] = tz
                session.execute(update(Member).where(Member.slack_id == slack_id).values(**values))
    return len(found)


def user_changed(turn: Turn, event: dict[str, Any]) -> None:
    """Slack tells us of a profile change: take the new zone (the user object carries `tz`)."""
    user = event.get("user") or {}
    member = turn.actor.member
    tz = zone_name(user.get("tz")) if isinstance(user, dict) else None
    if member.id is None or not tz:
        return
    member.tz = tz
    member.tz_checked_at = turn.now


def register(registry: Registry) -> None:
    registry.tick("refresh-zones", refresh_zones, order=200)
    registry.event("user_change", user_changed)
