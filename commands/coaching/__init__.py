"""Coaching (SPEC 4.3): coaches publish slots (/cba-slots), participants book them (/cba-book)."""

from __future__ import annotations

from bot.kernel.registry import Registry
from commands.coaching import demo, digest, exports, listeners, privacy, reminders
from commands.coaching.service import REMINDER_KIND


def register(registry: Registry) -> None:
    listeners.register(registry)
    # Not quiet while away (SPEC 4.2): a session the member keeps is worth a reminder even on holiday.
    registry.reminder_kind(REMINDER_KIND, reminders.render_coaching)
    registry.exporter("bookings", exports.export_bookings)
    registry.demo_step(demo.coaching_demo)
    privacy.register(registry)
    digest.register(registry)
