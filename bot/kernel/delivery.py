"""Delivering the outbox: leased claims, a fence before every Slack call, a fenced acknowledgement.

How a run delivers (reliability reference §2 and §2b):
1. Claim: one short transaction marks up to `batch` due rows `claimed` by this worker with a lease
   (`now + lease`, `now` read from the clock for this batch; PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite
   serialises writers with `BEGIN IMMEDIATE`), then commits. Due means `pending` and past its
   `lease_until` (for a pending row: "not before", set by a retry or a rate limit), or `claimed` by someone
   whose lease expired (a crashed worker). A row that depends on another (`depends_on`: an edit, a thread
   reply) waits until that row is no longer pending or claimed; a row waits while another row to the
   same recipient is held back (a retry's back-off, a rate limit, a live claim elsewhere), so messages to
   one recipient cannot overtake each other.
   Rows are claimed in (due_at, id) order. A batch is sized from the posts so far so that it can be
   posted well within its lease; a run stops claiming when even that cannot be promised.
2. A short transaction checks the rows are still ours and asks each kind's renderer what to say (or
   to skip: the subject began, was cancelled…). Then, outside any transaction, the rows are posted by up
   to `senders` threads, each owning whole recipients (never two posts to one channel at once, and a
   recipient's rows in claim order), round-robin over its recipients and paced per channel. Before each
   call a fence, read with a fresh clock, renews that row's lease
   (`… SET lease_until = :now + lease WHERE id = :id AND claimed_by = :me AND status = 'claimed'
   AND lease_until > :now`): no row, no call. After the call, at once, the outcome as one fenced autocommit
   UPDATE before the next post. A crash can therefore repeat at most the messages in flight
   (at-least-once, never lost), and nothing is ever posted on an expired lease.
3. Slack errors: permanent ones (deactivated user, archived channel…) mark the row `failed` with the
   reason (organisers see them with `/cba-admin deliveries`); 429 or `ratelimited` puts the row and the
   rest of the batch back to `pending`, not before Retry-After, and pauses this worker's posting for that
   window; transient ones (HTTP 5xx, `internal_error`, `fatal_error`, `service_unavailable`,
   `request_timeout`, timeouts, connection errors) are retried with backoff, then marked `failed` after
   MAX_ATTEMPTS. The recipient's later rows in the batch wait behind a row being retried.
Posting happens on the engine's threads, never a listener's.
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
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from sqlalchemy import Connection, Engine, Table, and_, bindparam, exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.deps import Deps
from bot.kernel.kinds import EPHEMERAL, POST, UPLOAD, DeliveredHook, Outgoing, Renderer, Skip
from bot.kernel.metrics import DELIVERY_OUTCOMES, Metrics, slack_error_labels
from bot.kernel.slack_client import make_client
from bot.kernel.slack_send import send
from storage.models import Reminder

log = logging.getLogger(__name__)

DEFAULT_BATCH = 50
DEFAULT_LEASE = timedelta(minutes=5)
# Threads posting at once in one process (CBA_SENDERS), each owning whole recipients (reliability
# reference §2b: a small pool across channels, never two at once within one). Slack answers a post in
# ~100-300 ms, so one thread alone sends 3-10 messages a second.
DEFAULT_SENDERS = 4
# A batch must be postable within this share of its lease, judging by the posts so far.
LEASE_SHARE = 0.5
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
# Slack's own trouble, answered `ok: false` (often with HTTP 200): retried with backoff like a 5xx.
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
# Errors that concern our token, not the recipient: nothing can be sent; stop and retry later.
GLOBAL_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "no_permission", "missing_scope"}
)
# A row in one of these states holds back the rows that depend on it or follow it to the same recipient.
OPEN_STATUSES = ("pending", "claimed")

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
    # (method, code) of each error Slack answered, for GET /metrics.
    slack_errors: Counter[tuple[str, str]] = field(default_factory=Counter)

    def merge(self, other: DeliveryReport) -> None:
        for name in ("claimed", "sent", "skipped", "failed", "retried", "rate_limited", "lost_lease"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.update(other.errors)
        self.slack_errors.update(other.slack_errors)

    def count_in(self, metrics: Metrics) -> None:
        metrics.deliveries({name: getattr(self, name) for name in DELIVERY_OUTCOMES}, self.slack_errors)


@dataclass
class _Pause:
    """Slack asked us (429) to wait: no posting before `until` (engine clock)."""

    until: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def extend(self, until: datetime) -> None:
        with self._lock:
            self.until = max(self.until or until, until)

    def holds(self, now: datetime) -> bool:
        until = self.until
        return until is not None and now < until


# Per database (sessionmaker) and worker; weak so that a discarded bot leaves nothing behind.
_pauses: weakref.WeakKeyDictionary[Any, dict[str, _Pause]] = weakref.WeakKeyDictionary()
_pauses_lock = threading.Lock()


def _pause_for(sessions: sessionmaker[Session], worker_id: str) -> _Pause:
    with _pauses_lock:
        by_worker = _pauses.get(sessions)
        if by_worker is None:
            by_worker = _pauses[sessions] = defaultdict(_Pause)
        return by_worker[worker_id]


# Slack allows about one message per second in a conversation: these post one. A Home tab, an edit or a
# response_url answer posts nothing there, and goes without waiting.
PACED_METHODS = frozenset({POST, EPHEMERAL, UPLOAD})


class Pacer:
    """At most one post per channel per `interval` seconds, waiting on the sender's own thread.

    Shared by a run's senders: each channel belongs to one sender, so no two threads pace one channel."""

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


