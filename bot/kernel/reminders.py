"""The delivery engine's own registration: it runs on every tick, after every hook that plans."""

from __future__ import annotations

from bot.kernel.delivery import deliver_reminders
from bot.kernel.registry import Registry


def register(registry: Registry) -> None:
    registry.tick("deliver", deliver_reminders, order=100)
