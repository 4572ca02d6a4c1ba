"""Coaching (SPEC 4.3): coaches publish slots (/cba-slots), participants book them (/cba-book)."""

from __future__ import annotations

from bot.kernel.registry import Registry
from commands.coaching import demo, digest, exports, listeners, privacy, reminders, waitlist
from commands.coaching.service import REMINDER_KIND


def register(registry: Registry) -> None:
    listeners.register(registry)
    # Not quiet while away (SPEC 4.2): a session the member keeps is worth a reminder even on holiday.
    registry.reminder_kind(REMINDER_KIND, reminders.render_coaching)
    registry.exporter("bookings", exports.export_bookings)
    registry.demo_step(demo.coaching_demo)
    privacy.register(registry)
    digest.register(registry)
    # Held waitlist offers whose time ran out pass on (before the tick's delivery sends the next offer).
    registry.tick("coaching-waitlist-expiry", waitlist.expire_tick, order=50)
