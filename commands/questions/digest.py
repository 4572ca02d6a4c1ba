"""The questions' part of the organisers' digest: questions still unanswered after the nudge delay."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select

from bot.kernel.digest import DigestItem, DigestPart, DigestScope, command
from bot.kernel.registry import Registry
from commands.common.text import escape, truncate
from storage.models import Answer, Question, QuestionRouting, RoleGrant

ITEMS = 20
SNIPPET = 80

# What the questions feature records of a question's fate, read where it exists: the first answer by an
# alumnus, coach or organiser (`answered_at`) and the organisers' escalation DM (`escalated_at`) come with
# the escalation work of issue 12; without them, any stored answer counts and nothing shows as escalated.
ANSWERED_AT: Any = getattr(Question, "answered_at", None)
ESCALATED_AT: Any = getattr(Question, "escalated_at", None)


def _cohort_of_askers(scope: DigestScope) -> dict[int, int]:
    """Asker -> the cohort they take part in (read once per digest)."""
    found = scope.memo.get("questions_asker_cohort")
    if found is None:
        found = {}
        for member_id, cohort_id in scope.session.execute(
            select(RoleGrant.member_id, RoleGrant.cohort_id)
            .where(RoleGrant.role == "participant", RoleGrant.cohort_id.is_not(None))
            .order_by(RoleGrant.id)
        ):
            found.setdefault(member_id, cohort_id)
        scope.memo["questions_asker_cohort"] = found
    return found


def _snippet(text: str) -> str:
    """The question's first line, short: enough to recognise it (the asker is never named here)."""
    lines = text.strip().splitlines()
    return escape(truncate(lines[0].strip(), SNIPPET)) if lines else ""


def unanswered_section(scope: DigestScope) -> DigestPart:
    """Open questions older than CBA_QUESTION_NUDGE without an answer, oldest first, marked when escalated,
    under the asker's cohort (questions of askers in no cohort, and of erased askers, across the Academy)."""
    cutoff = scope.now - scope.settings.question_nudge
    cohorts = _cohort_of_askers(scope)
    wanted = scope.cohort.id if scope.cohort is not None else None
    query = select(Question).where(Question.status == "open", Question.created_at <= cutoff)
    if ANSWERED_AT is not None:
        query = query.where(ANSWERED_AT.is_(None))
    else:
        query = query.where(~exists().where(Answer.question_id == Question.id))
    items: list[DigestItem] = []
    total = 0
    for question in scope.session.scalars(query.order_by(Question.created_at, Question.id)):
        if cohorts.get(question.asker_id or 0) != wanted:
            continue
        total += 1
        if len(items) >= ITEMS:
            continue
        asked = len(
            scope.session.scalars(select(QuestionRouting.id).where(QuestionRouting.question_id == question.id)).all()
        )
        state = [f"asked {scope.date(question.created_at)}", f"{asked} alumn{'us' if asked == 1 else 'i'} asked"]
        if question.nudged:
            state.append("nudged")
        escalated = getattr(question, ESCALATED_AT.key, None) if ESCALATED_AT is not None else None
        if escalated is not None:
            state.append(f"*escalated* {scope.date(escalated)}")
        where = f"answer in <{question.permalink}|its thread>" if question.permalink else command("/cba-ask list")
        items.append(DigestItem(f"question #{question.id} “{_snippet(question.text)}” ({', '.join(state)})", where))
    return DigestPart(items, total=total, more=command("/cba-ask list"))


def register(registry: Registry) -> None:
    registry.digest_section("questions", unanswered_section, title="Questions unanswered", order=10)
