"""Organiser reports (SPEC 4.9): `/cba-admin report [COHORT]` and `cba-bot export report`."""

from __future__ import annotations

from bot.kernel.registry import Registry
from commands.reports import exports, listeners


def register(registry: Registry) -> None:
    listeners.register(registry)
    registry.exporter("report", exports.export_report)
