"""HTTP mode: Slack's requests on POST /slack/events, a health check on GET /healthz, metrics on GET /metrics.

Served by waitress (multi-threaded, production-grade); Bolt's own `app.start()` is a
single-threaded development server that drops connections under load.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.kernel.metrics import Metrics

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
SLACK_PATH = "/slack/events"


class SlackWsgiApp:
    def __init__(self, app: App, sessions: sessionmaker[Session], metrics: Metrics | None = None) -> None:
        self._slack = SlackRequestHandler(app, path=SLACK_PATH)
        self._sessions = sessions
        self._metrics = metrics

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

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            with self._sessions() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means "not healthy", whatever its type
            log.warning("health check failed: %s", type(exc).__name__)
            return _plain(start_response, "503 Service Unavailable", b"database unavailable\n")
        return _plain(start_response, "200 OK", b"ok\n")

    def _scrape(self, start_response: StartResponse, metrics: Metrics) -> Iterable[bytes]:
        body = metrics.exposition()
        start_response("200 OK", [("Content-Type", METRICS_CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]


def _plain(start_response: StartResponse, status: str, body: bytes) -> Iterable[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def make_server(wsgi_app: SlackWsgiApp, *, host: str, port: int, threads: int) -> Any:
    """A waitress server, not yet serving: call `.run()` (blocks) and `.close()` to stop."""
    from waitress.server import create_server

    return create_server(wsgi_app, host=host, port=port, threads=threads, ident="cba-bot", connection_limit=1000)
