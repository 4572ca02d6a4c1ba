"""The composition of the product: every feature, in the order they register."""

from __future__ import annotations

from bot.kernel import digest, reminders, retention, zones
from bot.kernel.registry import Registry
from commands import coaching, events, home, homework, members, questions, reports
from commands import help as help_feature


def register_all(registry: Registry) -> None:
    help_feature.register(registry)
    members.register(registry)
    events.register(registry)
    coaching.register(registry)
    homework.register(registry)
    questions.register(registry)
    reports.register(registry)
    home.register(registry)
    reminders.register(registry)
    digest.register(registry)
    zones.register(registry)
    retention.register(registry)


def build_registry() -> Registry:
    registry = Registry()
    register_all(registry)
    return registry
