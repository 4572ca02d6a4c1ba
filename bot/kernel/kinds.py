"""What each kind of reminder says, decided at send time.

A feature registers a renderer per kind (`registry.reminder_kind`). The engine calls it, inside a transaction, just before
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


# `renderer(session, row, now, zone)`: zone is CBA_TIMEZONE, for the readable fallback inside `<!date>` tokens.
Renderer = Callable[[Session, Reminder, datetime, ZoneInfo], Outgoing | Skip]
