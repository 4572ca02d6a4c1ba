"""Everything /cba-ask makes the bot say, as outbox rows (SPEC 3, durable side effects).

A question, step by step:
1. The request's transaction stores the question, routes it, plans the nudge and queues one row of kind
   `question_post` (`queue_post`); when no alumni fits, the organisers' DM is queued at once too. The
   acknowledgement (`question #N`, how many alumni) comes from the database alone. A rolled-back request
   leaves no row, so no post can ever point to a question that does not exist.
2. The engine draws the post from the question at send time (`render_post`: a question resolved before
   its post went out is posted resolved), fetches its permalink, and in the transaction that marks the row
   sent runs `post_delivered`: channel, ts and link go onto the question, and the routed alumni's DMs (with
   the link) and the asker's "your question #N is posted: <link>" are queued.
3. If the post fails for good (archived channel, the bot cannot join…), the engine records the row as
   `failed`. `report_failures` (a scheduler tick, so it checks the recorded outcome and does not depend on
   any renderer) then tells the asker and the organisers, and still sends the routed alumni their DM,
   whose "Answer" button works without the thread. Each notice carries a dedupe key per recipient, so it
   is queued once, also with two bot processes. A failed answer post is handled the same way: the asker
   still hears of the answer.

Anonymous questions: the post and the alumni DMs show `views.public_asker`, never the asker.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.kernel import outbox
from bot.kernel.deps import Deps
from bot.kernel.kinds import UPDATE, Outgoing, Skip
from bot.kernel.planning import OPEN_STATUSES
from commands.questions import service, views
from storage.models import Answer, Member, Question, Reminder

log = logging.getLogger(__name__)

POST_KIND = "question_post"
ANSWER_POST_KIND = "question_answer_post"
# Subjects of the rows below. Not `service.SUBJECT` ("question"): answering or resolving a question cancels
# that subject's open reminders (the nudge), and must never cancel a post or a DM.
POST_SUBJECT = "question_post"
ANSWER_SUBJECT = "question_answer"
DM_SUBJECT = "question_dm"
# Failed posts older than this are not looked at again (they were reported long ago).
REPORT_WINDOW = timedelta(days=7)
ZONE = "zone"
# Dedupe keys of the escalation DMs: `question_escalation:<question id>:<organiser>`.
ESCALATION_KEY = "question_escalation"


# --- queuing (in the request's transaction) --------------------------------------------------------


def queue_post(session: Session, question: Question, now: datetime, zone: ZoneInfo) -> Reminder:
    """The question's post to its channel, drawn at send time (see `render_post`)."""
    assert question.channel_id, "a question is posted to its channel"
    return outbox.queue(
        session,
        question.channel_id,
        now=now,
        args={ZONE: zone.key},  # for `post_delivered`, which has no zone of its own
        kind=POST_KIND,
        subject=(POST_SUBJECT, question.id),
        key=f"{POST_KIND}:{question.id}",
        permalink=True,
    )


def post_row(session: Session, question_id: int) -> Reminder | None:
    return session.scalar(
        select(Reminder).where(Reminder.kind == POST_KIND, Reminder.subject_id == question_id).order_by(Reminder.id)
    )


def tell_organisers_no_match(session: Session, question: Question, organisers: Sequence[str], now: datetime) -> None:
    text, blocks = views.no_match_organisers(question)
    for organiser in organisers:
        outbox.tell(session, organiser, text, blocks, now=now, subject=(DM_SUBJECT, question.id))


def tell_organisers_escalated(session: Session, question: Question, organisers: Sequence[str], now: datetime) -> int:
    """Each organiser's DM about a question still unanswered after CBA_QUESTION_ESCALATION, once each."""
    text, blocks = views.escalation_dm(
        question, service.routed_members(session, question.id), nudged=question.nudged, now=now
    )
    told = 0
    for organiser in organisers:
        key = f"{ESCALATION_KEY}:{question.id}:"
        if _dm(session, organiser, text, blocks, now=now, question_id=question.id, key=key):
            told += 1
    return told


