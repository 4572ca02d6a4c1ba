"""HTTP mode: Slack's requests on POST /slack/events, a health check on GET /healthz, metrics on GET /metrics.

Served by waitress (multi-threaded, production-grade); Bolt's own `app.start()` is a
single-threaded development server that drops connections under load.

A request to /slack/events passes three gates before Bolt sees it (SPEC §3, Hostile input):
1. size: a body over `MAX_BODY_BYTES` is refused with 413 before it is read (waitress refuses it
   from the Content-Length header, or once a chunked body grows past the limit; this app reads at
   most one byte more than the limit whatever the server);
2. signature: checked here on the raw bytes, so an unsigned or stale request gets 401 whatever its
   body holds, and its body is never parsed nor logged (Bolt logs the body of a request it refuses);
3. form: a body Bolt cannot read or route (not UTF-8, broken JSON, a JSON array, a `payload` that is
   not a JSON object, a form that is no slash command) gets 400, never 500.
Bolt then checks the signature again (cheap) and dispatches as usual. From the signature check on, a
request works in one of the admission's slots (`CBA_REQUEST_SLOTS`, bot.kernel.admission), in arrival order.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.request import BoltRequest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.admission import Admission
from bot.kernel.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.kernel.metrics import Metrics
from storage.db import deferred_begin

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
SLACK_PATH = "/slack/events"
MAX_BODY_BYTES = 1024 * 1024
# Slack's rule: a request whose timestamp is more than five minutes away from now is refused.
SIGNATURE_MAX_AGE_S = 300


class SlackWsgiApp:
    def __init__(
        self,
        app: App,
        sessions: sessionmaker[Session],
        *,
        signing_secret: str | None,
        metrics: Metrics | None = None,
        admission: Admission | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app = app
        self._sessions = sessions
        # None only when the app runs without request verification (it then accepts any request).
        self._secret = signing_secret.encode() if signing_secret else None
        self._metrics = metrics
        # The bot's own (Deps.admission), so that a request stepping aside for Slack frees its slot here.
        self._admission = admission
        self._clock = clock

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return self._health(start_response)
        if path == SLACK_PATH and method == "POST":
            return self._slack(environ, start_response)
        if path == "/metrics" and method in ("GET", "HEAD") and self._metrics is not None:
            return self._scrape(start_response, self._metrics)
        return _plain(start_response, "404 Not Found", b"not found\n")

    def _refuse(self, refusal: Refusal, start_response: StartResponse) -> Iterable[bytes]:
        if self._metrics is not None:
            self._metrics.refused(int(refusal.status.split()[0]), refusal.key)
        return refusal.answer(start_response)

    def _slack(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raw = _read_body(environ)
        if isinstance(raw, Refusal):
            return self._refuse(raw, start_response)
        if self._admission is None:
            return self._dispatch(raw, environ, start_response)
        with self._admission.slot():
            return self._dispatch(raw, environ, start_response)

    def _dispatch(self, raw: bytes, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        headers = WsgiHttpRequest(environ).get_headers()
        if self._secret is not None and not _signed(self._secret, raw, headers, self._clock()):
            return self._refuse(UNSIGNED, start_response)
        request = _bolt_request(raw, headers, environ.get("QUERY_STRING", ""))
        if request is None:
            return self._refuse(MALFORMED, start_response)
        response = self._app.dispatch(request)
        answer = WsgiHttpResponse(status=response.status, headers=response.headers, body=response.body)
        start_response(answer.status, answer.get_headers())
        return answer.get_body()

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        # A deferred (read) transaction: on SQLite the default BEGIN IMMEDIATE would queue the health
        # check behind every writer (and take the write lock itself).
        try:
            with deferred_begin(), self._sessions() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means "not healthy", whatever its type
            log.warning("health check failed: %s", type(exc).__name__)
            return _plain(start_response, "503 Service Unavailable", b"database unavailable\n")
        return _plain(start_response, "200 OK", b"ok\n")

    def _scrape(self, start_response: StartResponse, metrics: Metrics) -> Iterable[bytes]:
        body = metrics.exposition()
        start_response("200 OK", [("Content-Type", METRICS_CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]


class Refusal:
    """An answer given before Bolt sees the request; `reason` goes to the log (never the body), `key` to the
    metrics."""

    def __init__(self, status: str, reason: str, key: str) -> None:
        self.status = status
        self.reason = reason
        self.key = key

    def answer(self, start_response: StartResponse) -> Iterable[bytes]:
        log.info("refused a request to %s: %s", SLACK_PATH, self.reason)
        return _plain(start_response, self.status, self.reason.encode() + b"\n")


TOO_LARGE = Refusal("413 Request Entity Too Large", f"body over {MAX_BODY_BYTES} bytes", "too_large")
BAD_LENGTH = Refusal("400 Bad Request", "invalid Content-Length", "bad_length")
UNSIGNED = Refusal("401 Unauthorized", "invalid request signature", "unsigned")
MALFORMED = Refusal("400 Bad Request", "malformed body", "malformed")


def _read_body(environ: dict[str, Any]) -> bytes | Refusal:
    """The body, read whole only when it is at most MAX_BODY_BYTES long."""
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    if declared and not declared.isdigit():
        return BAD_LENGTH
    length = int(declared) if declared else None
    if length is not None and length > MAX_BODY_BYTES:
        return TOO_LARGE
    stream = environ.get("wsgi.input")
    if stream is None or length == 0:
        return b""
    # Without a length (a server that passes a chunked body through), one byte past the limit tells.
    raw = bytes(stream.read(MAX_BODY_BYTES + 1 if length is None else length))
    return TOO_LARGE if len(raw) > MAX_BODY_BYTES else raw


def _signed(secret: bytes, raw: bytes, headers: dict[str, Any], now: float) -> bool:
    """Slack's v0 signature over the raw bytes (no decoding: a body need not be UTF-8 to be refused)."""
    timestamp = str(headers.get("x-slack-request-timestamp", ""))
    signature = str(headers.get("x-slack-signature", ""))
    if not timestamp.isdigit() or abs(now - int(timestamp)) > SIGNATURE_MAX_AGE_S:
        return False
    digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={digest}", signature)


