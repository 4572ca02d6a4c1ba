"""The organisers' digest (SPEC 4.9): what needs their attention, per cohort, in one message.

Sections come from the features that own the data (`registry.digest_section`): unanswered questions from
the questions feature, missing homework from homework, open RSVPs and late declines from events, late
coaching cancellations from coaching, failed deliveries from the kernel's outbox. A feature that is not
there contributes nothing, so the waitlist's lengths appear once that feature registers its section. Each
section function gets a `DigestScope` (one cohort, or `cohort=None` for what belongs to no cohort) and
answers a `DigestPart`: items that each begin with their `kind #N` and say which command acts on them.

It reaches organisers two ways:
- `/cba-admin digest [COHORT]`: the caller's digest now, as the answer (nothing is stored or sent);
- at `CBA_DIGEST` (default `mon 09:00` in CBA_TIMEZONE): a tick hook writes one outbox row per organiser
  with the dedupe key `digest:<local date>:<organiser>`, so two processes, two ticks or a restart send
  it once. The content is drawn when the row is planned and stored in it (the erasure contract then
  finds, and retracts, a digest that names an erased member); the delivery engine sends it.

"Since the last digest" is read from those rows: the latest digest row to that organiser (scheduled,
not cancelled) marks where the next one starts; without one, the last `DEFAULT_WINDOW`. No table of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.kernel import outbox
from bot.kernel.registry import DigestSection, Registry
from bot.kernel.request import Reply, Turn
from bot.kernel.settings import DigestSchedule, Settings
from commands.common.errors import NotFound, UsageError
from commands.common.parsing import split_words
from commands.common.text import escape, truncate
from commands.common.timefmt import slack_date
from storage.db import deferred_begin
from storage.models import Cohort, Member, Reminder, RoleGrant

if TYPE_CHECKING:
    from bot.kernel.deps import Deps

log = logging.getLogger(__name__)

DIGEST_KIND = "digest"
DIGEST_USAGE = "`/cba-admin digest [COHORT]` (e.g. `/cba-admin digest CBA2`)"
# Without an earlier digest to the organiser, "since the last digest" means the last week.
DEFAULT_WINDOW = timedelta(days=7)
# A digest whose instant passed while no bot ran goes out late within this, else waits for the next one.
CATCH_UP = timedelta(hours=12)
# Slack's limits, with room: items shown per section, blocks per message, characters per section text.
MAX_ITEMS = 6
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_ITEM_TEXT = 450
MAX_NAMES = 8
NO_COHORT = "Across the Academy"


# --- what sections answer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestItem:
    """One thing to act on: `text` begins with its `kind #N`; `act` is the command or button that acts on it."""

    text: str
    act: str = ""


@dataclass(frozen=True)
class DigestPart:
    """A section's items (all of them, or the first ones with `total` saying how many there are), and
    `more`: where the whole list is, shown when the digest shows only the first `MAX_ITEMS`."""

    items: Sequence[DigestItem] = ()
    total: int | None = None
    more: str = ""

    @property
    def count(self) -> int:
        return len(self.items) if self.total is None else max(self.total, len(self.items))


@dataclass
class DigestScope:
    """What a section function is asked about: one cohort (None: what belongs to no cohort), at `now`,
    with late cancellations and failures counted from `since` (the last digest)."""

    session: Session
    cohort: Cohort | None
    now: datetime
    since: datetime
    settings: Settings
    # Shared by the scopes of one digest: a section may keep what it read once for every cohort.
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    def date(self, instant: datetime) -> str:
        return slack_date(instant, self.zone)


def mentions(slack_ids: Iterable[str | None], limit: int = MAX_NAMES) -> str:
    """`<@U1>, <@U2> and 3 more` (erased members, without a Slack ID, count as "former member")."""
    names = [f"<@{slack_id}>" if slack_id else "former member" for slack_id in slack_ids]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


def command(text: str) -> str:
    return f"`{text}`"


# --- the digest -------------------------------------------------------------------------------------


@dataclass
class Group:
    """One cohort's part of the digest (or what belongs to no cohort)."""

    label: str
    code: str | None
    parts: list[tuple[DigestSection, DigestPart]] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(part.count for _section, part in self.parts)


@dataclass
class Digest:
    since: datetime
    now: datetime
    groups: list[Group] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(group.count for group in self.groups)