def refresh_post(session: Session, question: Question, now: datetime, zone: ZoneInfo) -> Reminder | None:
    """Show the question's new state (resolved) in its channel post.

    Posted: a chat.update of its ts. Still queued: an update of the post row once it is sent (its
    renderer will already draw the new state; the update covers a post drawn just before the change).
    A post that failed has nothing to update.
    """
    text, blocks = views.question_message(question, zone)
    if question.channel_id and question.message_ts:
        return outbox.update(session, text, blocks, now=now, channel=question.channel_id, ts=question.message_ts)
    row = post_row(session, question.id)
    if row is not None and row.status in OPEN_STATUSES:
        return outbox.update(session, text, blocks, now=now, of=row)
    return None


def queue_answer_post(
    session: Session, question: Question, answer: Answer, author: Member | None, now: datetime
) -> Reminder | None:
    """An answer from the modal, into the question's thread; None while the question has no post yet."""
    if not question.channel_id or not question.message_ts:
        return None
    return outbox.tell(
        session,
        question.channel_id,
        views.answer_thread_post(answer, author),
        now=now,
        thread_ts=question.message_ts,
        kind=ANSWER_POST_KIND,
        subject=(ANSWER_SUBJECT, answer.id),
        permalink=True,
    )


def tell_asker_of_answer(session: Session, question: Question, answer: Answer, now: datetime) -> Reminder | None:
    """The asker hears of each answer by DM, with a link (anonymous askers too: the DM is theirs alone)."""
    asker = _asker(question)
    if asker is None:
        return None
    text, blocks = views.answer_dm(question, answer, answer.author)
    return outbox.tell(session, asker, text, blocks, now=now, subject=(DM_SUBJECT, question.id))


# --- at send time ----------------------------------------------------------------------------------


def render_post(session: Session, row: Reminder, now: datetime, zone: ZoneInfo) -> Outgoing | Skip:
    question = session.get(Question, row.subject_id)
    if question is None:
        return Skip("the question no longer exists")
    text, blocks = views.question_message(question, zone)
    return Outgoing(text, _dicts(blocks), permalink=True)


def post_delivered(session: Session, row: Reminder) -> None:
    """The post is out: remember where, then ask the routed alumni and tell the asker, with the link."""
    question = session.get(Question, row.subject_id)
    if question is None or not row.slack_ts:
        return
    now = row.sent_at or question.created_at
    service.attach_message(question, row.slack_channel or row.recipient, row.slack_ts, row.slack_permalink)
    session.flush()
    routed = _ask_routed(session, question, now)
    asker = _asker(question)
    if asker is not None:
        text = views.posted_dm(question, routed)
        outbox.tell(session, asker, text, now=now, subject=(DM_SUBJECT, question.id))
    if question.status == "resolved" and not _update_pending(session, row):
        # Resolved while the post was on its way and its update of the post could not follow: do it now.
        zone = str(((row.payload or {}).get("args") or {}).get(ZONE) or "UTC")
        refresh_post(session, question, now, ZoneInfo(zone))


def answer_post_delivered(session: Session, row: Reminder) -> None:
    """A modal answer is in the thread: store its ts and link, then DM the asker that link."""
    answer = session.get(Answer, row.subject_id)
    if answer is None:
        return
    service.set_answer_message(session, answer.id, row.slack_ts, row.slack_permalink)
    question = session.get(Question, answer.question_id)
    if question is not None:
        tell_asker_of_answer(session, question, answer, row.sent_at or answer.created_at)


def _ask_routed(session: Session, question: Question, now: datetime, *, key: str | None = None) -> int:
    text, blocks = views.alumni_dm(question)
    told = 0
    for member in service.routed_members(session, question.id):
        if _dm(session, member, text, blocks, now=now, question_id=question.id, key=key):
            told += 1
    return told


def _update_pending(session: Session, row: Reminder) -> bool:
    """Whether an update of this post is queued (or done) through the post row itself."""
    found = session.scalar(
        select(Reminder.id).where(
            Reminder.depends_on == row.id, Reminder.method == UPDATE, Reminder.status.in_((*OPEN_STATUSES, "sent"))
        )
    )
    return found is not None


