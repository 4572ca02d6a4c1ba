"""The delivery engine's own registration: it runs on every tick after every hook that plans, and sends
the one-off messages the outbox helpers queue."""

from __future__ import annotations

from bot.kernel.delivery import deliver_reminders
from bot.kernel.outbox import ANSWER_KIND, MESSAGE_KIND, forget_answer, render_message
from bot.kernel.registry import Registry


def register(registry: Registry) -> None:
    registry.tick("deliver", deliver_reminders, order=100)
    registry.reminder_kind(MESSAGE_KIND, render_message)
    registry.reminder_kind(ANSWER_KIND, render_message)
    registry.on_delivered(ANSWER_KIND, forget_answer)
