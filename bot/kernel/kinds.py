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

POST = "chat.postMessage"
EPHEMERAL = "chat.postEphemeral"
UPDATE = "chat.update"
UPLOAD = "files.upload"
PUBLISH = "views.publish"
RESPOND = "response_url"
METHODS = (POST, EPHEMERAL, UPDATE, UPLOAD, PUBLISH, RESPOND)


@dataclass(frozen=True)
class Outgoing:
    """What to send for a row, to `row.recipient` (a user ID gets a DM; a channel ID a post).

    `method` is the Slack call; `args` its other arguments: `thread_ts` for a reply, `channel` for an
    ephemeral message, `channel` and `ts` for an edit, `filename`/`content`/`title` for a file, `view`
    for a Home tab, `url` for a response_url. `permalink` asks the engine to fetch the post's link.
    """

    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    method: str = POST
    args: dict[str, Any] = field(default_factory=dict)
    permalink: bool = False


@dataclass(frozen=True)
class Skip:
    reason: str


# `renderer(session, row, now, zone)`: zone is CBA_TIMEZONE, for the readable fallback inside `<!date>` tokens.
Renderer = Callable[[Session, Reminder, datetime, ZoneInfo], Outgoing | Skip]
# `hook(session, row)`: runs in the transaction that records `row` as sent (its slack_ts and permalink set).
DeliveredHook = Callable[[Session, Reminder], None]