# --- permanent failures ----------------------------------------------------------------------------


def report_failures(deps: Deps) -> None:
    """Tick: a question or answer post that failed for good is reported to the asker and the organisers."""
    now = deps.clock()
    try:
        with deps.sessions.begin() as session:
            _report_failures(session, service.organiser_ids(session, deps.settings.organisers), now)
    except IntegrityError:
        log.info("failed question posts were reported by another process")


def _report_failures(session: Session, organisers: Sequence[str], now: datetime) -> None:
    failed = session.scalars(
        select(Reminder)
        .where(
            Reminder.kind.in_((POST_KIND, ANSWER_POST_KIND)),
            Reminder.status == "failed",
            Reminder.due_at >= now - REPORT_WINDOW,
        )
        .order_by(Reminder.id)
    ).all()
    for row in failed:
        prefix = f"{row.kind}_failed:{row.subject_id}:"
        reported = session.scalar(
            select(Reminder.id).where(Reminder.dedupe_key.startswith(prefix, autoescape=True)).limit(1)
        )
        if reported is not None:
            continue
        error = row.last_error or "unknown error"
        if row.kind == POST_KIND:
            _report_failed_post(session, row, error, organisers, now, prefix)
        else:
            _report_failed_answer(session, row, now, prefix)


def _report_failed_post(
    session: Session, row: Reminder, error: str, organisers: Sequence[str], now: datetime, prefix: str
) -> None:
    question = session.get(Question, row.subject_id)
    if question is None:
        return
    log.warning("question #%s could not be posted to its channel: %s", question.id, error)
    routed = _ask_routed(session, question, now, key=prefix + "alumni:")
    asker = _asker(question)
    if asker is not None:
        text = views.post_failed_asker(question, row.recipient, error, routed)
        _dm(session, asker, text, None, now=now, question_id=question.id, key=prefix + "asker:")
    text = views.post_failed_organisers(question, row.recipient, error)
    for organiser in organisers:
        _dm(session, organiser, text, None, now=now, question_id=question.id, key=prefix + "organiser:")


def _report_failed_answer(session: Session, row: Reminder, now: datetime, prefix: str) -> None:
    """The answer is stored but not in the thread: the asker still gets it by DM (linking the question)."""
    answer = session.get(Answer, row.subject_id)
    question = session.get(Question, answer.question_id) if answer is not None else None
    if answer is None or question is None:
        return
    asker = _asker(question)
    if asker is not None:
        text, blocks = views.answer_dm(question, answer, answer.author)
        _dm(session, asker, text, blocks, now=now, question_id=question.id, key=prefix + "asker:")


# --- helpers ---------------------------------------------------------------------------------------


def _asker(question: Question) -> Member | None:
    asker = question.asker
    if asker is None or asker.erased_at is not None or not asker.slack_id:
        return None
    return asker


def _dm(
    session: Session,
    to: Member | str,
    text: str,
    blocks: Sequence[Any] | None,
    *,
    now: datetime,
    question_id: int,
    key: str | None = None,
) -> Reminder | None:
    """A DM about a question; with `key`, a once-only one (`key` + the recipient is its dedupe key)."""
    recipient = to if isinstance(to, str) else (to.slack_id if to.erased_at is None else None)
    if not recipient:
        return None
    dedupe_key = f"{key}{recipient}" if key else None
    if dedupe_key and session.scalar(select(Reminder.id).where(Reminder.dedupe_key == dedupe_key)) is not None:
        return None  # already queued (the same person twice in one list)
    return outbox.queue(
        session,
        recipient,
        now=now,
        text=text,
        blocks=blocks,
        subject=(DM_SUBJECT, question_id),
        key=dedupe_key,
    )


def _dicts(blocks: Sequence[Any]) -> list[dict[str, Any]]:
    return [block.to_dict() if hasattr(block, "to_dict") else dict(block) for block in blocks]
