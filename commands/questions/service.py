"""Ask alumni: the rules. Takes a session, the caller and plain arguments; flushes, never commits.

No Slack here: what is said goes through the outbox (commands.questions.posting).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from bot.kernel import planning
from commands.common import availability
from commands.common.actors import Actor
from commands.common.errors import Conflict, NotFound, NotPermitted, UsageError
from commands.questions import matching
from commands.questions.parse import clean, usage
from storage.models import Answer, Member, Question, QuestionRouting, RoleGrant

MAX_ROUTED = 5
NUDGE_KIND = "question_nudge"
# A reply by someone holding one of these answers the question; anybody else's is stored and relayed only.
ANSWERING_ROLES = ("alumni", "coach", "organiser")
# Questions escalated by one scheduler tick at most (the rest follow in the next ticks).
ESCALATION_BATCH = 50
SUBJECT = "question"
PAGE_SIZE = 5
MAX_ANSWER_LENGTH = 3000


# --- asking ---------------------------------------------------------------------------------------


def ask(session: Session, actor: Actor, text: str, *, anonymous: bool, now: datetime, channel_id: str) -> Question:
    """Store a new question for `channel_id` (not yet posted: see `attach_message`)."""
    question = Question(
        asker_id=actor.member.id,
        anonymous=anonymous,
        text=text,
        created_at=now,
        channel_id=channel_id,
        status="open",
        nudged=False,
    )
    session.add(question)
    session.flush()
    return question


def attach_message(question: Question, channel_id: str, ts: str, permalink: str | None) -> None:
    question.channel_id = channel_id
    question.message_ts = ts
    question.permalink = permalink


def plan_nudges(session: Session, question: Question, routed: list[QuestionRouting], after: timedelta) -> None:
    """One reminder per routed alumnus, by DM, `after` the question was asked (CBA_QUESTION_NUDGE).

    Whether each still goes out is decided at send time (commands.questions.nudge).
    """
    for routing in routed:
        slack_id = routing.member.slack_id
        if not slack_id:
            continue
        planning.plan_once(
            session,
            kind=NUDGE_KIND,
            subject_type=SUBJECT,
            subject_id=question.id,
            label=planning.offset_label(after),
            recipient=slack_id,
            due_at=question.created_at + after,
        )


# --- routing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    member: Member
    score: int
    times_asked: int  # routings in the last 30 days (CAPACITY_WINDOW), this question's left out
    last_asked: datetime | None


def candidates(session: Session, question: Question, zone: ZoneInfo) -> list[Candidate]:
    """Alumni who may get the question when it is asked (SPEC 4.5): they accept questions, are not erased,
    did not ask it, are not away (by their own calendar) and are under their capacity (routings in the
    last 30 days); with their match and that recent load. `zone`: CBA_TIMEZONE, for members without one."""
    question_stems = matching.stems(question.text)
    at = question.created_at
    alumni = session.scalars(
        select(Member)
        .where(
            exists().where(RoleGrant.member_id == Member.id, RoleGrant.role == "alumni"),
            Member.erased_at.is_(None),
            Member.slack_id.is_not(None),
            or_(Member.accepts_questions.is_(None), Member.accepts_questions.is_(True)),
            or_(Member.question_capacity.is_(None), Member.question_capacity > 0),
        )
        .order_by(Member.id)
    ).all()
    load = {
        member_id: (count, last)
        for member_id, count, last in session.execute(
            select(QuestionRouting.member_id, func.count(QuestionRouting.id), func.max(QuestionRouting.asked_at))
            .where(
                QuestionRouting.question_id != question.id,
                QuestionRouting.asked_at > at - availability.CAPACITY_WINDOW,
            )
            .group_by(QuestionRouting.member_id)
        )
    }
    found = []
    for member in alumni:
        if member.id == question.asker_id or availability.is_away(member, at, zone):
            continue
        times, last = load.get(member.id, (0, None))
        if times >= availability.capacity_of(member):
            continue
        profile = matching.Profile(member.id, tuple(member.expertise or ()), tuple(member.sectors or ()), member.bio)
        found.append(Candidate(member, matching.score(question_stems, profile), times, last))
    return found


def rank(found: list[Candidate], limit: int = MAX_ROUTED) -> list[Candidate]:
    """Of those who match at all: the fewest routings in the last 30 days first (load spread, SPEC 4.5), then
    the best match, then whoever was asked least recently; the member id keeps ties stable."""
    matched = [c for c in found if c.score > 0]
    never = datetime.min.replace(tzinfo=None)

    def key(c: Candidate) -> tuple[int, int, datetime, int]:
        last = c.last_asked.replace(tzinfo=None) if c.last_asked else never
        return (c.times_asked, -c.score, last, c.member.id)

    return sorted(matched, key=key)[:limit]


def route(session: Session, question: Question, now: datetime, zone: ZoneInfo) -> list[QuestionRouting]:
    """Choose up to 5 alumni for the question and record them (the DMs go out after commit)."""
    rows = []
    for position, candidate in enumerate(rank(candidates(session, question, zone)), start=1):
        row = QuestionRouting(
            question_id=question.id, member_id=candidate.member.id, rank=position, score=candidate.score, asked_at=now
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def routed_members(session: Session, question_id: int) -> list[Member]:
    return list(
        session.scalars(
            select(Member)
            .join(QuestionRouting, QuestionRouting.member_id == Member.id)
            .where(QuestionRouting.question_id == question_id, Member.erased_at.is_(None), Member.slack_id.is_not(None))
            .order_by(QuestionRouting.rank)
        )
    )


# --- looking up -----------------------------------------------------------------------------------


def get_question(session: Session, question_id: int) -> Question:
    question = session.get(Question, question_id)
    if question is None:
        raise NotFound("question", question_id, usage=usage())
    return question


def question_for_thread(session: Session, channel_id: str, thread_ts: str) -> Question | None:
    return session.scalar(select(Question).where(Question.channel_id == channel_id, Question.message_ts == thread_ts))


def is_asker(actor: Actor, question: Question) -> bool:
    return question.asker_id is not None and question.asker_id == actor.member.id


def may_see_asker(actor: Actor | None, question: Question) -> bool:
    """Anonymous askers are known to organisers (and to themselves), nobody else."""
    if not question.anonymous:
        return True
    return actor is not None and (actor.has("organiser") or is_asker(actor, question))


def organiser_ids(session: Session, configured: frozenset[str]) -> list[str]:
    granted = session.scalars(
        select(Member.slack_id).join(RoleGrant, RoleGrant.member_id == Member.id).where(RoleGrant.role == "organiser")
    )
    return sorted({*configured, *(slack_id for slack_id in granted if slack_id)})


# --- resolving ------------------------------------------------------------------------------------


def resolve(session: Session, actor: Actor, question_id: int, now: datetime) -> Question:
    question = get_question(session, question_id)
    if not is_asker(actor, question) and not actor.has("organiser"):
        raise NotPermitted("organiser", action=f"resolve question #{question.id} (only its asker or an organiser may)")
    if question.status == "resolved":
        raise Conflict(f"question #{question.id} is already resolved.")
    question.status = "resolved"
    question.resolved_at = now
    question.resolved_by_id = actor.member.id
    planning.cancel_reminders(session, subject_type=SUBJECT, subject_id=question.id)
    session.flush()
    return question


# --- answering ------------------------------------------------------------------------------------


def check_answer_text(text: str | None) -> str:
    text = clean(text)
    if len(text) < 2:
        raise UsageError("An answer needs some text.")
    if len(text) > MAX_ANSWER_LENGTH:
        raise UsageError(f"An answer can be at most {MAX_ANSWER_LENGTH} characters.")
    return text


def check_may_answer(actor: Actor, question: Question) -> None:
    if is_asker(actor, question):
        raise Conflict(f"You asked question #{question.id}: the answers come from the alumni.")


def answers_question(actor: Actor) -> bool:
    """Whether what this caller writes under a question answers it (a participant's "+1" does not)."""
    return actor.has(*ANSWERING_ROLES)


def add_answer(
    session: Session,
    question: Question,
    author: Member,
    text: str,
    *,
    answering: bool,
    source: str,
    now: datetime,
    slack_ts: str | None = None,
    permalink: str | None = None,
) -> Answer | None:
    """Store a reply; None if this Slack message is already stored (Slack retries, two event ids).

    An `answering` one (by an alumnus, coach or organiser) makes the question answered: no nudge, no
    escalation any more.
    """
    if slack_ts is not None:
        duplicate = session.scalar(
            select(Answer.id).where(Answer.question_id == question.id, Answer.slack_ts == slack_ts)
        )
        if duplicate is not None:
            return None
    answer = Answer(
        question_id=question.id,
        author_id=author.id,
        text=text,
        source=source,
        slack_ts=slack_ts,
        permalink=permalink,
        created_at=now,
        answering=answering,
    )
    session.add(answer)
    if answering and question.answered_at is None:
        question.answered_at = now
        planning.cancel_reminders(session, subject_type=SUBJECT, subject_id=question.id)
    session.flush()
    return answer


def set_answer_message(session: Session, answer_id: int, ts: str | None, permalink: str | None) -> Answer | None:
    answer = session.get(Answer, answer_id)
    if answer is not None:
        answer.slack_ts = ts
        answer.permalink = permalink
        session.flush()
    return answer


# --- escalation -----------------------------------------------------------------------------------


def due_for_escalation(session: Session, asked_before: datetime, limit: int = ESCALATION_BATCH) -> list[Question]:
    """Open questions asked before `asked_before` that nobody answered and nobody escalated yet."""
    return list(
        session.scalars(
            select(Question)
            .where(
                Question.status == "open",
                Question.answered_at.is_(None),
                Question.escalated_at.is_(None),
                Question.created_at <= asked_before,
            )
            .order_by(Question.created_at, Question.id)
            .limit(limit)
        )
    )


def claim_escalation(session: Session, question: Question, now: datetime) -> bool:
    """Mark the question escalated unless another process just did (one conditional UPDATE decides)."""
    claimed = session.execute(
        update(Question)
        .where(Question.id == question.id, Question.escalated_at.is_(None), Question.answered_at.is_(None))
        .values(escalated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return False
    session.refresh(question)
    return True


# --- listing and searching ------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    questions: list[Question]
    page: int
    total: int
    per_page: int = PAGE_SIZE

    @property
    def has_previous(self) -> bool:
        return self.page > 0

    @property
    def has_next(self) -> bool:
        return (self.page + 1) * self.per_page < self.total


def open_questions(session: Session, page: int = 0, per_page: int = PAGE_SIZE) -> Page:
    where = Question.status == "open"
    total = session.scalar(select(func.count(Question.id)).where(where)) or 0
    page = _clamp(page, total, per_page)
    rows = session.scalars(
        select(Question)
        .where(where)
        .options(selectinload(Question.answers))
        .order_by(Question.created_at.desc(), Question.id.desc())
        .offset(page * per_page)
        .limit(per_page)
    ).all()
    return Page(list(rows), page, total, per_page)


def _like_term(word: str) -> str:
    term = matching.stem(word)
    if len(term) > 4 and term[-1] in "ye":
        term = term[:-1]
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_terms(text: str) -> list[str]:
    """The words searched for: without stopwords, unless the text is only stopwords."""
    found = list(dict.fromkeys(matching.words(text)))
    if not found:
        found = list(dict.fromkeys(w.casefold() for w in text.split() if w.strip()))
    return found[:10]


def search(session: Session, text: str, page: int = 0, per_page: int = PAGE_SIZE) -> Page:
    """Past questions (open or resolved) whose text or answers contain every word (stemmed)."""
    terms = search_terms(text)
    if not terms:
        raise UsageError("Which words should I search for?", usage=usage())
    conditions = []
    for word in terms:
        like = _like_term(word)
        conditions.append(
            or_(
                Question.text.ilike(like, escape="\\"),
                exists().where(Answer.question_id == Question.id, Answer.text.ilike(like, escape="\\")),
            )
        )
    where = and_(*conditions)
    total = session.scalar(select(func.count(Question.id)).where(where)) or 0
    page = _clamp(page, total, per_page)
    rows = session.scalars(
        select(Question)
        .where(where)
        .options(selectinload(Question.answers).selectinload(Answer.author))
        .order_by(Question.created_at.desc(), Question.id.desc())
        .offset(page * per_page)
        .limit(per_page)
    ).all()
    return Page(list(rows), page, total, per_page)


def _clamp(page: int, total: int, per_page: int) -> int:
    last = max(0, (total - 1) // per_page)
    return min(max(0, page), last)


def questions_asked_by(session: Session, member_id: int, *, include_anonymous: bool) -> list[Question]:
    """For profiles and the Home tab: others see only the member's named questions."""
    statement = select(Question).where(Question.asker_id == member_id)
    if not include_anonymous:
        statement = statement.where(Question.anonymous.is_(False))
    return list(session.scalars(statement.order_by(Question.created_at.desc())))


def open_questions_matching(session: Session, member: Member, limit: int = 5, scan: int = 200) -> list[Question]:
    """For the App Home of an alumni: recent open questions that match their profile, best first.

    The member's own questions are left out; nothing here names an asker (views decide that).
    """
    profile = matching.Profile(member.id, tuple(member.expertise or ()), tuple(member.sectors or ()), member.bio)
    recent = session.scalars(
        select(Question)
        .where(Question.status == "open", or_(Question.asker_id.is_(None), Question.asker_id != member.id))
        .order_by(Question.created_at.desc(), Question.id.desc())
        .limit(scan)
    ).all()
    scored = [(matching.score(matching.stems(q.text), profile), q) for q in recent]
    return [q for points, q in sorted(scored, key=lambda pair: -pair[0]) if points > 0][:limit]