def build_digest(
    session: Session,
    sections: Sequence[DigestSection],
    settings: Settings,
    *,
    now: datetime,
    since: datetime,
    cohort: Cohort | None = None,
) -> Digest:
    """Every cohort's sections (newest cohort first) and what belongs to none; only `cohort` when given."""
    memo: dict[str, Any] = {}
    cohorts = [cohort] if cohort is not None else list(session.scalars(select(Cohort).order_by(Cohort.id.desc())))
    scopes: list[tuple[str, str | None, Cohort | None]] = [
        (f"{c.code} · {c.name}" if c.name else c.code, c.code, c) for c in cohorts
    ]
    if cohort is None:
        scopes.append((NO_COHORT, None, None))
    digest = Digest(since=since, now=now)
    for label, code, scoped in scopes:
        group = Group(escape(label), code)
        scope = DigestScope(session, scoped, now, since, settings, memo)
        for section in sections:
            part = section.fn(scope)
            if part is None:
                continue
            if part.count:
                group.parts.append((section, part))
            elif scoped is not None:  # what belongs to no cohort is only shown when there is something
                group.empty.append(section.title)
        digest.groups.append(group)
    return digest


def render_digest(digest: Digest, zone: ZoneInfo, *, heading: str = "Organisers' digest") -> tuple[str, list[Block]]:
    """The digest as Block Kit within Slack's limits (50 blocks, 3000 characters a section)."""
    count = digest.count
    summary = (
        f"{count} thing{'s' if count != 1 else ''} need{'s' if count == 1 else ''} attention"
        if count
        else "nothing needs attention"
    )
    text = f"{heading}: {summary}"
    blocks: list[Block] = [
        HeaderBlock(text=heading),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"{summary.capitalize()} · late cancellations and failed deliveries since "
                    f"{slack_date(digest.since, zone)} · `/cba-admin digest [COHORT]` shows it again"
                )
            ]
        ),
    ]
    quiet = [group for group in digest.groups if not group.count]
    busy = [group for group in digest.groups if group.count]
    left_out: list[Group] = []
    for group in busy:
        group_blocks = _group_blocks(group)
        # Room is kept for the closing line(s).
        if left_out or len(blocks) + len(group_blocks) > MAX_BLOCKS - 2:
            left_out.append(group)
            continue
        blocks += group_blocks
    closing: list[str] = []
    if left_out:
        codes = ", ".join(f"`/cba-admin digest {group.code}`" for group in left_out if group.code)
        closing.append(f"{len(left_out)} more cohort part(s) did not fit: {codes or '`/cba-admin digest`'}")
    named_quiet = [group.code or group.label for group in quiet if group.code]
    if named_quiet:
        closing.append(f"Nothing needs attention in {escape(', '.join(named_quiet))}.")
    if closing:
        blocks.append(DividerBlock())
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(" ".join(closing), 2000))]))
    return text, blocks


def _group_blocks(group: Group) -> list[Block]:
    blocks: list[Block] = [
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=f":busts_in_silhouette: *{truncate(group.label, 200)}*")),
    ]
    for section, part in group.parts:
        lines = [f"*{escape(section.title)}* ({part.count})"]
        for item in part.items[:MAX_ITEMS]:
            line = truncate(item.text, MAX_ITEM_TEXT)
            lines.append(f"• {line} → {item.act}" if item.act else f"• {line}")
        hidden = part.count - min(len(part.items), MAX_ITEMS)
        if hidden > 0:
            lines.append(f"…and {hidden} more" + (f": {part.more}" if part.more else ""))
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), MAX_SECTION_TEXT))))
    if group.empty:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"Nothing open: {escape(', '.join(group.empty))}.")])
        )
    return blocks


# --- who gets it, and since when ------------------------------------------------------------------


def organiser_ids(session: Session, configured: frozenset[str]) -> list[str]:
    """Organisers by role grant and by CBA_ORGANISERS (erased members have no Slack ID)."""
    granted = session.scalars(
        select(Member.slack_id)
        .join(RoleGrant, RoleGrant.member_id == Member.id)
        .where(RoleGrant.role == "organiser", Member.slack_id.is_not(None))
    )
    return sorted({slack_id for slack_id in granted if slack_id} | set(configured))


