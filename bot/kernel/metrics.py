"""What `GET /metrics` shows (SPEC 4.10), in Prometheus' text format.

One `Metrics` per bot (in its Deps), each with a registry of its own rather than prometheus_client's
global one, so that tests and several bots in one process never mix their numbers. The request adapters
count each request once it is acknowledged (kind, name, outcome) and time it; the delivery engine adds a
run's outcomes and Slack's errors when the run ends. The outbox's backlog is read from the database when
it is scraped, with one read-only query (on SQLite a deferred transaction: it never takes the write lock).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import deferred_begin
from storage.models import Reminder

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
KINDS = ("command", "action", "view", "event")
# answered: the caller got what they asked for; refused: a usage, permission or not-found answer;
# error: an apology for an internal error; late: the answer missed Slack's 3 s and went to the response_url;
# duplicate: an event Slack sent again (already handled).
OUTCOMES = ("answered", "refused", "error", "late", "duplicate")
# Slack drops a request not acknowledged within 3 s.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 3.0, 5.0, 10.0)
DELIVERY_OUTCOMES = ("sent", "retried", "failed", "skipped", "rate_limited", "lost_lease")
OPEN_STATUSES = ("pending", "claimed")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "cba_requests",
            "Slack requests handled, by kind (command, action, view, event), name and outcome "
            "(answered, refused, error, late, duplicate).",
            ["kind", "name", "outcome"],
            registry=self.registry,
        )
        self._ack = Histogram(
            "cba_ack_latency_seconds",
            "Time from a request reaching its listener to its acknowledgement, by kind.",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self._deliveries = Counter(
            "cba_deliveries",
            "Outbox messages handled by the delivery engine, by outcome (sent; retried: put back for a retry; "
            "failed: permanently; skipped: no longer needed; rate_limited; lost_lease).",
            ["outcome"],
            registry=self.registry,
        )
        self._slack_errors = Counter(
            "cba_slack_errors",
            "Errors the Slack Web API answered, by method and error code.",
            ["method", "code"],
            registry=self.registry,
        )
        self._refusals = Counter(
            "cba_http_refusals",
            "Requests to the Slack endpoint refused before Bolt saw them, by HTTP status and reason (too_large, "
            "bad_length, unsigned, malformed). A declared Content-Length over the limit is refused by the HTTP "
            "server itself, before the app: not counted here.",
            ["status", "reason"],
            registry=self.registry,
        )
        for kind in KINDS:
            self._ack.labels(kind)
        for outcome in DELIVERY_OUTCOMES:
            self._deliveries.labels(outcome)

    # --- recording (cheap: on the request path) ---------------------------------------------------

    def request(self, kind: str, name: str, outcome: str, started: float) -> None:
        """A request of `kind` was acknowledged; `started` is its `time.monotonic()` on arrival."""
        self._requests.labels(kind, name, outcome).inc()
        self._ack.labels(kind).observe(time.monotonic() - started)

    def deliveries(self, outcomes: Mapping[str, int], slack_errors: Mapping[tuple[str, str], int]) -> None:
        for outcome, number in outcomes.items():
            if number:
                self._deliveries.labels(outcome).inc(number)
        for (method, code), number in slack_errors.items():
            self._slack_errors.labels(method, code).inc(number)

    def slack_error(self, method: str, code: str) -> None:
        self._slack_errors.labels(method, code).inc()

    def refused(self, status: int, reason: str) -> None:
        self._refusals.labels(str(status), reason).inc()

    # --- reading ----------------------------------------------------------------------------------

    def watch_outbox(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        """Report the outbox's backlog on every scrape (once per Metrics)."""
        if getattr(self, "_outbox", None) is None:
            self._outbox = OutboxCollector(sessions, clock)
            self.registry.register(self._outbox)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def slack_error_labels(exc: SlackApiError, method: str) -> tuple[str, str]:
    """(method, code) of a Slack error: the method from the URL that answered it when known (an upload's
    conversations.open, a join before a post), else `method`; the code Slack gave, else the HTTP status."""
    response = exc.response
    url = str(getattr(response, "api_url", "") or "")
    called = url.rstrip("/").rsplit("/", 1)[-1] if url else ""
    code = response.get("error") if isinstance(response.data, dict) else None
    return called or method, str(code or f"http_{response.status_code}")


class OutboxCollector:
    """The backlog, read at scrape time: due messages not yet delivered, the age of the oldest, and the
    messages scheduled for later. One read-only query on the (status, due_at) index."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        return self._families(None)

    def collect(self) -> Iterable[Metric]:
        try:
            numbers = self._read()
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("reading the outbox backlog failed: %s", type(exc).__name__)
            numbers = None
        return self._families(numbers)

    def _read(self) -> tuple[int, float, int]:
        now = self._clock()
        open_rows = Reminder.status.in_(OPEN_STATUSES)
        with deferred_begin(), self._sessions() as session:
            due, oldest = session.execute(
                select(func.count(), func.min(Reminder.due_at)).where(open_rows, Reminder.due_at <= now)
            ).one()
            later = session.scalar(select(func.count()).select_from(Reminder).where(open_rows, Reminder.due_at > now))
            session.rollback()
        age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        return int(due or 0), age, int(later or 0)

    def _families(self, numbers: tuple[int, float, int] | None) -> list[Metric]:
        backlog = GaugeMetricFamily(
            "cba_outbox_backlog", "Outbox messages due and not yet delivered (pending or being sent)."
        )
        age = GaugeMetricFamily(
            "cba_outbox_oldest_due_age_seconds", "How long the oldest due, undelivered outbox message has waited."
        )
        scheduled = GaugeMetricFamily("cba_outbox_scheduled", "Outbox messages planned for later (not yet due).")
        if numbers is not None:
            backlog.add_metric([], numbers[0])
            age.add_metric([], numbers[1])
            scheduled.add_metric([], numbers[2])
        return [backlog, age, scheduled]
