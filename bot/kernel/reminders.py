"""The delivery engine's own registration: it runs on every tick after every hook that plans, sends
the one-off messages the outbox helpers queue, and shows organisers what could not be delivered."""

from __future__ import annotations

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock
from sqlalchemy import func, select

from bot.kernel.delivery import deliver_reminders
from bot.kernel.digest import DigestItem, DigestPart, DigestScope, command
from bot.kernel.outbox import ANSWER_KIND, MESSAGE_KIND, forget_answer, render_message
from bot.kernel.registry import Registry
from bot.kernel.request import Reply, Turn
from commands.common import paging
from commands.common.errors import UsageError
from commands.common.parsing import button_number
from commands.common.text import escape, truncate
from commands.common.timefmt import slack_date
from storage.models import Cohort, Member, Reminder, RoleGrant

PAGE_SIZE = 20
DELIVERIES_NEXT = "deliveries_next"
DIGEST_ITEMS = 20
DELIVERIES_USAGE = "`/cba-admin deliveries [PAGE]` (e.g. `/cba-admin deliveries 2`)"


def mention(recipient: str) -> str:
    """`<@U…>` for a person (their DM), `<#C…>` for a conversation; anything else (an erased recipient) as text."""
    if recipient[:1] in ("U", "W"):
        return f"<@{recipient}>"
    if recipient[:1] in ("C", "G", "D"):
        return f"<#{recipient}>"
    return escape(recipient)


def deliveries_command(turn: Turn, rest: str) -> Reply:
    """`/cba-admin deliveries [PAGE]`: the latest messages that failed for good, newest first."""
    turn.actor.require("organiser", action="see failed deliveries")
    word = rest.strip()
    page = button_number(word) if word else 1  # ASCII digits only: "²".isdigit() is true, int() refuses it
    if page is None or page < 1:
        raise UsageError(f"`{escape(word)}` is not a page number.", usage=DELIVERIES_USAGE)
    total = _failed_count(turn)
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    if total and page > pages:
        raise UsageError(f"There {'is' if pages == 1 else 'are'} only {pages} page(s).", usage=DELIVERIES_USAGE)
    return _deliveries(turn, (page - 1) * PAGE_SIZE, total)


def deliveries_next(turn: Turn) -> Reply:
    """The list's "Next" button: the next page replaces the one pressed."""
    turn.actor.require("organiser", action="see failed deliveries")
    state, start = paging.read_next(paging.action_value(turn.body), usage=DELIVERIES_USAGE)
    if state:
        raise UsageError(paging.STALE, usage=DELIVERIES_USAGE)
    reply = _deliveries(turn, start, _failed_count(turn))
    reply.replace_original = True
    return reply


def _failed_count(turn: Turn) -> int:
    return turn.session.scalar(select(func.count()).select_from(Reminder).where(Reminder.status == "failed")) or 0


def _deliveries(turn: Turn, start: int, total: int) -> Reply:
    if not total:
        return Reply(":white_check_mark: No failed deliveries: everything the bot had to send went out.")
    paging.check_start(start, total, usage=DELIVERIES_USAGE, noun="failed deliveries")
    rows = turn.session.scalars(
        select(Reminder)
        .where(Reminder.status == "failed")
        .order_by(Reminder.due_at.desc(), Reminder.id.desc())
        .offset(start)
        .limit(PAGE_SIZE)
    ).all()
    zone = turn.deps.settings.zone
    lines = [
        f"• #{row.id} {escape(row.kind)} to {mention(row.recipient)}: "
        f"`{escape(truncate(row.last_error or 'unknown error', 120))}`, "
        f"due {slack_date(row.due_at, zone)}, {row.attempts} attempt{'s' if row.attempts != 1 else ''}"
        for row in rows
    ]
    heading = f"*Failed deliveries* ({start + 1}-{start + len(rows)} of {total}, newest first)"
    shown = paging.window(
        lines,
        lambda page: [SectionBlock(text=MarkdownTextObject(text=line)) for line in page],
        start=start,
        total=total,
        size=PAGE_SIZE,
        action_id=DELIVERIES_NEXT,
        state={},
        head=[SectionBlock(text=MarkdownTextObject(text=heading))],
        noun="failed deliveries",
    )
    if shown.has_next:
        lines.append(f"More: `/cba-admin deliveries {start // PAGE_SIZE + 2}`")
    return Reply("\n".join([heading, *lines]), shown.blocks)


def _cohorts_of_recipients(scope: DigestScope) -> dict[str, int]:
    """Recipient -> cohort: cohort channels, and participants by their Slack ID (read once per digest)."""
    found = scope.memo.get("cohort_of_recipient")
    if found is None:
        found = {}
        for slack_id, cohort_id in scope.session.execute(
            select(Member.slack_id, RoleGrant.cohort_id)
            .join(RoleGrant, RoleGrant.member_id == Member.id)
            .where(RoleGrant.role == "participant", RoleGrant.cohort_id.is_not(None), Member.slack_id.is_not(None))
            .order_by(RoleGrant.id)
        ):
            found.setdefault(slack_id, cohort_id)
        for channel_id, cohort_id in scope.session.execute(
            select(Cohort.channel_id, Cohort.id).where(Cohort.channel_id.is_not(None))
        ):
            found[channel_id] = cohort_id
        scope.memo["cohort_of_recipient"] = found
    return found


def failed_deliveries_section(scope: DigestScope) -> DigestPart:
    """Digest: messages that failed for good since the last digest, under the cohort of whom they were for."""
    homes = _cohorts_of_recipients(scope)
    wanted = scope.cohort.id if scope.cohort is not None else None
    rows = scope.session.scalars(
        select(Reminder)
        .where(Reminder.status == "failed", Reminder.due_at >= scope.since)
        .order_by(Reminder.due_at.desc(), Reminder.id.desc())
    )
    items: list[DigestItem] = []
    total = 0
    for row in rows:
        if homes.get(row.recipient) != wanted:
            continue
        total += 1
        if len(items) < DIGEST_ITEMS:
            error = escape(truncate(row.last_error or "unknown error", 100))
            items.append(
                DigestItem(
                    f"delivery #{row.id} ({escape(row.kind)}) to {mention(row.recipient)} failed: `{error}`",
                    command("/cba-admin deliveries"),
                )
            )
    return DigestPart(items, total=total, more=command("/cba-admin deliveries"))


def register(registry: Registry) -> None:
    registry.tick("deliver", deliver_reminders, order=100)
    registry.reminder_kind(MESSAGE_KIND, render_message)
    registry.reminder_kind(ANSWER_KIND, render_message)
    registry.on_delivered(ANSWER_KIND, forget_answer)
    registry.admin_subcommand(deliveries_command, "deliveries")
    registry.action(DELIVERIES_NEXT, deliveries_next)
    registry.digest_section("deliveries", failed_deliveries_section, title="Deliveries that failed", order=90)
