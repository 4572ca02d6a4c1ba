"""The questions' part of the organisers' digest: questions still unanswered after the nudge delay."""

from __future__ import annotations

from sqlalchemy import select

from bot.kernel.digest import DigestItem, DigestPart, DigestScope, command
from bot.kernel.registry import Registry
from commands.common.text import escape, truncate
from commands.questions import service
from storage.models import Question, QuestionRouting, RoleGrant

ITEMS = 20
SNIPPET = 80


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
    """Open questions older than CBA_QUESTION_NUDGE without an answer, oldest first, under the asker's cohort
    (questions of askers in no cohort, and of erased askers, under "across the Academy")."""
    cutoff = scope.now - scope.settings.question_nudge
    cohorts = _cohort_of_askers(scope)
    wanted = scope.cohort.id if scope.cohort is not None else None
    questions = scope.session.scalars(
        select(Question).where(Question.status == "open", Question.created_at <= cutoff).order_by(Question.created_at)
    )
    items: list[DigestItem] = []
    total = 0
    for question in questions:
        if cohorts.get(question.asker_id or 0) != wanted or service.answer_count(scope.session, question.id):
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
        where = f"answer in <{question.permalink}|its thread>" if question.permalink else command("/cba-ask list")
        items.append(DigestItem(f"question #{question.id} “{_snippet(question.text)}” ({', '.join(state)})", where))
    return DigestPart(items, total=total, more=command("/cba-ask list"))


def register(registry: Registry) -> None:
    registry.digest_section("questions", unanswered_section, title="Questions unanswered", order=10)
