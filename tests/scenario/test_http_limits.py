"""Hostile HTTP input (SPEC §3): oversized bodies get 413 before they are read, malformed bodies 400
(signed) or 401 (unsigned), never 500; /healthz never waits for or takes SQLite's write lock.

Real HTTP against the bot's real WSGI app behind waitress, in this process (so that the test can look
at the database and the fake Slack afterwards).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import io
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot
from bot.console import slack_payloads as payloads
from bot.console.fakeslack import FakeSlack
from bot.kernel.admission import Admission
from bot.server import MAX_BODY_BYTES, SlackWsgiApp
from tests.conftest import SIGNING_SECRET
from tests.factories import database_snapshot
from tests.http_server import RunningServer

MALFORMED: dict[str, bytes] = {
    "open brace": b"{",
    "not utf-8": b"command=/cba-help&text=\xff\xfe\xfa",
    "payload not json": b"payload=x",
    "json array": b"[]",
}


class Server:
    def __init__(self, bot: Bot, *, admission: Admission | None = None) -> None:
        app = SlackWsgiApp(bot.app, bot.deps.sessions, signing_secret=SIGNING_SECRET, admission=admission)
        self._running = RunningServer(app, threads=4)
        self.port = self._running.port

    def close(self) -> None:
        self._running.stop()

    def post(self, body: bytes | Iterator[bytes], headers: dict[str, str], *, chunked: bool = False) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("POST", "/slack/events", body=body, headers=headers, encode_chunked=chunked)
            response = connection.getresponse()
            return response.status, response.read().decode(errors="replace")
        finally:
            connection.close()

    def get(self, path: str, *, timeout: float = 5) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()


@pytest.fixture
def server(bot: Bot) -> Iterator[Server]:
    served = Server(bot)
    yield served
    served.close()


def _signed(body: bytes, content_type: str = payloads.FORM, *, secret: str = SIGNING_SECRET) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


def _help_body(fake: FakeSlack) -> bytes:
    fields = payloads.slash_command("U0VISITOR", "/cba-help", response_url=fake.new_response_url())
    return payloads.form_body(fields).encode()


def _nothing_happened(before: dict[str, Any], sessions: sessionmaker[Session], fake: FakeSlack) -> None:
    assert database_snapshot(sessions) == before
    assert fake.calls == []


class TestBodySize:
    def test_a_two_mib_body_gets_413(
        self, server: Server, sessions: sessionmaker[Session], fake_slack: FakeSlack
    ) -> None:
        before = database_snapshot(sessions)
        body = _help_body(fake_slack) + b"&pad=" + b"x" * (2 * MAX_BODY_BYTES)
        head = "".join(f"{name}: {value}\r\n" for name, value in _signed(body).items())
        head = f"POST /slack/events HTTP/1.1\r\nHost: localhost\r\n{head}Content-Length: {len(body)}\r\n\r\n"
        answer = _post_raw(server, head.encode(), iter([body[i : i + 65536] for i in range(0, len(body), 65536)]))
        assert answer.startswith(b"HTTP/1.1 413 ")
        _nothing_happened(before, sessions, fake_slack)

    def test_413_comes_from_the_headers_before_any_body_byte_is_sent(self, server: Server) -> None:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(
                b"POST /slack/events HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                + f"Content-Length: {2 * MAX_BODY_BYTES}\r\n\r\n".encode()
            )
            answer = sock.recv(1024)
        assert answer.startswith(b"HTTP/1.1 413 ")

    def test_a_chunked_body_over_the_limit_gets_413(
        self, server: Server, sessions: sessionmaker[Session], fake_slack: FakeSlack
    ) -> None:
        before = database_snapshot(sessions)
        head = (
            b"POST /slack/events HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"10000\r\n" + b"x" * 65536 + b"\r\n"
        answer = _post_raw(server, head, iter([chunk] * (2 * MAX_BODY_BYTES // 65536) + [b"0\r\n\r\n"]))
        assert answer.startswith(b"HTTP/1.1 413 ")
        _nothing_happened(before, sessions, fake_slack)

    def test_a_body_of_exactly_the_limit_is_read_and_answered(self, server: Server, fake_slack: FakeSlack) -> None:
        body = _help_body(fake_slack)
        body += b"&pad=" + b"x" * (MAX_BODY_BYTES - len(body) - 5)
        assert len(body) == MAX_BODY_BYTES
        status, text = server.post(body, _signed(body))
        assert status == 200, text
        assert "/cba-ask" in text


class TestMalformedBodies:
    @pytest.mark.parametrize("name", list(MALFORMED))
    @pytest.mark.parametrize("content_type", [payloads.FORM, payloads.JSON])
    def test_unsigned_gets_401(
        self, server: Server, sessions: sessionmaker[Session], fake_slack: FakeSlack, name: str, content_type: str
    ) -> None:
        before = database_snapshot(sessions)
        status, text = server.post(MALFORMED[name], {"Content-Type": content_type})
        assert status == 401
        assert "Traceback" not in text
        _nothing_happened(before, sessions, fake_slack)

    @pytest.mark.parametrize("name", list(MALFORMED))
    @pytest.mark.parametrize("content_type", [payloads.FORM, payloads.JSON])
    def test_signed_gets_400(
        self, server: Server, sessions: sessionmaker[Session], fake_slack: FakeSlack, name: str, content_type: str
    ) -> None:
        before = database_snapshot(sessions)
        body = MALFORMED[name]
        status, text = server.post(body, _signed(body, content_type))
        assert status == 400
        assert "Traceback" not in text
        _nothing_happened(before, sessions, fake_slack)

    @pytest.mark.parametrize(
        "body",
        [
            b"",
            b"payload=[1]",
            b"payload=%7B%7D",
            b'{"type": 5, "user": "x", "team": 7}',
            b'payload={"type":"block_actions","user":"x","actions":"y"}',
            b'{"type": "event_callback", "event": "x"}',
            b"command=/cba-help&text=%00%FF",
            b"\x00" * 100,
        ],
    )
    def test_other_odd_signed_bodies_never_get_500(self, server: Server, fake_slack: FakeSlack, body: bytes) -> None:
        status, text = server.post(body, _signed(body))
        assert status in (200, 400), text
        assert "Traceback" not in text

    def test_wrongly_signed_gets_401(self, server: Server, fake_slack: FakeSlack) -> None:
        body = _help_body(fake_slack)
        assert server.post(body, _signed(body, secret="not-the-secret"))[0] == 401
        stale = _signed(body)
        stale["X-Slack-Request-Timestamp"] = "abc"
        assert server.post(body, stale)[0] == 401

    def test_a_signed_well_formed_request_still_passes(self, server: Server, fake_slack: FakeSlack) -> None:
        body = _help_body(fake_slack)
        status, text = server.post(body, _signed(body))
        assert status == 200
        assert "/cba-ask" in text


class TestOwnBound:
    """Whatever the server in front, the app itself never reads more than the limit plus one byte."""

    class Endless(io.RawIOBase):
        def __init__(self) -> None:
            self.given = 0

        def read(self, size: int = -1) -> bytes:
            assert size >= 0, "an unbounded read"
            self.given += size
            return b"x" * size

    def _call(self, bot: Bot, environ: dict[str, Any]) -> str:
        app = SlackWsgiApp(bot.app, bot.deps.sessions, signing_secret=SIGNING_SECRET)
        statuses: list[str] = []
        b"".join(app(environ, lambda status, _headers: statuses.append(status)))
        return statuses[0]

    def test_no_length_reads_at_most_one_byte_past_the_limit(self, bot: Bot) -> None:
        stream = self.Endless()
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "wsgi.input": stream}
        assert self._call(bot, environ).startswith("413")
        assert stream.given == MAX_BODY_BYTES + 1

    def test_a_large_length_is_refused_unread(self, bot: Bot) -> None:
        stream = self.Endless()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/slack/events",
            "CONTENT_LENGTH": str(MAX_BODY_BYTES + 1),
            "wsgi.input": stream,
        }
        assert self._call(bot, environ).startswith("413")
        assert stream.given == 0

    def test_a_nonsense_length_gets_400(self, bot: Bot) -> None:
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "CONTENT_LENGTH": "-5"}
        assert self._call(bot, environ).startswith("400")


class TestHealth:
    def test_answers_while_another_connection_holds_the_sqlite_write_lock(
        self, server: Server, db_url: str, sessions: sessionmaker[Session]
    ) -> None:
        if not db_url.startswith("sqlite"):
            pytest.skip("SQLite's write lock")
        path = make_url(db_url).database
        assert path is not None
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE alembic_version SET version_num = version_num")
            assert server.get("/healthz", timeout=5) == 200
        finally:
            other.execute("ROLLBACK")
            other.close()

    def test_answers_while_a_writer_of_this_process_is_in_a_transaction(
        self, server: Server, sessions: sessionmaker[Session]
    ) -> None:
        """The in-process writer gate (SQLite) and row locks (PostgreSQL) are not the health check's business."""
        with sessions.begin() as writer:
            writer.execute(text("UPDATE alembic_version SET version_num = version_num"))
            assert server.get("/healthz", timeout=5) == 200


def _post_raw(server: Server, head: bytes, body: Iterator[bytes]) -> bytes:
    """Send a whole request while reading the answer: the server answers 413 and closes as soon as it has
    the headers, so the sender may meet a reset connection (as a client sending a huge body would)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:

        def send() -> None:
            try:
                sock.sendall(head)
                for chunk in body:
                    sock.sendall(chunk)
            except OSError:
                pass  # refused mid-body: what the test is about

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        answer = b""
        try:
            while b"\r\n" not in answer:
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
        except ConnectionResetError:
            pass
        sender.join(timeout=10)
    return answer
