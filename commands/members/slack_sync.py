"""Learn from Slack who a newly known member is (name, e-mail), on the scheduler's tick.

A role granted to a workspace user the bot did not know creates their row from the mention alone:
nothing is asked of Slack while a request is open. The next tick asks `users.info`, outside any
transaction, and fills in what the row lacks.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.kernel.deps import Deps
from bot.kernel.slack_client import users_info
from commands.common.actors import member_by_slack_id
from commands.members.search import index_member
from storage.models import Member

PER_TICK = 20


def learn_new_members(deps: Deps, *, limit: int = PER_TICK) -> int:
    """Fill in the name and e-mail of members known only by their Slack ID; how many were looked up."""
    with deps.sessions() as session:
        unknown = [
            slack_id
            for slack_id in session.scalars(
                select(Member.slack_id)
                .where(Member.name == "", Member.slack_id.is_not(None), Member.erased_at.is_(None))
                .order_by(Member.id)
                .limit(limit)
            )
            if slack_id
        ]
    learned = users_info(deps.client, unknown)
    if learned:
        with deps.sessions.begin() as session:
            for slack_id, user in learned.items():
                member = member_by_slack_id(session, slack_id)
                if member is None or member.name:
                    continue
                # Whatever Slack said (or the ID itself, so that an unknown user is not asked again and again).
                member.name = str(user.get("real_name") or user.get("name") or slack_id)
                member.email = member.email or (user.get("profile") or {}).get("email") or None
                member.tz = member.tz or user.get("tz") or None
                index_member(session, member)
    return len(learned)
