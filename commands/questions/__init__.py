"""Ask alumni (SPEC 4.5): /cba-ask, its buttons and modal, thread answers, the nudge, export and demo."""

from __future__ import annotations

from bot.kernel.registry import Registry
from commands.questions import demo, exports, listeners, nudge, service, views


def register(registry: Registry) -> None:
    registry.command("/cba-ask", listeners.handle_command)
    registry.action(views.ANSWER_ACTION, listeners.answer_button)
    registry.action(views.RESOLVE_ACTION, listeners.resolve_button)
    registry.action(views.PAGE_PREVIOUS_ACTION, listeners.page_button)
    registry.action(views.PAGE_NEXT_ACTION, listeners.page_button)
    registry.view(views.ANSWER_VIEW, listeners.submit_answer)
    registry.event("message", listeners.thread_reply)
    registry.reminder_kind(service.NUDGE_KIND, nudge.render_nudge)
    registry.exporter("questions", exports.export_questions)
    registry.demo_step(demo.demo_question)
