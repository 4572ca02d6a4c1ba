"""Delivering due reminders: leased claims, one Slack call per row, a fenced acknowledgement.

How a tick delivers (reliability reference §2):
1. Claim: one short transaction marks up to `batch` due rows `claimed` by this worker with a lease
   (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite serialises writers with `BEGIN IMMEDIATE`), then commits.
   Due means `pending` and past its `lease_until` (for a pending row: "not before", set by a retry), or
   `claimed` by someone whose lease expired (a crashed worker).
2. A short transaction checks the rows are still ours and asks each kind's renderer what to say (or
   to skip: the subject began, was cancelled…). Then, row by row and outside any transaction,
   chat.postMessage, and at once the outcome as one fenced autocommit UPDATE
   (`… SET status='sent' … WHERE id=:id AND claimed_by=:me AND status='claimed'`) before the next post.
   A crash can therefore repeat at most the one message in flight (at-least-once, never lost).
3. Slack errors: permanent ones (deactivated user, archived channel…) mark the row `failed` with the
   reason; 429 puts the row and the rest of the batch back to `pending`, not before Retry-After, and pauses
   this worker's posting for that window; transient ones (5xx, timeouts, connection errors) are retried
   with backoff, then marked `failed` after MAX_ATTEMPTS.
Posting is paced per channel (a user's DM is its own channel) on the engine's thread, never a listener's.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import urllib.error
import uuid
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from sqlalchemy import Connection, Engine, Table, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.deps import Deps
from bot.kernel.kinds import DeliveredHook, Outgoing, Renderer, Skip
from bot.kernel.slack_client import make_client
from bot.kernel.slack_send import send
from storage.models import Reminder

log = logging.getLogger(__name__)

DEFAULT_BATCH = 50
DEFAULT_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=15)
CHANNEL_INTERVAL = 1.0  # seconds between two posts to one channel (Slack: ~1 message/s per channel)
MAX_BATCHES_PER_CALL = 200
METHOD = "chat.postMessage"

# Errors that no retry will fix for this recipient. The row fails; the others go on.
PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "user_not_found",
        "users_not_found",
        "user_disabled",
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "cannot_dm_bot",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "ekm_access_denied",
        "messages_tab_disabled",
        "team_access_not_granted",
        "duplicate_channel_not_found",
        "as_user_not_supported",
    }
)
# Errors that concern our token, not the recipient: nothing can be sent; stop and retry later.
GLOBAL_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "no_permission", "missing_scope"}
)

_T: Table = Reminder.__table__  # type: ignore[assignment]


class DeliveryParts(Protocol):
    """What delivery needs; `bot.kernel.deps.Deps` is one."""

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def client(self) -> WebClient: ...

    @property
    def renderers(self) -> Mapping[str, Renderer]: ...

    @property
    def zone(self) -> ZoneInfo: ...


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0
    lost_lease: int = 0
    errors: dict[int, str] = field(default_factory=dict)

    def merge(self, other: DeliveryReport) -> None:
        for name in ("claimed", "sent", "skipped", "failed", "retried", "rate_limited", "lost_lease"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.update(other.errors)


@dataclass
class _Pause:
    """Slack asked us (429) to wait: no posting before `until` (engine clock)."""

    until: datetime | None = None


# Per database (sessionmaker) and worker; weak so that a discarded bot leaves nothing behind.
_pauses: weakref.WeakKeyDictionary[Any, dict[str, _Pause]] = weakref.WeakKeyDictionary()
_pauses_lock = threading.Lock()


def _pause_for(sessions: sessionmaker[Session], worker_id: str) -> _Pause:
    with _pauses_lock:
        by_worker = _pauses.get(sessions)
        if by_worker is None:
            by_worker = _pauses[sessions] = defaultdict(_Pause)
        return by_worker[worker_id]


class Pacer:
    """At most one post per channel per `interval` seconds, waiting on the engine's own thread."""

    def __init__(self, interval: float = CHANNEL_INTERVAL, sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = interval
        self._sleep = sleep
        self._last: dict[str, float] = {}

    def wait(self, channel: str) -> None:
        last = self._last.get(channel)
        if last is not None:
            delay = last + self.interval - time.monotonic()
            if delay > 0:
                self._sleep(delay)
        self._last[channel] = time.monotonic()


def default_worker_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min… capped at 15 min."""
    return min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_CAP)


def _due_condition(now: datetime) -> Any:
    return and_(
        _T.c.due_at <= now,
        or_(
            and_(_T.c.status == "pending", or_(_T.c.lease_until.is_(None), _T.c.lease_until <= now)),
            and_(_T.c.status == "claimed", _T.c.lease_until < now),
        ),
    )


@dataclass(frozen=True)
class _Claimed:
    id: int
    recipient: str
    attempts: int
    kind: str = ""


def claim(session: Session, *, now: datetime, worker_id: str, batch: int, lease: timedelta) -> list[_Claimed]:
    """Mark up to `batch` due rows as ours until `now + lease`, in the caller's transaction."""
    due = (
        select(_T.c.id)
        .where(_due_condition(now))
        .order_by(_T.c.due_at, _T.c.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(_T)
        .where(_T.c.id.in_(due.scalar_subquery()))
        .values(status="claimed", claimed_by=worker_id, lease_until=now + lease, attempts=_T.c.attempts + 1)
        .returning(_T.c.id, _T.c.recipient, _T.c.attempts, _T.c.due_at, _T.c.kind)
    )
    rows = sorted(session.execute(statement).all(), key=lambda row: (row.due_at, row.id))
    return [_Claimed(row.id, row.recipient, row.attempts, row.kind) for row in rows]


def _interleave(rows: list[_Claimed]) -> list[_Claimed]:
    """Round-robin over recipients so that pacing one channel does not hold up the others."""
    queues: dict[str, list[_Claimed]] = {}
    for row in rows:
        queues.setdefault(row.recipient, []).append(row)
    if len(queues) == len(rows):
        return rows
    ordered: list[_Claimed] = []
    while queues:
        for recipient in list(queues):
            ordered.append(queues[recipient].pop(0))
            if not queues[recipient]:
                del queues[recipient]
    return ordered


def _fenced(row_id: int, worker_id: str) -> Any:
    return update(_T).where(_T.c.id == row_id, _T.c.claimed_by == worker_id, _T.c.status == "claimed")


# The acknowledgement of a sent row, built once (the hot path: one per message).
_MARK_SENT = (
    update(_T)
    .where(_T.c.id == bindparam("row_id"), _T.c.claimed_by == bindparam("me"), _T.c.status == "claimed")
    .values(
        status="sent",
        sent_at=bindparam("at"),
        slack_channel=bindparam("channel"),
        slack_ts=bindparam("ts"),
        slack_permalink=bindparam("permalink"),
        last_error=None,
        lease_until=None,
    )
)


class _Link:
    """The connections of one delivery run: a transactional one for claims and rendering, and an
    autocommit one for acknowledgements (each a single fenced UPDATE: one round trip, durable at once).
    No pool checkout, pre-ping or SQLite connection set-up per row; idle, they hold no lock."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        bind = sessions.kw.get("bind")
        self._connection: Connection | None = None
        self._auto: Connection | None = None
        if isinstance(bind, Engine):
            self._connection = bind.connect()
            if bind.dialect.name != "sqlite":
                # (SQLite opens every transaction with BEGIN IMMEDIATE from a "begin" hook, which an
                # autocommit connection would never commit; there a local transaction costs no round trip.)
                self._auto = bind.connect().execution_options(isolation_level="AUTOCOMMIT")
                if bind.dialect.name == "postgresql":
                    # An acknowledgement is visible to every worker at once either way; only its durability
                    # across a *database server* crash waits for the WAL writer (< 1 s), and losing one
                    # then means re-sending (at-least-once), never losing. It spares an fsync per message.
                    self._auto.exec_driver_sql("SET synchronous_commit = off")

    @contextmanager
    def begin(self) -> Iterator[Session]:
        if self._connection is None:
            with self._sessions.begin() as session:
                yield session
            return
        with Session(bind=self._connection, expire_on_commit=False) as session, session.begin():
            yield session

    def write(self, statement: Any, parameters: dict[str, Any] | None = None) -> int:
        """Run one statement as its own transaction; the number of rows it changed."""
        if self._auto is not None:
            return int(self._auto.execute(statement, parameters).rowcount)
        if self._connection is not None:
            with self._connection.begin():
                return int(self._connection.execute(statement, parameters).rowcount)
        with self._sessions.begin() as session:
            return int(session.execute(statement, parameters).rowcount)  # type: ignore[attr-defined]

    def close(self) -> None:
        if self._auto is not None and self._auto.dialect.name == "postgresql":
            try:
                self._auto.exec_driver_sql("RESET synchronous_commit")  # pooled: leave it as we found it
            except Exception:
                self._auto.invalidate()
        for connection in (self._connection, self._auto):
            if connection is not None:
                connection.close()


class _Batch:
    """One claimed batch: rendered in one short transaction, then posted row by row, each outcome
    recorded (fenced) before the next post, so a crash repeats at most the message in flight."""

    def __init__(
        self,
        link: _Link,
        client: WebClient,
        *,
        now: datetime,
        worker_id: str,
        pacer: Pacer,
        pause: _Pause,
        report: DeliveryReport,
        renderers: Mapping[str, Renderer],
        zone: ZoneInfo,
        delivered: Mapping[str, DeliveredHook] | None = None,
    ) -> None:
        self.renderers = renderers
        self.delivered = delivered or {}
        self.zone = zone
        self.link = link
        self.client = client
        self.now = now
        self.me = worker_id
        self.pacer = pacer
        self.pause = pause
        self.report = report

    def _write(self, statement: Any, parameters: dict[str, Any] | None = None) -> None:
        if self.link.write(statement, parameters) == 0:
            self.report.lost_lease += 1
            log.warning("a reminder's lease was lost before its outcome was recorded (another worker took it)")

    def _render_all(self, rows: list[_Claimed]) -> list[tuple[_Claimed, Outgoing]]:
        """Check the rows are still ours, render them, record skips. One short transaction."""
        to_send: list[tuple[_Claimed, Outgoing]] = []
        failures: list[tuple[_Claimed, str]] = []
        with self.link.begin() as session:
            mine = {
                reminder.id: reminder
                for reminder in session.scalars(
                    select(Reminder).where(
                        Reminder.id.in_([row.id for row in rows]),
                        Reminder.status == "claimed",
                        Reminder.claimed_by == self.me,
                    )
                )
            }
            for claimed in rows:
                reminder = mine.get(claimed.id)
                if reminder is None:
                    # Cancelled, moved or re-claimed (our lease expired) since we claimed it.
                    self.report.lost_lease += 1
                    continue
                renderer = self.renderers.get(reminder.kind)
                if renderer is None:
                    # A kind this process does not know (yet): retried, then failed, never silently dropped.
                    failures.append((claimed, f"no renderer for kind {reminder.kind!r}"))
                    continue
                try:
                    result = renderer(session, reminder, self.now, self.zone)
                except Exception as exc:
                    log.exception("rendering reminder #%s failed", claimed.id)
                    failures.append((claimed, f"renderer error: {type(exc).__name__}"))
                    continue
                if isinstance(result, Skip):
                    session.execute(
                        _fenced(claimed.id, self.me).values(
                            status="skipped", last_error=result.reason, lease_until=None
                        )
                    )
                    log.info("reminder #%s (%s) skipped: %s", claimed.id, reminder.kind, result.reason)
                    self.report.skipped += 1
                else:
                    to_send.append((claimed, result))
        for claimed, reason in failures:
            self._retry_or_fail(claimed, reason)
        return to_send

    def deliver(self, rows: list[_Claimed]) -> bool:
        """Deliver the batch; False when posting must stop (rate limit or token problem)."""
        to_send = self._render_all(rows)
        for index, (claimed, message) in enumerate(to_send):
            self.pacer.wait(claimed.recipient)
            if self._post(claimed, message) == "stop":
                self._release([row for row, _ in to_send[index + 1 :]])
                return False
        return True

    def _post(self, claimed: _Claimed, message: Outgoing) -> str:
        try:
            sent = send(self.client, claimed.recipient, message)
        except SlackApiError as exc:
            return self._slack_error(claimed, exc)
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            self._retry_or_fail(claimed, f"connection error: {type(exc).__name__}")
            return "retry"
        except (KeyError, ValueError, TypeError) as exc:
            # A row whose payload cannot be sent as it is: no retry will help.
            self._write(_fenced(claimed.id, self.me).values(status="failed", last_error=f"bad row: {exc!r}"[:200]))
            self.report.failed += 1
            return "failed"
        parameters = {
            "row_id": claimed.id,
            "me": self.me,
            "at": self.now,
            "channel": sent.channel or claimed.recipient,
            "ts": sent.ts or "",
            "permalink": sent.permalink,
        }
        hook = self.delivered.get(claimed.kind)
        if hook is None:
            self._write(_MARK_SENT, parameters)
        else:
            # The outcome and what the feature records of it (a post's ts on its question…) commit together.
            with self.link.begin() as session:
                if session.execute(_MARK_SENT, parameters).rowcount:  # type: ignore[attr-defined]
                    row = session.get(Reminder, claimed.id)
                    if row is not None:
                        hook(session, row)
                else:
                    self.report.lost_lease += 1
        self.report.sent += 1
        return "sent"

    def _slack_error(self, claimed: _Claimed, exc: SlackApiError) -> str:
        status = exc.response.status_code
        error = str(exc.response.get("error") or f"http_{status}")
        if status == 429 or error == "ratelimited":
            retry_after = _retry_after(exc)
            not_before = self.now + timedelta(seconds=retry_after)
            self.pause.until = max(self.pause.until or not_before, not_before)
            self._write(
                _fenced(claimed.id, self.me).values(
                    status="pending",
                    claimed_by=None,
                    lease_until=not_before,
                    attempts=_T.c.attempts - 1,  # a rate limit is not a failed attempt
                )
            )
            self.report.rate_limited += 1
            log.warning("Slack rate-limited %s: pausing for %s s", METHOD, retry_after)
            return "stop"
        if status >= 500:
            self._retry_or_fail(claimed, f"slack {error}")
            return "retry"
        if error in GLOBAL_ERRORS:
            log.error("Slack refused our token (%s): reminders wait until it is fixed", error)
            self._write(
                _fenced(claimed.id, self.me).values(
                    status="pending",
                    claimed_by=None,
                    lease_until=self.now + BACKOFF_CAP,
                    attempts=_T.c.attempts - 1,
                    last_error=error,
                )
            )
            self.report.errors[claimed.id] = error
            return "stop"
        # Permanent for this recipient (account_inactive, channel_not_found, is_archived…) or a bad request.
        if error not in PERMANENT_ERRORS:
            log.warning("unexpected Slack error %s for reminder #%s: recorded as failed", error, claimed.id)
        self._write(_fenced(claimed.id, self.me).values(status="failed", last_error=error, lease_until=None))
        log.info("reminder #%s failed: %s", claimed.id, error)
        self.report.failed += 1
        self.report.errors[claimed.id] = error
        return "failed"

    def _retry_or_fail(self, claimed: _Claimed, reason: str) -> None:
        if claimed.attempts >= MAX_ATTEMPTS:
            values: dict[str, Any] = {"status": "failed", "last_error": reason, "lease_until": None}
            self.report.failed += 1
            self.report.errors[claimed.id] = reason
            log.warning("reminder #%s failed after %s attempts: %s", claimed.id, claimed.attempts, reason)
        else:
            values = {
                "status": "pending",
                "claimed_by": None,
                "lease_until": self.now + backoff(claimed.attempts),
                "last_error": reason,
            }
            self.report.retried += 1
            log.info("reminder #%s will be retried (attempt %s): %s", claimed.id, claimed.attempts, reason)
        self._write(_fenced(claimed.id, self.me).values(**values))

    def _release(self, rows: Iterable[_Claimed]) -> None:
        """Give unsent rows back, not before the pause ends (due_at unchanged)."""
        not_before = self.pause.until or self.now
        for claimed in rows:
            self._write(
                _fenced(claimed.id, self.me).values(
                    status="pending", claimed_by=None, lease_until=not_before, attempts=_T.c.attempts - 1
                )
            )


def _retry_after(exc: SlackApiError) -> int:
    headers = exc.response.headers or {}
    raw: Any = None
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
    try:
        return max(1, int(str(raw)))
    except (TypeError, ValueError):
        return 30


def deliver_due(
    parts: DeliveryParts,
    *,
    worker_id: str,
    now: datetime | None = None,
    clock: Callable[[], datetime] | None = None,
    batch: int = DEFAULT_BATCH,
    lease: timedelta = DEFAULT_LEASE,
    client: WebClient | None = None,
    pacer: Pacer | None = None,
    max_batches: int = MAX_BATCHES_PER_CALL,
) -> DeliveryReport:
    """Deliver every row due, batch after batch, until none is left or Slack says wait.

    The clock is read for each batch (`now` stands for a clock that stays put).
    """
    if clock is None:
        if now is None:
            raise ValueError("deliver_due needs a clock or now")
        fixed = now

        def clock() -> datetime:
            return fixed

    report = DeliveryReport()
    pause = _pause_for(parts.sessions, worker_id)
    now = clock()
    if pause.until is not None and now < pause.until:
        return report
    pause.until = None
    client = client or parts.client
    pacer = pacer or Pacer()
    link = _Link(parts.sessions)
    try:
        for _ in range(max_batches):
            now = clock()
            with link.begin() as session:
                rows = claim(session, now=now, worker_id=worker_id, batch=batch, lease=lease)
            if not rows:
                break
            report.claimed += len(rows)
            work = _Batch(
                link,
                client,
                now=now,
                worker_id=worker_id,
                pacer=pacer,
                pause=pause,
                report=report,
                renderers=parts.renderers,
                zone=parts.zone,
                delivered=getattr(parts, "delivered", None),
            )
            if not work.deliver(_interleave(rows)):
                break
    finally:
        link.close()
    if report.claimed:
        log.info(
            "reminders: %s sent, %s skipped, %s failed, %s to retry, %s rate-limited",
            report.sent,
            report.skipped,
            report.failed,
            report.retried,
            report.rate_limited,
        )
    return report


# --- the scheduler hook --------------------------------------------------------------------------

WORKER_ID = default_worker_id()
_clients: weakref.WeakKeyDictionary[Any, WebClient] = weakref.WeakKeyDictionary()


def engine_client(deps: Deps) -> WebClient:
    """A client that does not sleep on 429 (the engine reschedules instead); made once per bot."""
    handlers = getattr(deps.client, "retry_handlers", None) or []
    if not any(isinstance(handler, RateLimitErrorRetryHandler) for handler in handlers):
        return deps.client
    client = _clients.get(deps.sessions)
    if client is None:
        client = make_client(deps.settings, retry_rate_limits=False)
        _clients[deps.sessions] = client
    return client


def deliver_reminders(deps: Deps) -> None:
    """The tick's delivery: through the process's courier, so that it never runs beside it."""
    if deps.courier is not None:
        deps.courier.deliver_now()
    else:
        deliver_due(deps, clock=deps.clock, worker_id=WORKER_ID, client=engine_client(deps))
