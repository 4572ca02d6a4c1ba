"""Tell someone something: outbox rows written in the caller's transaction, delivered after the commit.

This is the one way a feature makes the bot say, show or send anything because something changed
(SPEC 3, durable side effects). Each function adds a row to the outbox in the session it is given;
nothing reaches Slack unless that transaction commits, and once it has, the delivery engine sends the
row (woken at once in this process; the scheduler's tick is the safety net), retries what can be
retried, records what cannot, and sends it once even with several bot processes.

Only `views.open`/`views.push` are called directly, right after the commit, because they need the
request's trigger.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.kinds import EPHEMERAL, POST, PUBLISH, RESPOND, UPDATE, UPLOAD, Outgoing, Skip
from storage.models import Member, Reminder

MESSAGE_KIND = "message"
HOME_KIND = "home"
# In a Home refresh's payload: the recipient is an organiser by configuration (CBA_ORGANISERS).
ORGANISER_MARK = "organiser"
# Stands for the slack_ts of the row this one depends on (a thread reply, an edit of that post).
PARENT_TS = "@parent"
# Rows that answer the caller (a refusal, a button's outcome): not side effects of a change, and wiped
# of text and recipient once delivered (nothing about the caller needs keeping).
ANSWER_KIND = "answer"
# The session flag that says "this transaction queued something": the request adapter wakes the engine.
QUEUED = "cba_outbox_queued"

BlockLike = Any  # a slack_sdk Block or its dict
Recipient = str | Member | None


def queue(
    session: Session,
    recipient: str,
    *,
    now: datetime,
    method: str = POST,
    text: str = "",
    blocks: Sequence[BlockLike] | None = None,
    args: dict[str, Any] | None = None,
    kind: str = MESSAGE_KIND,
    subject: tuple[str, int] = ("message", 0),
    after: Reminder | None = None,
    key: str | None = None,
    permalink: bool = False,
) -> Reminder:
    """Add one outbox row (the lower-level form of the helpers below)."""
    payload: dict[str, Any] = {"text": text, "blocks": _dicts(blocks), "args": args or {}}
    if permalink:
        payload["permalink"] = True
    row = Reminder(
        dedupe_key=key or f"{kind}:{uuid.uuid4().hex}",
        kind=kind,
        subject_type=subject[0],
        subject_id=subject[1],
        offset_label="",
        recipient=recipient,
        due_at=now,
        status="pending",
        attempts=0,
        method=method,
        payload=payload,
        depends_on=after.id if after is not None else None,
        created_at=now,
    )
    session.add(row)
    session.flush()  # its id, for rows that depend on it
    session.info[QUEUED] = True
    return row


def tell(
    session: Session,
    to: Recipient,
    text: str,
    blocks: Sequence[BlockLike] | None = None,
    *,
    now: datetime,
    thread_of: Reminder | None = None,
    thread_ts: str | None = None,
    subject: tuple[str, int] = ("message", 0),
    kind: str = MESSAGE_KIND,
    permalink: bool = False,
) -> Reminder | None:
    """A message to a member (a DM) or a channel; in a thread when `thread_ts` or `thread_of` is given.

    None when there is nobody to tell (an erased member has no Slack ID).
    """
    recipient = _recipient(to)
    if recipient is None:
        return None
    args: dict[str, Any] = {}
    if thread_of is not None:
        args["thread_ts"] = PARENT_TS
    elif thread_ts:
        args["thread_ts"] = thread_ts
    return queue(
        session,
        recipient,
        now=now,
        text=text,
        blocks=blocks,
        args=args,
        kind=kind,
        subject=subject,
        after=thread_of,
        permalink=permalink,
    )


def tell_ephemeral(
    session: Session,
    channel: str,
    user: str,
    text: str,
    blocks: Sequence[BlockLike] | None = None,
    *,
    now: datetime,
    kind: str = MESSAGE_KIND,
) -> Reminder:
    """A message only `user` sees, in `channel` (a DM channel works too)."""
    args = {"channel": channel}
    return queue(session, user, now=now, method=EPHEMERAL, text=text, blocks=blocks, args=args, kind=kind)


def update(
    session: Session,
    text: str,
    blocks: Sequence[BlockLike] | None = None,
    *,
    now: datetime,
    channel: str | None = None,
    ts: str | None = None,
    of: Reminder | None = None,
) -> Reminder | None:
    """Edit a message the bot posted: known by `channel` and `ts`, or the outbox row `of` that posts it."""
    if of is not None:
        return queue(
            session, of.recipient, now=now, method=UPDATE, text=text, blocks=blocks, args={"ts": PARENT_TS}, after=of
        )
    if not channel or not ts:
        return None
    return queue(
        session, channel, now=now, method=UPDATE, text=text, blocks=blocks, args={"channel": channel, "ts": ts}
    )


def upload(
    session: Session,
    to: Recipient,
    *,
    filename: str,
    content: str | bytes,
    now: datetime,
    title: str | None = None,
    comment: str | None = None,
) -> Reminder | None:
    """Share a file in a member's DM or a channel (files upload v2)."""
    recipient = _recipient(to)
    if recipient is None:
        return None
    args: dict[str, Any] = {"filename": filename, "title": title or filename}
    if isinstance(content, bytes):
        args["content_b64"] = base64.b64encode(content).decode("ascii")
    else:
        args["content"] = content
    if comment:
        args["initial_comment"] = comment
    return queue(session, recipient, now=now, method=UPLOAD, args=args)


