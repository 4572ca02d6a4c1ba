"""Ask alumni (SPEC 4.5): /cba-ask, its buttons and modal, thread replies, the nudge by DM, escalation to organisers, export and demo."""

from __future__ import annotations

from bot.kernel import outbox
from bot.kernel.registry import Registry
from commands.questions import demo, digest, escalation, exports, listeners, nudge, posting, privacy, service, views


def register(registry: Registry) -> None:
    registry.command("/cba-ask", listeners.handle_command)
    registry.action(views.ANSWER_ACTION, listeners.answer_button)
    registry.action(views.RESOLVE_ACTION, listeners.resolve_button)
    registry.action(views.PAGE_PREVIOUS_ACTION, listeners.page_button)
    registry.action(views.PAGE_NEXT_ACTION, listeners.page_button)
    registry.view(views.ANSWER_VIEW, listeners.submit_answer)
    registry.event("message", listeners.thread_reply)
    registry.reminder_kind(service.NUDGE_KIND, nudge.render_nudge, quiet_while_away=True)
    registry.on_delivered(service.NUDGE_KIND, nudge.nudge_delivered)
    registry.reminder_kind(posting.POST_KIND, posting.render_post)
    registry.on_delivered(posting.POST_KIND, posting.post_delivered)
    registry.reminder_kind(posting.ANSWER_POST_KIND, outbox.render_message)
    registry.on_delivered(posting.ANSWER_POST_KIND, posting.answer_post_delivered)
    # Before the delivery tick (order 100), so that what it queues leaves in the same tick.
    registry.tick("questions-failed-posts", posting.report_failures, order=50)
    registry.tick("questions-escalation", escalation.escalate_due, order=50)
    registry.exporter("questions", exports.export_questions)
    registry.demo_step(demo.demo_question)
    privacy.register(registry)
    digest.register(registry)
