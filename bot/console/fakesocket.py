"""A local stand-in for Slack's Socket Mode endpoint (tests only; needs the ``websockets`` dev dependency).

How Slack does it: the app calls ``apps.connections.open`` with its app-level token (``xapp-…``) and gets a
one-time ``wss://…/link/?ticket=…`` URL; on that websocket Slack sends ``{"type": "hello", …}`` and then
envelopes ``{"envelope_id", "type": "slash_commands" | "interactive" | "events_api", "payload",
"accepts_response_payload"}``; the app acknowledges each one with ``{"envelope_id", "payload"?}`` on the same
socket. The payload of a slash command's ack is what the user sees, like an HTTP ack body.

This server plays Slack's side over plain ``ws://127.0.0.1`` (slack_sdk's built-in client speaks TLS only
to port 443, so loopback works unchanged). ``FakeSlack`` owns one and answers ``apps.connections.open``
with :meth:`SocketModeServer.mint_url`; a test drives it::

    socket = fake.socket_mode()
    socket.wait_connected()
    ack = socket.request("slash_commands", payloads.slash_command(user, "/cba-help"))
    assert "/cba-ask" in ack["payload"]["text"]

Everything the app sends is recorded (:attr:`received`); an envelope the app never acknowledges makes
:meth:`wait_ack` fail, as Slack would time it out.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

__all__ = ["SocketModeServer"]

JsonDict = dict[str, Any]

# Envelope types whose ack may carry a payload that Slack uses (the answer to a command, a view response).
_ACCEPTS_RESPONSE_PAYLOAD = {"slash_commands": True, "interactive": True, "events_api": False}


class SocketModeServer:
    """Slack's side of Socket Mode on 127.0.0.1: tickets, ``hello``, envelopes out, acks in."""

    def __init__(self, *, app_id: str) -> None:
        self.app_id = app_id
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._tickets: set[str] = set()
        self._open: list[ServerConnection] = []
        self._retiring: list[ServerConnection] = []
        self._connects = 0
        self._received: list[JsonDict] = []
        self._envelope_ids = itertools.count(1)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------

    def start(self) -> SocketModeServer:
        self._server = serve(self._handle, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fakeslack-socket", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            connection.close()
        server.shutdown()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("SocketModeServer not started")
        return int(self._server.socket.getsockname()[1])

    def mint_url(self) -> str:
        """A one-time websocket URL, as ``apps.connections.open`` hands out."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    # ---- driving the app -------------------------------------------------

    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> None:
        """Block until ``count`` connections have been accepted in total (and one is open)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._connects >= count and bool(self._open), timeout):
                raise AssertionError(f"the app did not open Socket Mode connection #{count} within {timeout}s")

    def wait_disconnected(self, timeout: float = 10.0) -> None:
        """Block until no connection is open (the app went away or closed its socket)."""
        with self._changed:
            if not self._changed.wait_for(lambda: not self._open, timeout):
                raise AssertionError(f"the app still holds its Socket Mode connection after {timeout}s")

    @property
    def connected(self) -> bool:
        with self._lock:
            return bool(self._open)

    def send(self, envelope_type: str, payload: JsonDict, *, retry_attempt: int | None = None) -> str:
        """Send an envelope on the open connection; returns its ``envelope_id``."""
        envelope_id = f"env-{next(self._envelope_ids):06d}-{uuid.uuid4().hex[:8]}"
        envelope: JsonDict = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": _ACCEPTS_RESPONSE_PAYLOAD.get(envelope_type, False),
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = "timeout" if retry_attempt else ""
        self._send_raw(envelope)
        return envelope_id

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the app to reconnect, as Slack does every few hours (``{"type": "disconnect"}``); like Slack,
        the old connection is closed once the app has opened a new one."""
        connection = self._send_raw({"type": "disconnect", "reason": reason, "debug_info": {"host": "fakeslack"}})
        with self._lock:
            self._retiring.append(connection)

    def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> JsonDict:
        """The app's acknowledgement of ``envelope_id``: ``{"envelope_id", "payload"?}``."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._ack_of(envelope_id) is not None, timeout):
                raise AssertionError(f"envelope {envelope_id} was not acknowledged within {timeout}s")
            ack = self._ack_of(envelope_id)
            assert ack is not None
            return ack

    def request(self, envelope_type: str, payload: JsonDict, *, timeout: float = 5.0) -> JsonDict:
        """Send an envelope and wait for its ack."""
        return self.wait_ack(self.send(envelope_type, payload), timeout)

    @property
    def received(self) -> list[JsonDict]:
        """Every JSON message the app sent, in order."""
        with self._lock:
            return list(self._received)

    # ---- internals -------------------------------------------------------

    def _ack_of(self, envelope_id: str) -> JsonDict | None:
        acks = [message for message in self._received if message.get("envelope_id") == envelope_id]
        if len(acks) > 1:
            raise AssertionError(f"envelope {envelope_id} was acknowledged {len(acks)} times")
        return acks[0] if acks else None

    def _send_raw(self, message: JsonDict) -> ServerConnection:
        with self._lock:
            if not self._open:
                raise AssertionError("no open Socket Mode connection to send on")
            connection = self._open[-1]
        connection.send(json.dumps(message))
        return connection

    def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        query = parse_qs(urlsplit(request.path if request is not None else "").query)
        ticket = (query.get("ticket") or [""])[0]
        with self._lock:
            valid = ticket in self._tickets
            self._tickets.discard(ticket)
        if not valid:
            # A URL is good for one connection; Slack refuses a reused or made-up ticket.
            connection.close(code=1008, reason="invalid ticket")
            return
        with self._changed:
            self._open.append(connection)
            self._connects += 1
            number = self._connects
            retiring, self._retiring = self._retiring, []
            self._changed.notify_all()
        for old in retiring:
            old.close(code=1001, reason="reconnected")
        try:
            connection.send(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": number,
                        "debug_info": {"host": "fakeslack", "approximate_connection_time": 18060},
                        "connection_info": {"app_id": self.app_id},
                    }
                )
            )
            for raw in connection:
                try:
                    message = json.loads(raw)
                except ValueError:
                    message = {"unparsed": raw}
                with self._changed:
                    self._received.append(message if isinstance(message, dict) else {"unparsed": raw})
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._changed:
                self._open.remove(connection)
                self._changed.notify_all()