def last_digest_at(session: Session, recipient: str, now: datetime) -> datetime | None:
    """When the latest scheduled digest to `recipient` was drawn (its row's due time)."""
    return session.scalar(
        select(func.max(Reminder.due_at)).where(
            Reminder.kind == DIGEST_KIND,
            Reminder.recipient == recipient,
            Reminder.status != "cancelled",
            Reminder.due_at <= now,
        )
    )


def since_for(session: Session, recipient: str, now: datetime) -> datetime:
    last = last_digest_at(session, recipient, now)
    return last.astimezone(UTC) if last is not None else now - DEFAULT_WINDOW


# --- the schedule -----------------------------------------------------------------------------------


def latest_instant(schedule: DigestSchedule, zone: ZoneInfo, now: datetime) -> tuple[date, datetime] | None:
    """The latest scheduled instant at or before `now`, and its local date (the period's name).

    Computed on the wall clock of `zone` each time, so 09:00 stays 09:00 local across daylight saving.
    """
    today = now.astimezone(zone).date()
    for back in range(8):
        day = today - timedelta(days=back)
        if day.weekday() not in schedule.days:
            continue
        instant = datetime.combine(day, schedule.at, tzinfo=zone).astimezone(UTC)
        if instant <= now:
            return day, instant
    return None


def dedupe_key(day: date, recipient: str) -> str:
    return f"{DIGEST_KIND}:{day.isoformat()}:{recipient}"


def plan_digests(deps: Deps) -> None:
    """Tick hook: at each scheduled instant, one digest row per organiser, once."""
    schedule = deps.settings.digest
    if schedule is None:
        return
    now = deps.clock()
    found = latest_instant(schedule, deps.settings.zone, now)
    if found is None or now - found[1] > CATCH_UP:
        return
    day = found[0]
    # A read that takes no write lock: most ticks find the period's digests already planned.
    with deferred_begin(), deps.sessions() as session:
        keys = {dedupe_key(day, slack_id): slack_id for slack_id in organiser_ids(session, deps.settings.organisers)}
        planned = set(session.scalars(select(Reminder.dedupe_key).where(Reminder.dedupe_key.in_(list(keys)))))
        session.rollback()
    todo = {key: slack_id for key, slack_id in keys.items() if key not in planned}
    if not todo:
        return
    sections = deps.registry.digest_sections
    try:
        with deps.sessions.begin() as session:
            for key, slack_id in todo.items():
                if session.scalar(select(Reminder.id).where(Reminder.dedupe_key == key)) is not None:
                    continue
                since = since_for(session, slack_id, now)
                digest = build_digest(session, sections, deps.settings, now=now, since=since)
                text, blocks = render_digest(digest, deps.settings.zone)
                outbox.queue(
                    session,
                    slack_id,
                    now=now,
                    text=text,
                    blocks=blocks,
                    kind=DIGEST_KIND,
                    subject=("digest", 0),
                    key=key,
                )
    except IntegrityError:
        # Another bot process planned the same digests a moment earlier: theirs go out, once.
        log.info("the digests of %s were planned by another process", day)


# --- /cba-admin digest ------------------------------------------------------------------------------


def digest_command(turn: Turn, rest: str) -> Reply:
    """`/cba-admin digest [COHORT]`: the caller's digest now (since their last scheduled one)."""
    turn.actor.require("organiser", action="see the organisers' digest")
    words = split_words(rest)
    if len(words) > 1:
        raise UsageError("Give at most one cohort code.", usage=DIGEST_USAGE)
    cohort = None
    if words:
        code = words[0]
        cohort = turn.session.scalar(select(Cohort).where(func.upper(Cohort.code) == code.upper()))
        if cohort is None:
            raise NotFound("cohort", escape(truncate(code, 40)), usage=DIGEST_USAGE)
    settings = turn.deps.settings
    since = since_for(turn.session, turn.actor.slack_id, turn.now)
    digest = build_digest(
        turn.session, turn.deps.registry.digest_sections, settings, now=turn.now, since=since, cohort=cohort
    )
    heading = f"Organisers' digest: {cohort.code}" if cohort is not None else "Organisers' digest"
    text, blocks = render_digest(digest, settings.zone, heading=truncate(heading, 150))
    return Reply(text, blocks)


def register(registry: Registry) -> None:
    # Before the delivery tick (order 100), so that the digests leave in the tick that plans them.
    registry.tick("digest", plan_digests, order=60)
    registry.reminder_kind(DIGEST_KIND, outbox.render_message)
    registry.admin_subcommand(digest_command, "digest")