class _Timing:
    """How long a post takes on the engine's clock (fence, call and outcome), to size the next claim."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.per_post: float | None = None

    def observe(self, seconds: float) -> None:
        with self._lock:
            previous = self.per_post
            # Quick to rise, slow to fall: a slow Slack shrinks the next batch at once.
            self.per_post = seconds if previous is None or seconds > previous else 0.8 * previous + 0.2 * seconds

    def batch_size(self, batch: int, lease: timedelta, senders: int) -> int:
        """How many rows to claim now; 0 when even one post could outlive its lease."""
        per_post = self.per_post
        if not per_post:
            return batch
        budget = lease.total_seconds() * LEASE_SHARE
        if per_post >= budget:
            return 0
        return max(1, min(batch, int(budget // per_post) * max(1, senders)))


def connections_per_run(senders: int) -> int:
    """Database connections one delivery run may hold: the claiming one and, per sender, an autocommit
    one for fences and outcomes plus a transactional one for delivered hooks (pool sizing, bot.app)."""
    return 1 + 2 * max(1, senders)


def default_worker_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min… capped at 15 min."""
    return min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_CAP)


def _due_condition(now: datetime, table: Any = _T) -> Any:
    return and_(
        table.c.due_at <= now,
        or_(
            and_(table.c.status == "pending", or_(table.c.lease_until.is_(None), table.c.lease_until <= now)),
            and_(table.c.status == "claimed", table.c.lease_until < now),
        ),
    )


def _claimable(now: datetime, candidate: Any) -> Any:
    """Due, its parent (if any) settled, and no row to the same recipient held back or in flight.

    "Held" is a due row waiting out a retry's back-off or a rate limit, or claimed by a live worker: the
    recipient's other rows wait for it, so that they cannot overtake it. One uncorrelated subquery (the
    few held rows, found through the status/due_at index), evaluated once per claim."""
    parent = _T.alias("parent")
    held = _T.alias("held")
    parent_open = exists().where(parent.c.id == candidate.c.depends_on, parent.c.status.in_(OPEN_STATUSES))
    held_recipients = select(held.c.recipient).where(
        held.c.status.in_(OPEN_STATUSES), held.c.due_at <= now, held.c.lease_until > now
    )
    return and_(
        _due_condition(now, candidate),
        or_(candidate.c.depends_on.is_(None), ~parent_open),
        candidate.c.recipient.not_in(held_recipients),
    )


@dataclass(frozen=True)
class _Claimed:
    id: int
    recipient: str
    attempts: int
    kind: str = ""