def _bolt_request(raw: bytes, headers: dict[str, Any], query: str) -> BoltRequest | None:
    """Bolt's request, or None when Bolt cannot read the body as one of Slack's payloads."""
    try:
        request = BoltRequest(body=raw.decode("utf-8"), query=query, headers=headers)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        # UnicodeDecodeError and JSONDecodeError are ValueErrors; the others come from Bolt reading
        # fields of a payload that is not a JSON object (`[]`, `payload=[1]`, `{"team": 5}`).
        return None
    body = request.body
    return request if isinstance(body, dict) and not _ROUTABLE.isdisjoint(body) else None


# Every body Slack sends names its kind: a payload's `type` (events, buttons, forms, url_verification),
# a slash command's `command`, or Slack's `ssl_check`. Without one, Bolt could only answer 404.
_ROUTABLE = frozenset({"type", "command", "ssl_check"})


def _plain(start_response: StartResponse, status: str, body: bytes) -> Iterable[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def make_server(wsgi_app: SlackWsgiApp, *, host: str, port: int, threads: int) -> Any:
    """A waitress server, not yet serving: call `.run()` (blocks) and `.close()` to stop."""
    from waitress.server import BaseWSGIServer, create_server

    server = create_server(
        wsgi_app,
        host=host,
        port=port,
        threads=threads,
        ident="cba-bot",
        connection_limit=1000,
        # waitress refuses a body of this size or more (413) from its Content-Length, before reading it.
        max_request_body_size=MAX_BODY_BYTES + 1,
        expose_tracebacks=False,
    )
    if isinstance(server, BaseWSGIServer):  # one host and port, as here (not waitress's multi-socket server)
        server.channel_class = _quiet_channel_class()
    return server


# While a task runs, its channel is flushed by the main loop only from this many bytes on (an answer being
# streamed); a smaller answer goes when the task ends, which pulls the server's trigger (HTTPChannel.service).
STREAMING_BYTES = 18_000


def _quiet_channel_class() -> type:
    """waitress's HTTP channel without a busy loop in the server's main thread.

    A task writes its answer under the channel's output lock and, inside it, pulls the server's trigger: the
    main loop wakes, finds the channel "writable", cannot take the lock, and returns from select() at once,
    again and again, while the task waits for the GIL that the spinning loop keeps taking (up to the 5 ms
    switch interval). Measured at 50 clients: 30–58 passes of the loop and 1.5–2 ms of CPU per request.
    Here a channel whose task is still running is writable only with a streamed answer's worth of output."""
    from waitress.channel import HTTPChannel

    class QuietChannel(HTTPChannel):
        def writable(self) -> bool:
            if self.will_close or self.close_when_flushed:
                return True
            if not self.total_outbufs_len:
                return False
            return not self.requests or self.total_outbufs_len >= STREAMING_BYTES

    return QuietChannel
