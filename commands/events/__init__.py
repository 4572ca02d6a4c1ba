"""Programme days, RSVP and check-in (SPEC 4.6), their reminders, attendance export and demo data."""

from __future__ import annotations

from bot.kernel.registry import Registry
from commands.events import demo, digest, exports, listeners, privacy, reminders, replan, service


def register(registry: Registry) -> None:
    listeners.register(registry)
    registry.reminder_kind(service.REMINDER_KIND, reminders.render_event_reminder, quiet_while_away=True)
    registry.tick("event-reminders-replan", replan.replan_future_events)
    registry.exporter("attendance", exports.export_attendance)
    registry.demo_step(demo.programme_days)
    privacy.register(registry)
    digest.register(registry)