def claim(session: Session, *, now: datetime, worker_id: str, batch: int, lease: timedelta) -> list[_Claimed]:
    """Mark up to `batch` due rows as ours until `now + lease`, in the caller's transaction."""
    candidate = _T.alias("candidate")
    due = (
        select(candidate.c.id)
        .where(_claimable(now, candidate))
        .order_by(candidate.c.due_at, candidate.c.id)
        .limit(batch)
        .with_for_update(skip_locked=True, of=candidate)
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


# The fence before a Slack call: the row is still ours and its lease has not run out; renew it from now.
_FENCE = (
    update(_T)
    .where(
        _T.c.id == bindparam("row_id"),
        _T.c.claimed_by == bindparam("me"),
        _T.c.status == "claimed",
        _T.c.lease_until > bindparam("now"),
    )
    .values(lease_until=bindparam("until"))
)

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
    """The connections of one thread of a delivery run: a transactional one (claims, rendering, delivered
    hooks) and, on PostgreSQL, an autocommit one for fences and outcomes (each a single UPDATE: one round
    trip, durable at once). Opened on first use; no pool checkout, pre-ping or SQLite set-up per row; idle,
    they hold no lock."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        bind = sessions.kw.get("bind")
        self._engine = bind if isinstance(bind, Engine) else None
        self._connection: Connection | None = None
        self._auto: Connection | None = None

    def _transactional(self) -> Connection:
        assert self._engine is not None
        if self._connection is None:
            self._connection = self._engine.connect()
        return self._connection

    def _autocommit(self) -> Connection | None:
        engine = self._engine
        if engine is None or engine.dialect.name == "sqlite":
            # (SQLite opens every transaction with BEGIN IMMEDIATE from a "begin" hook, which an
            # autocommit connection would never commit; there a local transaction costs no round trip.)
            return None
        if self._auto is None:
            self._auto = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql":
                # An acknowledgement is visible to every worker at once either way; only its durability
                # across a *database server* crash waits for the WAL writer (< 1 s), and losing one
                # then means re-sending (at-least-once), never losing. It spares an fsync per message.
                self._auto.exec_driver_sql("SET synchronous_commit = off")
        return self._auto

    @contextmanager
    def begin(self) -> Iterator[Session]:
        if self._engine is None:
            with self._sessions.begin() as session:
                yield session
            return
        with Session(bind=self._transactional(), expire_on_commit=False) as session, session.begin():
            yield session

    def write(self, statement: Any, parameters: dict[str, Any] | None = None) -> int:
        """Run one statement as its own transaction; the number of rows it changed."""
        auto = self._autocommit()
        if auto is not None:
            return int(auto.execute(statement, parameters).rowcount)
        if self._engine is not None:
            connection = self._transactional()
            with connection.begin():
                return int(connection.execute(statement, parameters).rowcount)
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
        self._connection = self._auto = None


class _Batch:
    """One claimed batch: rendered in one short transaction, then posted by the run's senders, each row
    fenced before its call and its outcome recorded before the sender's next post, so a crash repeats at
    most the messages in flight."""

    def __init__(
        self,
        link: _Link,
        client: WebClient,
        *,
        clock: Callable[[], datetime],
        worker_id: str,
        pacer: Pacer,
        pause: _Pause,
        report: DeliveryReport,
        renderers: Mapping[str, Renderer],
        zone: ZoneInfo,
        lease: timedelta = DEFAULT_LEASE,
        delivered: Mapping[str, DeliveredHook] | None = None,
        lanes: Sequence[_Link] = (),
        pool: ThreadPoolExecutor | None = None,
        timing: _Timing | None = None,
    ) -> None:
        self.renderers = renderers
        self.delivered = delivered or {}
        self.zone = zone
        self.link = link
        self.client = client
        self.clock = clock
        self.lease = lease
        self.me = worker_id
        self.pacer = pacer
        self.pause = pause
        self.report = report
        self.lanes = lanes
        self.pool = pool
        self.timing = timing or _Timing()
        self.stop = threading.Event()  # a sender met a rate limit or a token problem: all stop

    def _render_all(self, rows: list[_Claimed]) -> list[tuple[_Claimed, Outgoing]]:
        """Check the rows are still ours, render them, record skips. One short transaction."""
        to_send: list[tuple[_Claimed, Outgoing]] = []
        failures: list[tuple[_Claimed, str]] = []
        now = self.clock()
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
                    result = renderer(session, reminder, now, self.zone)
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
        sender = _Sender(self, self.link, self.report)
        for claimed, reason in failures:
            sender.retry_or_fail(claimed, reason)
        return to_send

    def _split(self, to_send: list[tuple[_Claimed, Outgoing]]) -> list[list[tuple[_Claimed, Outgoing]]]:
        """Whole recipients per sender, each sender's rows round-robin over its recipients, in claim order."""
        senders = max(1, len(self.lanes)) if self.pool is not None else 1
        lane_of: dict[str, int] = {}
        groups: list[list[_Claimed]] = [[] for _ in range(senders)]
        messages = {claimed.id: message for claimed, message in to_send}
        for claimed, _message in to_send:
            lane = lane_of.setdefault(claimed.recipient, len(lane_of) % senders)
            groups[lane].append(claimed)
        return [[(row, messages[row.id]) for row in _interleave(group)] for group in groups if group]

    def deliver(self, rows: list[_Claimed]) -> bool:
        """Deliver the batch; False when posting must stop (rate limit or token problem)."""
        groups = self._split(self._render_all(rows))
        if not groups:
            return True
        if len(groups) == 1 or self.pool is None:
            return _Sender(self, self.link, self.report).send_all(groups[0])
        senders = [_Sender(self, self.lanes[index], DeliveryReport()) for index in range(len(groups))]
        futures = [self.pool.submit(sender.send_all, group) for sender, group in zip(senders, groups, strict=True)]
        results = [future.result() for future in futures]
        for sender in senders:
            self.report.merge(sender.report)
        return all(results)


class _Sender:
    """One thread's share of a batch: its own connections and report, the batch's clock, pacer and pause."""

    def __init__(self, batch: _Batch, link: _Link, report: DeliveryReport) -> None:
        self.batch = batch
        self.link = link
        self.report = report
        self.me = batch.me

    def _write(self, statement: Any, parameters: dict[str, Any] | None = None) -> None:
        if self.link.write(statement, parameters) == 0:
            self.report.lost_lease += 1
            log.warning("a reminder's lease was lost before its outcome was recorded (another worker took it)")

    def send_all(self, items: list[tuple[_Claimed, Outgoing]]) -> bool:
        batch = self.batch
        held_back: set[str] = set()  # recipients whose earlier row is being retried: keep their order
        for index, (claimed, message) in enumerate(items):
            if batch.stop.is_set() or batch.pause.holds(batch.clock()):
                self.release([row for row, _ in items[index:]])
                return False
            if claimed.recipient in held_back:
                self.release([claimed], hold=False)  # claimable once the row ahead of it has gone
                continue
            if message.method in PACED_METHODS:
                batch.pacer.wait(claimed.recipient)
            outcome = self.post(claimed, message)
            if outcome == "stop":
                batch.stop.set()
                self.release([row for row, _ in items[index + 1 :]])
                return False
            if outcome == "retry":
                held_back.add(claimed.recipient)
        return True

    def post(self, claimed: _Claimed, message: Outgoing) -> str:
        batch = self.batch
        started = batch.clock()
        fence = {"row_id": claimed.id, "me": self.me, "now": started, "until": started + batch.lease}
        if self.link.write(_FENCE, fence) == 0:
            # Our lease ran out (or the row was cancelled, or another worker took it): no call.
            self.report.lost_lease += 1
            log.warning("reminder #%s not posted: its lease had expired or it was taken", claimed.id)
            return "lost"
        try:
            sent = send(batch.client, claimed.recipient, message)
        except SlackApiError as exc:
            self.report.slack_errors[slack_error_labels(exc, message.method)] += 1
            return self._slack_error(claimed, exc)
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            self.retry_or_fail(claimed, f"connection error: {type(exc).__name__}")
            return "retry"
        except (KeyError, ValueError, TypeError) as exc:
            # A row whose payload cannot be sent as it is: no retry will help.
            self._write(_fenced(claimed.id, self.me).values(status="failed", last_error=f"bad row: {exc!r}"[:200]))
            self.report.failed += 1
            return "failed"
        at = batch.clock()
        parameters = {
            "row_id": claimed.id,
            "me": self.me,
            "at": at,
            "channel": sent.channel or claimed.recipient,
            "ts": sent.ts or "",
            "permalink": sent.permalink,
        }
        hook = batch.delivered.get(claimed.kind)
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
        batch.timing.observe((batch.clock() - started).total_seconds())
        self.report.sent += 1
        return "sent"

    def _slack_error(self, claimed: _Claimed, exc: SlackApiError) -> str:
        now = self.batch.clock()
        status = exc.response.status_code
        error = str(exc.response.get("error") or f"http_{status}")
        if status == 429 or error == "ratelimited":
            retry_after = _retry_after(exc)
            not_before = now + timedelta(seconds=retry_after)
            self.batch.pause.extend(not_before)
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
        if status >= 500 or error in TRANSIENT_ERRORS:
            self.retry_or_fail(claimed, f"slack {error}")
            return "retry"
        if error in GLOBAL_ERRORS:
            log.error("Slack refused our token (%s): reminders wait until it is fixed", error)
            self._write(
                _fenced(claimed.id, self.me).values(
                    status="pending",
                    claimed_by=None,
                    lease_until=now + BACKOFF_CAP,
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

    def retry_or_fail(self, claimed: _Claimed, reason: str) -> None:
        if claimed.attempts >= MAX_ATTEMPTS:
            values: dict[str, Any] = {"status": "failed", "last_error": reason, "lease_until": None}
            self.report.failed += 1
            self.report.errors[claimed.id] = reason
            log.warning("reminder #%s failed after %s attempts: %s", claimed.id, claimed.attempts, reason)
        else:
            values = {
                "status": "pending",
                "claimed_by": None,
                "lease_until": self.batch.clock() + backoff(claimed.attempts),
                "last_error": reason,
            }
            self.report.retried += 1
            log.info("reminder #%s will be retried (attempt %s): %s", claimed.id, claimed.attempts, reason)
        self._write(_fenced(claimed.id, self.me).values(**values))

    def release(self, rows: Iterable[_Claimed], *, hold: bool = True) -> None:
        """Give unsent rows back (due_at unchanged); with `hold`, not before the pause ends."""
        until = (self.batch.pause.until or self.batch.clock()) if hold else None
        for claimed in rows:
            self._write(
                _fenced(claimed.id, self.me).values(
                    status="pending", claimed_by=None, lease_until=until, attempts=_T.c.attempts - 1
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
    senders: int = DEFAULT_SENDERS,
) -> DeliveryReport:
    """Deliver every row due, batch after batch, until none is left or Slack says wait.

    The clock is read for each claim and each post (`now` stands for a clock that stays put).
    """
    if clock is None:
        if now is None:
            raise ValueError("deliver_due needs a clock or now")
        fixed = now

        def clock() -> datetime:
            return fixed

    report = DeliveryReport()
    pause = _pause_for(parts.sessions, worker_id)
    if pause.holds(clock()):
        return report
    pause.until = None
    client = client or parts.client
    pacer = pacer or Pacer()
    timing = _Timing()
    link = _Link(parts.sessions)
    lanes: list[_Link] = []
    pool: ThreadPoolExecutor | None = None
    try:
        for _ in range(max_batches):
            size = timing.batch_size(batch, lease, senders)
            if size == 0:
                log.warning(
                    "a post takes %.0f s, too long for a %s lease: leaving the rest to the next run",
                    timing.per_post or 0,
                    lease,
                )
                break
            now = clock()
            with link.begin() as session:
                rows = claim(session, now=now, worker_id=worker_id, batch=size, lease=lease)
            if not rows:
                break
            report.claimed += len(rows)
            if pool is None and senders > 1 and len({row.recipient for row in rows}) > 1:
                pool = ThreadPoolExecutor(max_workers=senders, thread_name_prefix="cba-sender")
                lanes = [_Link(parts.sessions) for _ in range(senders)]
            work = _Batch(
                link,
                client,
                clock=clock,
                lease=lease,
                worker_id=worker_id,
                pacer=pacer,
                pause=pause,
                report=report,
                renderers=parts.renderers,
                zone=parts.zone,
                delivered=getattr(parts, "delivered", None),
                lanes=lanes,
                pool=pool,
                timing=timing,
            )
            if not work.deliver(rows):
                break
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        for lane in lanes:
            lane.close()
        link.close()
        metrics = getattr(parts, "metrics", None)
        if isinstance(metrics, Metrics):
            report.count_in(metrics)
    if report.claimed:
        log.info(
            "reminders: %s sent, %s skipped, %s failed, %s to retry, %s rate-limited, %s lost leases",
            report.sent,
            report.skipped,
            report.failed,
            report.retried,
            report.rate_limited,
            report.lost_lease,
        )
    return report


# --- the scheduler hook --------------------------------------------------------------------------

WORKER_ID = default_worker_id()
_clients: weakref.WeakKeyDictionary[Any, WebClient] = weakref.WeakKeyDictionary()


def engine_client(deps: Deps) -> WebClient:
    """A client that does not sleep on 429 nor retry a 5xx itself (the engine reschedules instead);
    made once per bot."""
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
        deliver_due(
            deps, clock=deps.clock, worker_id=WORKER_ID, client=engine_client(deps), senders=deps.settings.senders
        )
