"""Members: profiles, the directory, roles, onboarding, roster import/export and privacy (SPEC 4.2, 4.9)."""

from __future__ import annotations

from bot.kernel.registry import Registry
from commands.members import data, listeners, privacy, slack_sync


def register(registry: Registry) -> None:
    listeners.register(registry)
    privacy.register(registry)
    registry.exporter("directory", data.export_directory)
    registry.demo_step(data.demo_profiles)
    registry.tick("members-from-slack", slack_sync.learn_new_members, order=150)