def publish_home(
    session: Session, to: Recipient, *, now: datetime, organisers: frozenset[str] = frozenset()
) -> Reminder | None:
    """Refresh a member's Home tab. Drawn at send time, so one pending refresh per member is enough.

    `organisers` (the settings' CBA_ORGANISERS) lets the renderer know a recipient is an organiser by
    configuration, which the database does not record; the mark sticks to the pending refresh.
    """
    recipient = _recipient(to)
    if recipient is None:
        return None
    pending = session.scalar(
        select(Reminder).where(
            Reminder.kind == HOME_KIND, Reminder.recipient == recipient, Reminder.status == "pending"
        )
    )
    if pending is not None:
        session.info[QUEUED] = True
        if recipient in organisers and not (pending.payload or {}).get(ORGANISER_MARK):
            pending.payload = {**(pending.payload or {}), ORGANISER_MARK: True}
        return None
    row = queue(session, recipient, now=now, method=PUBLISH, kind=HOME_KIND, subject=("home", 0))
    if recipient in organisers:
        row.payload = {**(row.payload or {}), ORGANISER_MARK: True}
    return row


def respond(
    session: Session,
    response_url: str,
    user: str,
    text: str,
    blocks: Sequence[BlockLike] | None = None,
    *,
    now: datetime,
    replace_original: bool = False,
) -> Reminder:
    """Answer the caller through a request's response_url (30 minutes, 5 uses); the engine falls back to a DM."""
    args = {"url": response_url, "replace_original": replace_original}
    return queue(session, user, now=now, method=RESPOND, text=text, blocks=blocks, args=args, kind=ANSWER_KIND)


def render_message(session: Session, row: Reminder, now: datetime, zone: ZoneInfo) -> Outgoing | Skip:
    """The renderer of one-off rows: what was queued, with the parent's ts filled in."""
    payload = row.payload or {}
    args = dict(payload.get("args") or {})
    if row.depends_on is not None:
        parent = session.get(Reminder, row.depends_on)
        if parent is None or parent.status != "sent" or not parent.slack_ts:
            return Skip(f"the message it depends on was not delivered ({parent.status if parent else 'gone'})")
        for name in ("thread_ts", "ts"):
            if args.get(name) == PARENT_TS:
                args[name] = parent.slack_ts
        if row.method == UPDATE:
            args.setdefault("channel", parent.slack_channel or parent.recipient)
    return Outgoing(
        text=str(payload.get("text") or ""),
        blocks=list(payload.get("blocks") or []),
        method=row.method,
        args=args,
        permalink=bool(payload.get("permalink")),
    )


def forget_answer(session: Session, row: Reminder) -> None:
    """Delivered hook of answers: keep that an answer went out, not what it said or to whom."""
    row.payload = None
    row.recipient = "answered"
    row.slack_channel = None


def _recipient(to: Recipient) -> str | None:
    if isinstance(to, Member):
        return to.slack_id if to.erased_at is None and to.slack_id else None
    return to or None


def _dicts(blocks: Sequence[BlockLike] | None) -> list[dict[str, Any]]:
    return [block.to_dict() if hasattr(block, "to_dict") else dict(block) for block in blocks or []]
