"""Homework (SPEC 4.4): assignments, versioned submissions, late flags, feedback and reminders."""

from __future__ import annotations

from bot.kernel.registry import Registry
from commands.homework import demo, digest, export, listeners, privacy, reminders, replan, service, views


def register(registry: Registry) -> None:
    registry.command("/cba-homework", listeners.handle_command)
    registry.action(views.SUBMIT_ACTION, listeners.handle_submit_button)
    registry.action(listeners.PAGE_ACTIONS, listeners.handle_page)
    registry.action(views.STATUS_NEXT, listeners.handle_status_next)
    registry.action(views.OVERVIEW_NEXT, listeners.handle_overview_next)
    registry.action(views.FEEDBACK_NEXT, listeners.handle_feedback_next)
    registry.view(views.MODAL_CALLBACK, listeners.handle_modal)
    registry.reminder_kind(service.REMINDER_KIND, reminders.render, quiet_while_away=True)
    registry.tick("homework-reminders-replan", replan.replan_open_assignments)
    registry.exporter("homework", export.export_homework)
    registry.demo_step(demo.demo_homework)
    privacy.register(registry)
    digest.register(registry)
