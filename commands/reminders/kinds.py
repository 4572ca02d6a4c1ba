"""What each kind of reminder says, decided at send time.

A feature registers a renderer per kind. The engine calls it, inside a transaction, just before
sending: it returns the message, or `Skip(reason)` when the reminder no longer makes sense
(the event began, the homework was submitted, the booking was cancelled).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from storage.models import Reminder


@dataclass(frozen=True)
class Outgoing:
    """A message for `reminder.recipient` (a user ID gets a DM; a channel ID a post)."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Skip:
    reason: str


Renderer = Callable[[Session, Reminder, datetime], Outgoing | Skip]
_renderers: dict[str, Renderer] = {}
# The zone of the readable fallback inside `<!date>` tokens: CBA_TIMEZONE, set once by the app factory.
_fallback_zone = ZoneInfo("Europe/Brussels")


def set_fallback_zone(zone: ZoneInfo) -> None:
    global _fallback_zone
    _fallback_zone = zone


def fallback_zone() -> ZoneInfo:
    return _fallback_zone


def reminder_kind(kind: str) -> Callable[[Renderer], Renderer]:
    """Decorator registering the renderer of `kind` (one per kind)."""

    def register(fn: Renderer) -> Renderer:
        _renderers[kind] = fn
        return fn

    return register


def renderer_for(kind: str) -> Renderer | None:
    return _renderers.get(kind)
