"""Erasure as a kernel contract (SPEC 4.2 `/cba-profile delete`, GDPR Art. 17).

Each feature registers an erasure step (`registry.erasure_step`) naming the tables it answers for. A
step gets one `Erasure`: it deletes the member's texts in its tables, cancels what must be cancelled
(telling others through the outbox), and says which bot messages quote the member (`retract`,
`retract_row`) and which texts of theirs may be quoted elsewhere (`forget`). Once every step has run,
`finish` scrubs the outbox and the audit log of everything that identifies the member: rows addressed
to them, rows whose stored message quotes their name, e-mail, Slack ID or a forgotten text (posts and
DMs already sent are edited in Slack to say "removed at the member's request"), dedupe keys holding
their Slack ID.

Which tables hold member data is read from the schema (`member_tables`): a test checks that every one
of them is covered by some registered step, so a new table without a step fails it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import MetaData, String, Text, cast, or_, select
from sqlalchemy.orm import Session

from bot.kernel import outbox
from bot.kernel.kinds import POST, UPDATE
from bot.kernel.planning import OPEN_STATUSES
from bot.kernel.settings import Settings
from commands.common.text import escape
from storage.models import AuditEntry, Member, Reminder

# What a retracted message says instead.
REMOVED = "_(removed at the member's request)_"
REMOVED_BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": REMOVED}}]
# What a deleted text of the member reads as where the row must stay (a question, an answer).
REMOVED_TEXT = "(removed at the member's request)"
# Where an outbox row's recipient was the member.
ERASED_RECIPIENT = "erased"
# The tables `Erasure.finish` answers for itself (the kernel's own: the outbox and the audit log).
KERNEL_TABLES = frozenset({Reminder.__tablename__, AuditEntry.__tablename__})

# Columns that name a Slack user or hold an address, whatever table they are in.
_PERSON_COLUMN = re.compile(r"(^|_)(slack_id|user_id|user|recipient|email|e_mail)$")
# A forgotten text is looked for by the first characters of each of its lines, as typed and as shown
# (escaped); lines shorter than this are left to the steps (they would match unrelated words).
_MIN_FRAGMENT = 12
_FRAGMENT = 40


def member_tables(metadata: MetaData, members_table: str = Member.__tablename__) -> dict[str, list[str]]:
    """Tables that hold data about a member, with the columns that say so, read from the schema:
    the members table itself, any foreign key to it, and any column that names a Slack user or an address."""
    found: dict[str, list[str]] = {members_table: ["*"]}
    for table in metadata.sorted_tables:
        for column in table.columns:
            by_key = any(fk.column.table.name == members_table for fk in column.foreign_keys)
            by_name = isinstance(column.type, String | Text) and _PERSON_COLUMN.search(column.name) is not None
            if by_key or by_name:
                found.setdefault(table.name, []).append(column.name)
    return found


@dataclass
class Erasure:
    """One member's erasure in progress, in the request's transaction."""

    session: Session
    member: Member
    now: datetime
    settings: Settings | None = None  # the notices steps send need its zone and organisers
    slack_id: str | None = None
    email: str | None = None
    name: str = ""
    texts: list[str] = field(default_factory=list)
    _retracted: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def of(cls, session: Session, member: Member, now: datetime, settings: Settings | None = None) -> Erasure:
        """Taken before anything is erased: what identifies the member, for `finish` to look for."""
        return cls(session, member, now, settings, member.slack_id, member.email, member.name.strip())

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone if self.settings else ZoneInfo("UTC")

    @property
    def organisers(self) -> frozenset[str]:
        return self.settings.organisers if self.settings else frozenset()

    # --- what steps call ------------------------------------------------------------------------

    def forget(self, *texts: str | None) -> None:
        """Texts of the member's that a bot message may quote: `finish` looks for them in the outbox."""
        self.texts.extend(text for text in texts if text)

    def retract(self, channel: str | None, ts: str | None) -> None:
        """Edit a message the bot posted (known by channel and ts) to say it was removed."""
        if not channel or not ts or (channel, ts) in self._retracted:
            return
        self._retracted.add((channel, ts))
        # An edit of that message still on its way would put the text back: it is dropped.
        for row in self.session.scalars(
            select(Reminder).where(Reminder.method == UPDATE, Reminder.status.in_(OPEN_STATUSES))
        ):
            if self._where(row) == (channel, ts):
                row.status = "cancelled"
                row.last_error = "erased at the member's request"
                row.payload = None
        # With blocks too: an edit that gives only text keeps the message's blocks (Slack's chat.update).
        outbox.update(self.session, REMOVED, REMOVED_BLOCKS, now=self.now, channel=channel, ts=ts)

    def retract_row(self, row: Reminder) -> None:
        """An outbox row that quotes the member: not sent yet, it is dropped; sent, its post is edited in
        Slack; either way it keeps no copy of what it said."""
        if row.status in OPEN_STATUSES:
            row.status = "cancelled"
            row.last_error = "erased at the member's request"
        elif row.status == "sent" and not (self.slack_id and row.recipient == self.slack_id):
            self.retract(*self._where(row))  # (their own DMs are only scrubbed: `finish`)
        row.payload = None
        row.slack_permalink = None

    # --- the end ------------------------------------------------------------------------------------

    def finish(self) -> None:
        """After every step: scrub the outbox and the audit log of the member."""
        self._scrub_rows_to_them()
        self._scrub_rows_about_them()
        self._scrub_audit()

    def needles(self) -> list[str]:
        """What identifies the member or their words, as the JSON columns store it."""
        plain: list[str] = [self.slack_id or "", self.email or ""]
        if len(self.name) >= 4:  # shorter names would match unrelated words
            plain += [self.name, escape(self.name)]
        for text in self.texts:
            plain += fragments(text)
        found: dict[str, None] = {}
        for value in plain:
            if value:
                found[value] = None
                found[json.dumps(value)[1:-1]] = None  # as a JSON column stores it (\u00e1, \n, \")
        return list(found)

    def _where(self, row: Reminder) -> tuple[str | None, str | None]:
        """The channel and ts of the message a sent row posted or edited."""
        if row.method == POST:
            return row.slack_channel or row.recipient, row.slack_ts
        if row.method == UPDATE:
            args = (row.payload or {}).get("args") or {}
            channel, ts = args.get("channel"), args.get("ts")
            if ts == outbox.PARENT_TS and row.depends_on is not None:
                parent = self.session.get(Reminder, row.depends_on)
                if parent is None:
                    return None, None
                return parent.slack_channel or parent.recipient, parent.slack_ts
            return channel or row.slack_channel, ts
        return None, None  # an ephemeral message, a file, a Home tab, a response_url answer: nothing to edit

    def _scrub_rows_to_them(self) -> None:
        if not self.slack_id:
            return
        for row in self.session.scalars(select(Reminder).where(Reminder.recipient == self.slack_id)):
            if row.status in OPEN_STATUSES:
                row.status = "cancelled"
            row.recipient = ERASED_RECIPIENT
            row.dedupe_key = f"erased:{row.id}"
            row.slack_channel = None
            row.slack_ts = None
            row.slack_permalink = None
            row.claimed_by = None
            row.payload = None  # what was sent to them: their export, their name in a welcome…

    def _scrub_rows_about_them(self) -> None:
        needles = self.needles()
        stored = cast(Reminder.payload, Text)
        for start in range(0, len(needles), 50):
            mentions = [stored.contains(needle, autoescape=True) for needle in needles[start : start + 50]]
            for row in self.session.scalars(
                select(Reminder).where(Reminder.payload.is_not(None), or_(*mentions)).order_by(Reminder.id)
            ):
                self.retract_row(row)
        if self.slack_id:
            for row in self.session.scalars(
                select(Reminder).where(Reminder.dedupe_key.contains(self.slack_id, autoescape=True))
            ):
                row.dedupe_key = f"erased:{row.id}"

    def _scrub_audit(self) -> None:
        needles = self.needles()
        if not needles:
            return
        details = cast(AuditEntry.details, Text)
        for start in range(0, len(needles), 50):
            chunk = needles[start : start + 50]
            mentions = [details.contains(n, autoescape=True) for n in chunk]
            mentions += [AuditEntry.subject.contains(n, autoescape=True) for n in chunk]
            for entry in self.session.scalars(select(AuditEntry).where(or_(*mentions))):
                entry.subject = f"member #{self.member.id}" if self.member.id else ""
                entry.details = {"scrubbed": "erased at the member's request"}


def fragments(text: str) -> list[str]:
    """The beginnings of a text's lines, as typed and as escaped for Slack, long enough to be its own."""
    found: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if len(line) >= _MIN_FRAGMENT:
            found += [line[:_FRAGMENT], escape(line)[:_FRAGMENT]]
    return found


def covered_tables(steps: Iterable[Any]) -> set[str]:
    """The tables the registered erasure steps (and `finish`) answer for."""
    return {table for step in steps for table in step.tables} | KERNEL_TABLES
