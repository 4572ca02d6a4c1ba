"""The delivery engine's own registration: it runs on every tick after every hook that plans, sends
the one-off messages the outbox helpers queue, and shows organisers what could not be delivered."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.kernel.delivery import deliver_reminders
from bot.kernel.outbox import ANSWER_KIND, MESSAGE_KIND, forget_answer, render_message
from bot.kernel.registry import Registry
from bot.kernel.request import Reply, Turn
from commands.common.errors import UsageError
from commands.common.parsing import button_number
from commands.common.text import escape, truncate
from commands.common.timefmt import slack_date
from storage.models import Reminder

PAGE_SIZE = 20
DELIVERIES_USAGE = "`/cba-admin deliveries [PAGE]` (e.g. `/cba-admin deliveries 2`)"


def mention(recipient: str) -> str:
    """`<@U…>` for a person (their DM), `<#C…>` for a conversation."""
    return f"<@{recipient}>" if recipient[:1] in ("U", "W") else f"<#{recipient}>"


def deliveries_command(turn: Turn, rest: str) -> Reply:
    """`/cba-admin deliveries [PAGE]`: the latest messages that failed for good, newest first."""
    turn.actor.require("organiser", action="see failed deliveries")
    word = rest.strip()
    page = button_number(word) if word else 1  # ASCII digits only: "²".isdigit() is true, int() refuses it
    if page is None or page < 1:
        raise UsageError(f"`{escape(word)}` is not a page number.", usage=DELIVERIES_USAGE)
    failed = Reminder.status == "failed"
    total = turn.session.scalar(select(func.count()).select_from(Reminder).where(failed)) or 0
    if not total:
        return Reply(":white_check_mark: No failed deliveries: everything the bot had to send went out.")
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    if page > pages:
        raise UsageError(f"There {'is' if pages == 1 else 'are'} only {pages} page(s).", usage=DELIVERIES_USAGE)
    rows = turn.session.scalars(
        select(Reminder)
        .where(failed)
        .order_by(Reminder.due_at.desc(), Reminder.id.desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    zone = turn.deps.settings.zone
    lines = [
        f"• #{row.id} {escape(row.kind)} to {mention(row.recipient)}: "
        f"`{escape(truncate(row.last_error or 'unknown error', 120))}`, "
        f"due {slack_date(row.due_at, zone)}, {row.attempts} attempt{'s' if row.attempts != 1 else ''}"
        for row in rows
    ]
    first = (page - 1) * PAGE_SIZE + 1
    heading = f"*Failed deliveries* ({first}-{first + len(rows) - 1} of {total}, newest first)"
    if page < pages:
        lines.append(f"More: `/cba-admin deliveries {page + 1}`")
    return Reply("\n".join([heading, *lines]))


def register(registry: Registry) -> None:
    registry.tick("deliver", deliver_reminders, order=100)
    registry.reminder_kind(MESSAGE_KIND, render_message)
    registry.reminder_kind(ANSWER_KIND, render_message)
    registry.on_delivered(ANSWER_KIND, forget_answer)
    registry.admin_subcommand(deliveries_command, "deliveries")
