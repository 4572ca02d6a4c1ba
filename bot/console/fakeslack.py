"""A fake Slack Web API served over real local HTTP.

The fake runs a ``ThreadingHTTPServer`` on 127.0.0.1 in a daemon thread so
that the production code path (``slack_sdk.WebClient`` -> urllib -> HTTP) is
exercised unchanged: point ``WebClient(base_url=fake.url)`` at it.  It is used
by the test suite and by ``cba-bot console`` to render what the bot "posts".

It keeps just enough Slack state (users, channels, messages, views, files) to
answer the methods the bot uses, validates Block Kit with ``slack_sdk.models``
the way Slack does, records every request, and can inject failures.

Socket Mode: ``apps.connections.open`` (app-level token ``xapp-…`` only) hands
out a URL of a local websocket server, :meth:`FakeSlack.socket_mode`, through
which a test sends envelopes and reads the app's acks (see ``fakesocket.py``;
it needs the ``websockets`` dev dependency, imported only when used).
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import itertools
import json
import logging
import mimetypes
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

if TYPE_CHECKING:
    from bot.console.fakesocket import SocketModeServer

__all__ = [
    "Call",
    "FakeSlack",
    "Message",
    "UploadedFile",
    "validate_blocks",
    "validate_view",
]

JsonDict = dict[str, Any]

log = logging.getLogger(__name__)

BOT_ID = "B0001"
APP_ID = "A0001"
# Slack's documented limits; exceeding them is what breaks in production.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT_LENGTH = 40_000
RESPONSE_URL_MAX_USES = 5
# Deterministic, monotonic timestamps keep test output stable across runs.
_TS_BASE_MICROS = 1_700_000_000_000_000
# Arguments that form-encoded clients send as JSON strings; decoded on arrival
# so assertions see the same shape whichever transport slack_sdk picked.
_JSON_ARGS = ("blocks", "attachments", "view", "files", "metadata")


@dataclass
class Call:
    """One request the fake received, with the answer it gave."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float
    response: dict[str, Any]
    status: int = 200


@dataclass
class Message:
    """A message as it currently stands in a channel."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    user: str = ""
    ephemeral_to: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    edits: int = 0
    reactions: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class UploadedFile:
    """A file completed via files.completeUploadExternal."""

    id: str
    filename: str
    title: str
    content: bytes
    channel_id: str | None
    initial_comment: str | None
    thread_ts: str | None


@dataclass
class _User:
    id: str
    name: str
    real_name: str
    email: str | None
    tz: str
    deleted: bool
    is_bot: bool


@dataclass
class _Channel:
    id: str
    name: str
    archived: bool = False
    members: list[str] = field(default_factory=list)
    is_im: bool = False
    is_mpim: bool = False
    im_user: str | None = None
    # Posting needs the bot in `members` (chat.postMessage and file shares answer not_in_channel).
    bot_must_join: bool = False
    private: bool = False


@dataclass
class _Fault:
    method: str
    error: str
    status: int
    remaining: int | None
    when: Callable[[dict[str, Any]], bool] | None
    retry_after: int | None


@dataclass
class _ResponseUrl:
    channel: str | None
    user: str | None
    message_ts: str | None
    uses: int = 0


@dataclass
class _PendingUpload:
    filename: str
    length: int
    content: bytes | None = None


class _SlackError(Exception):
    """Raised by handlers; becomes ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, *, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra


# --------------------------------------------------------------------------
# Block Kit validation (public: the console reuses it to lint its own input)
# --------------------------------------------------------------------------


def validate_blocks(blocks: Any, *, limit: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    """Return Slack-style error strings for ``blocks``; empty means valid."""
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return ["blocks is not valid JSON [json-pointer:/blocks]"]
    if not isinstance(blocks, list):
        return ["blocks must be an array [json-pointer:/blocks]"]
    if len(blocks) > limit:
        return [f"no more than {limit} items allowed [json-pointer:/blocks]"]
    errors: list[str] = []
    for index, raw in enumerate(blocks):
        where = f"[json-pointer:/blocks/{index}]"
        if not isinstance(raw, dict) or "type" not in raw:
            errors.append(f"must provide an object with a type {where}")
            continue
        try:
            block = Block.parse(raw)
            if block is None:
                errors.append(f"unsupported block type {raw['type']!r} {where}")
                continue
            # to_dict() is what runs slack_sdk's length/shape validators,
            # recursively through elements and text objects.
            block.to_dict()
        except Exception as exc:  # slack_sdk raises assorted types on bad input
            errors.append(f"{exc} {where}")
    return errors


def validate_view(view: Any, *, types: tuple[str, ...] = ("modal", "home")) -> list[str]:
    """Return Slack-style error strings for a modal/home ``view``."""
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError:
            return ["view is not valid JSON"]
    if not isinstance(view, dict):
        return ["view must be an object"]
    if view.get("type") not in types:
        return [f"view type must be one of: {', '.join(types)}"]
    if "blocks" not in view:
        return ["missing required field: blocks"]
    errors = validate_blocks(view["blocks"], limit=MAX_VIEW_BLOCKS)
    if errors:
        return errors
    if view["type"] == "modal" and not view.get("title"):
        return ["missing required field: title"]
    try:
        # Title/submit/close lengths and the block count live on View.
        View(**view).to_dict()
    except Exception as exc:  # slack_sdk raises assorted types on bad input
        return [str(exc)]
    return []


# --------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: a burst of 50 concurrent clients (race tests)
    # then sees dropped SYNs (1 s retransmits) and resets. Slack itself has no such limit.
    request_queue_size = 128

    def __init__(self, fake: FakeSlack) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response is routine in tests; handler bugs
        # are already turned into 500 answers, so there is nothing to print.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # A stuck client must not pin a worker thread forever.
    timeout = 30

    def do_POST(self) -> None:
        body = self._read_body()
        status, headers, payload = self.server.fake._handle_http(self.path, dict(self.headers.items()), body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # Slack accepts GET with query-string args too; same code path.
    do_GET = do_POST

    def _read_body(self) -> bytes:
        # aiohttp (AsyncWebClient) may stream chunked bodies.
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def log_message(self, format: str, *args: Any) -> None:
        # Keep test output and the console clean.
        pass


def _header(headers: dict[str, str], name: str) -> str:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return ""


def _parse_body(headers: dict[str, str], body: bytes) -> JsonDict:
    if not body:
        return {}
    content_type = _header(headers, "Content-Type")
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise _SlackError("invalid_json") from None
        if not isinstance(data, dict):
            raise _SlackError("invalid_json")
        return data
    if kind == "multipart/form-data":
        raw = f"Content-Type: {content_type}\r\n\r\n".encode() + body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        form: JsonDict = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            data_bytes = payload if isinstance(payload, bytes) else b""
            is_file = part.get_filename() is not None
            form[name] = data_bytes if is_file else data_bytes.decode("utf-8")
        return form
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def _decode_json_args(args: JsonDict) -> JsonDict:
    for key in _JSON_ARGS:
        value = args.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            # Invalid JSON stays a string; the validators then report it.
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    return args


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _str_arg(args: JsonDict, key: str, error: str) -> str:
    value = args.get(key)
    if value is None or value == "":
        raise _SlackError(error)
    return str(value)


def _id_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


def _page(items: list[Any], args: JsonDict, default_limit: int) -> tuple[list[Any], JsonDict]:
    """Cursor pagination; the cursor is simply the next offset."""
    try:
        start = int(str(args.get("cursor") or "0"))
        limit = int(str(args.get("limit") or "0"))
    except ValueError:
        raise _SlackError("invalid_cursor") from None
    limit = limit if limit > 0 else default_limit
    end = start + limit
    next_cursor = str(end) if end < len(items) else ""
    return items[start:end], {"next_cursor": next_cursor}


def _tz_offset(tz: str) -> int:
    try:
        offset = ZoneInfo(tz).utcoffset(datetime.now(UTC))
    except Exception:  # unknown zone name: Slack would fall back to UTC too
        return 0
    return int(offset.total_seconds()) if offset else 0


# --------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------


_MethodFn = Callable[[JsonDict], JsonDict]


class FakeSlack:
    """In-process Slack Web API over HTTP; see module docstring."""

    # Tokens the fake accepts; anything else is ``invalid_auth``.
    token_prefixes: tuple[str, ...] = ("xoxb-",)
    # The app-level token: good for apps.connections.open and nothing else (and only it is).
    app_token_prefix = "xapp-"
    app_token_methods = frozenset({"apps.connections.open"})

    def __init__(self, *, bot_user_id: str = "UBOT", team_id: str = "T0001") -> None:
        self.bot_user_id = bot_user_id
        self.team_id = team_id
        # One re-entrant lock guards all state; the condition wakes wait_for().
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._calls: list[Call] = []
        self._messages: list[Message] = []
        self._views: dict[str, JsonDict] = {}
        self._home: dict[str, JsonDict] = {}
        self._files: list[UploadedFile] = []
        self._users: dict[str, _User] = {}
        self._channels: dict[str, _Channel] = {}
        self._faults: list[_Fault] = []
        self._delays: dict[str | None, float] = {}  # method (None: every method) -> seconds
        self._listeners: list[Callable[[Call], None]] = []
        self._triggers: dict[str, bool] = {}  # trigger_id -> already used
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._uploads: dict[str, _PendingUpload] = {}
        self._external_ids: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._ts_seq = itertools.count(1)
        self._socket: SocketModeServer | None = None
        self._methods: dict[str, _MethodFn] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.join": self._conversations_join,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "users.list": self._users_list,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "reactions.add": self._reactions_add,
        }
        # Real workspaces list the bot itself in users.list / users.info.
        self.add_user(bot_user_id, "bot", is_bot=True)

    # ---- lifecycle -------------------------------------------------------

    def start(self) -> FakeSlack:
        with self._lock:
            if self._server is not None:
                raise RuntimeError("FakeSlack already started")
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                # stop() waits up to one poll for the loop to notice: the tests start and stop a fake per test.
                kwargs={"poll_interval": 0.01},
                name="fakeslack",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            socket, self._socket = self._socket, None
        if socket is not None:
            socket.stop()
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return self.base + "/api/"

    # ---- seeding ---------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        email: str | None = None,
        tz: str = "Europe/Brussels",
        deleted: bool = False,
        is_bot: bool = False,
        real_name: str | None = None,
    ) -> None:
        with self._lock:
            self._users[user_id] = _User(user_id, name, real_name or name, email, tz, deleted, is_bot)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        archived: bool = False,
        members: list[str] | None = None,
        bot_must_join: bool = False,
        private: bool = False,
    ) -> None:
        """Register a channel.  A non-empty ``members`` list is enforced for
        chat.postEphemeral (``user_not_in_channel``); empty means unchecked.
        With ``bot_must_join`` the bot must be among ``members`` to post or share a file there
        (``not_in_channel``), as in real Slack; ``conversations.join`` adds it unless ``private``."""
        with self._lock:
            self._channels[channel_id] = _Channel(
                channel_id, name, archived, list(members or []), bot_must_join=bot_must_join, private=private
            )

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> Message:
        """Seed a message written by someone (e.g. a human) without an API
        call, so conversations.replies / reactions have something to see."""
        with self._lock:
            if channel[:1] in ("U", "W"):
                channel = self._open_dm(channel).id
            message = Message(channel, self._next_ts(), text, list(blocks or []), thread_ts, user)
            self._messages.append(message)
            self._changed.notify_all()
            return message

    def new_response_url(
        self,
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """Mint a response_url.  With ``channel`` its posts become Messages
        (ephemeral to ``user`` unless ``response_type`` is ``in_channel``) and
        ``replace_original``/``delete_original`` act on ``message_ts``."""
        with self._lock:
            url_id = str(next(self._ids))
            self._response_urls[url_id] = _ResponseUrl(channel, user, message_ts)
        return f"{self.base}/_response/{url_id}"

    def new_trigger_id(self) -> str:
        with self._lock:
            trigger_id = f"1234.5678.abcdef{next(self._ids)}"
            self._triggers[trigger_id] = False
        return trigger_id

    def socket_mode(self) -> SocketModeServer:
        """The Socket Mode endpoint that ``apps.connections.open`` points to (started on first use)."""
        from bot.console.fakesocket import SocketModeServer

        with self._lock:
            if self._socket is None:
                self._socket = SocketModeServer(app_id=APP_ID).start()
            return self._socket

    def subscribe(self, listener: Callable[[Call], None]) -> None:
        """Call ``listener(call)`` after each request is recorded (from the
        server thread, before the HTTP answer is sent)."""
        with self._lock:
            self._listeners.append(listener)

    # ---- fault injection -------------------------------------------------

    def fail(
        self,
        method: str,
        error: str,
        *,
        status: int = 200,
        times: int | None = None,
        when: Callable[[dict[str, Any]], bool] | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` matching calls (None = all) fail.
        ``method`` may be ``"*"``, ``"response_url"`` or ``"file_upload"``."""
        if times is not None and times <= 0:
            return
        with self._lock:
            self._faults.append(_Fault(method, error, status, times, when, retry_after))

    def rate_limit(self, method: str, *, times: int, retry_after: int = 1) -> None:
        self.fail(method, "ratelimited", status=429, times=times, retry_after=retry_after)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def delay(self, method: str | None, seconds: float) -> None:
        """Answer ``method`` (None or ``"*"``: every method) only after ``seconds``, as a slow Slack would.
        Requests are served concurrently (one thread each), so delays overlap; 0 removes the delay."""
        method = None if method == "*" else method
        with self._lock:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    # ---- inspection (all return snapshots) ------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def messages(self) -> list[Message]:
        with self._lock:
            return list(self._messages)

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self._views)

    @property
    def home(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self._home)

    @property
    def files(self) -> list[UploadedFile]:
        with self._lock:
            return list(self._files)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self._calls if call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until ``count`` calls to ``method`` were recorded."""
        with self._changed:
            done = self._changed.wait_for(lambda: len(self.calls_to(method)) >= count, timeout)
            found = self.calls_to(method)
            if not done:
                seen = [call.method for call in self._calls]
                raise AssertionError(
                    f"expected {count} call(s) to {method!r} within {timeout}s, got {len(found)}; received: {seen}"
                )
            return found

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    @staticmethod
    def dm_channel(user_id: str) -> str:
        return "D" + user_id

    def messages_in(self, channel: str) -> list[Message]:
        if channel[:1] in ("U", "W"):
            channel = self.dm_channel(channel)
        with self._lock:
            return [m for m in self._messages if m.channel == channel]

    def dms_to(self, user_id: str) -> list[Message]:
        return self.messages_in(self.dm_channel(user_id))

    # ---- request handling ------------------------------------------------

    def _handle_http(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(path)
        route = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))

        if route.startswith("/api/"):
            method = route[len("/api/") :]

            def read_api_args() -> JsonDict:
                return _decode_json_args({**query, **_parse_body(headers, body)})

            def api(args: JsonDict) -> JsonDict:
                handler = self._methods.get(method)
                if handler is None:
                    raise _SlackError("unknown_method")
                return handler(args)

            status, extra, response = self._run(method, headers, read_api_args, api, auth=True)
            return status, extra, self._json_bytes(extra, response)

        if route.startswith("/_response/"):
            url_id = route[len("/_response/") :]

            def read_response_args() -> JsonDict:
                try:
                    data = json.loads(body or b"null")
                except ValueError:
                    data = None
                if not isinstance(data, dict):
                    raise _SlackError("invalid_payload", status=400)
                return {**data, "url_id": url_id}

            status, extra, response = self._run("response_url", headers, read_response_args, self._response_url_post)
            return status, extra, self._json_bytes(extra, response)

        if route.startswith("/_upload/"):
            file_id = route[len("/_upload/") :]
            status, extra, response = self._run(
                "file_upload",
                headers,
                lambda: {"file_id": file_id, "length": len(body)},
                lambda args: self._raw_upload(file_id, body),
            )
            if status == 200:
                # slack_sdk only checks the status; Slack answers plain text.
                extra["Content-Type"] = "text/plain; charset=utf-8"
                return status, extra, f"OK - {len(body)}".encode()
            return status, extra, self._json_bytes(extra, response)

        status, extra, response = self._run(route, headers, lambda: dict(query), self._not_found)
        return status, extra, self._json_bytes(extra, response)

    @staticmethod
    def _json_bytes(extra: dict[str, str], response: JsonDict) -> bytes:
        extra.setdefault("Content-Type", "application/json; charset=utf-8")
        return json.dumps(response).encode()

    @staticmethod
    def _not_found(args: JsonDict) -> JsonDict:
        raise _SlackError("not_found", status=404)

    def _run(
        self,
        method: str,
        headers: dict[str, str],
        read_args: Callable[[], JsonDict],
        handler: _MethodFn,
        *,
        auth: bool = False,
    ) -> tuple[int, dict[str, str], JsonDict]:
        """Parse, authenticate, inject faults, handle and record one request."""
        args: JsonDict = {}
        extra: dict[str, str] = {}
        with self._lock:
            pause = self._delays.get(method, self._delays.get(None, 0.0))
        if pause:
            time.sleep(pause)  # outside the lock: other requests are answered meanwhile
        with self._lock:
            try:
                args = read_args()
                if auth:
                    self._check_auth(method, args, headers)
                fault = self._take_fault(method, args)
                if fault is not None:
                    status = fault.status
                    response: JsonDict = {"ok": False, "error": fault.error}
                    if status == 429 or fault.retry_after is not None:
                        extra["Retry-After"] = str(fault.retry_after or 1)
                else:
                    status, response = 200, handler(args)
            except _SlackError as exc:
                status = exc.status
                response = {"ok": False, "error": exc.error, **exc.extra}
            except Exception:
                # A bug in the fake: answer loudly instead of hanging the client.
                status = 500
                response = {
                    "ok": False,
                    "error": "fake_internal_error",
                    "detail": traceback.format_exc(),
                }
            call = Call(method, args, headers, time.time(), response, status)
            self._calls.append(call)
            self._changed.notify_all()
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(call)
            except Exception:
                log.exception("FakeSlack listener failed")
        return status, extra, response

    def _check_auth(self, method: str, args: JsonDict, headers: dict[str, str]) -> None:
        authorization = _header(headers, "Authorization")
        token = authorization[7:] if authorization.startswith("Bearer ") else args.get("token")
        if not token:
            raise _SlackError("not_authed")
        is_app_token = str(token).startswith(self.app_token_prefix)
        if not is_app_token and not str(token).startswith(self.token_prefixes):
            raise _SlackError("invalid_auth")
        if is_app_token != (method in self.app_token_methods):
            raise _SlackError("not_allowed_token_type")

    def _take_fault(self, method: str, args: JsonDict) -> _Fault | None:
        for fault in self._faults:
            if fault.method not in (method, "*"):
                continue
            if fault.when is not None and not fault.when(args):
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            return fault
        return None

    # ---- state helpers (lock held) --------------------------------------

    def _next_ts(self) -> str:
        micros = _TS_BASE_MICROS + next(self._ts_seq) * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _user(self, user_id: str, error: str = "user_not_found") -> _User:
        user = self._users.get(user_id)
        if user is None:
            raise _SlackError(error)
        return user

    def _open_dm(self, user_id: str) -> _Channel:
        channel_id = self.dm_channel(user_id)
        channel = self._channels.get(channel_id)
        if channel is None:
            members = sorted({user_id, self.bot_user_id})
            channel = _Channel(channel_id, user_id, members=members, is_im=True, im_user=user_id)
            self._channels[channel_id] = channel
        return channel

    def _lookup_channel(self, channel_id: str) -> _Channel:
        """Find a channel (archived ones included); DMs open on demand."""
        if channel_id.startswith("#"):
            for channel in self._channels.values():
                if channel.name == channel_id[1:] and not channel.is_im:
                    return channel
            raise _SlackError("channel_not_found")
        if channel_id[:1] in ("U", "W") and channel_id in self._users:
            return self._open_dm(channel_id)
        if channel_id.startswith("D") and channel_id[1:] in self._users:
            return self._open_dm(channel_id[1:])
        found = self._channels.get(channel_id)
        if found is None:
            raise _SlackError("channel_not_found")
        return found

    def _writable_channel(self, channel_id: str) -> str:
        """Resolve a post target the way chat.postMessage does."""
        channel = self._lookup_channel(channel_id)
        if channel.archived:
            raise _SlackError("is_archived")
        if channel.im_user is not None:
            user = self._users[channel.im_user]
            if user.deleted:
                raise _SlackError("account_inactive")
            if user.is_bot and user.id != self.bot_user_id:
                raise _SlackError("cannot_dm_bot")
        return channel.id

    def _find_message(self, channel: str, ts: str) -> Message:
        for message in self._messages:
            if message.channel == channel and message.ts == ts and not message.ephemeral_to:
                return message
        raise _SlackError("message_not_found")

    @staticmethod
    def _check_text(args: JsonDict) -> str:
        text = args.get("text")
        text = "" if text is None else str(text)
        if len(text) > MAX_TEXT_LENGTH:
            raise _SlackError("msg_too_long")
        return text

    @staticmethod
    def _blocks_arg(args: JsonDict, limit: int = MAX_MESSAGE_BLOCKS) -> list[JsonDict]:
        raw = args.get("blocks")
        if raw is None or raw == "":
            return []
        errors = validate_blocks(raw, limit=limit)
        if errors:
            raise _SlackError(
                "invalid_blocks",
                # response_url answers bad payloads with HTTP 400; the Web API
                # with 200 + ok:false.
                status=400 if "url_id" in args else 200,
                errors=errors,
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        return list(raw)

    @staticmethod
    def _view_arg(args: JsonDict, types: tuple[str, ...]) -> JsonDict:
        view = args.get("view")
        errors = validate_view(view, types=types)
        if errors:
            raise _SlackError(
                "invalid_arguments",
                errors=errors,
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        assert isinstance(view, dict)  # validate_view guarantees it
        return view

    def _message_json(self, message: Message) -> JsonDict:
        data: JsonDict = {
            "type": "message",
            "text": message.text,
            "user": message.user,
            "ts": message.ts,
            "team": self.team_id,
        }
        if message.user == self.bot_user_id:
            data.update(bot_id=BOT_ID, app_id=APP_ID)
        if message.blocks:
            data["blocks"] = message.blocks
        if message.thread_ts:
            data["thread_ts"] = message.thread_ts
        if message.files:
            data["files"] = message.files
        if message.edits:
            data["edited"] = {"user": message.user, "ts": message.ts}
        if message.reactions:
            data["reactions"] = [
                {"name": name, "users": users, "count": len(users)} for name, users in message.reactions.items()
            ]
        return data

    def _channel_json(self, channel: _Channel) -> JsonDict:
        private = channel.is_im or channel.is_mpim or channel.private or channel.id.startswith("G")
        data: JsonDict = {
            "id": channel.id,
            "name": channel.name,
            "created": 1_700_000_000,
            "is_channel": not private,
            "is_group": private and not (channel.is_im or channel.is_mpim),
            "is_im": channel.is_im,
            "is_mpim": channel.is_mpim,
            "is_private": private,
            "is_archived": channel.archived,
            "is_member": self.bot_user_id in channel.members,
            "num_members": len(channel.members),
        }
        if channel.im_user is not None:
            data["user"] = channel.im_user
        return data

    def _user_json(self, user: _User) -> JsonDict:
        profile: JsonDict = {
            "real_name": user.real_name,
            "display_name": user.name,
            "real_name_normalized": user.real_name,
        }
        if user.email is not None:
            profile["email"] = user.email
        return {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "real_name": user.real_name,
            "deleted": user.deleted,
            "is_bot": user.is_bot,
            "tz": user.tz,
            "tz_offset": _tz_offset(user.tz),
            "profile": profile,
        }

    # ---- API methods (lock held) -----------------------------------------

    def _auth_test(self, args: JsonDict) -> JsonDict:
        return {
            "ok": True,
            "url": self.base + "/",
            "team": "Fake Team",
            "user": self._users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _require_member(self, channel_id: str) -> None:
        channel = self._channels.get(channel_id)
        if channel is not None and channel.bot_must_join and self.bot_user_id not in channel.members:
            raise _SlackError("not_in_channel")

    def _apps_connections_open(self, args: JsonDict) -> JsonDict:
        return {"ok": True, "url": self.socket_mode().mint_url()}

    def _chat_post_message(self, args: JsonDict) -> JsonDict:
        channel = self._writable_channel(_str_arg(args, "channel", "channel_not_found"))
        self._require_member(channel)
        text = self._check_text(args)
        blocks = self._blocks_arg(args)
        if not text and not blocks and not args.get("attachments"):
            raise _SlackError("no_text")
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        message = Message(channel, self._next_ts(), text, blocks, thread_ts, self.bot_user_id)
        self._messages.append(message)
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": self._message_json(message),
        }

    def _chat_post_ephemeral(self, args: JsonDict) -> JsonDict:
        channel_id = self._writable_channel(_str_arg(args, "channel", "channel_not_found"))
        user = self._user(_str_arg(args, "user", "user_not_found"))
        if user.deleted:
            raise _SlackError("user_not_found")
        members = self._channels[channel_id].members
        if members and user.id not in members:
            raise _SlackError("user_not_in_channel")
        text = self._check_text(args)
        blocks = self._blocks_arg(args)
        if not text and not blocks and not args.get("attachments"):
            raise _SlackError("no_text")
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        message = Message(
            channel_id,
            self._next_ts(),
            text,
            blocks,
            thread_ts,
            self.bot_user_id,
            ephemeral_to=user.id,
        )
        self._messages.append(message)
        return {"ok": True, "message_ts": message.ts}

    def _chat_update(self, args: JsonDict) -> JsonDict:
        channel = self._writable_channel(_str_arg(args, "channel", "channel_not_found"))
        message = self._find_message(channel, _str_arg(args, "ts", "message_not_found"))
        if message.user != self.bot_user_id:
            raise _SlackError("cant_update_message")
        text = self._check_text(args)
        blocks = self._blocks_arg(args)
        if "text" in args:
            message.text = text
        if "blocks" in args:
            message.blocks = blocks
        message.edits += 1
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "text": message.text,
            "message": self._message_json(message),
        }

    def _chat_delete(self, args: JsonDict) -> JsonDict:
        channel = self._lookup_channel(_str_arg(args, "channel", "channel_not_found")).id
        message = self._find_message(channel, _str_arg(args, "ts", "message_not_found"))
        if message.user != self.bot_user_id:
            raise _SlackError("cant_delete_message")
        self._messages.remove(message)
        return {"ok": True, "channel": channel, "ts": message.ts}

    def _chat_get_permalink(self, args: JsonDict) -> JsonDict:
        channel = self._lookup_channel(_str_arg(args, "channel", "channel_not_found")).id
        ts = _str_arg(args, "message_ts", "message_not_found")
        self._find_message(channel, ts)
        permalink = f"{self.base}/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": permalink}

    def _conversations_open(self, args: JsonDict) -> JsonDict:
        user_ids = _id_list(args.get("users"))
        if not user_ids:
            if args.get("channel"):
                channel = self._lookup_channel(str(args["channel"]))
                return {"ok": True, "channel": self._channel_json(channel)}
            raise _SlackError("users_list_not_supplied")
        for user_id in user_ids:
            user = self._user(user_id)
            if user.deleted:
                raise _SlackError("user_disabled")
            if user.is_bot and user.id != self.bot_user_id:
                raise _SlackError("cannot_dm_bot")
        if len(user_ids) == 1:
            channel = self._open_dm(user_ids[0])
        else:
            # Group DM: deterministic id from its member set.
            members = sorted({*user_ids, self.bot_user_id})
            channel_id = "G" + "".join(members)
            channel = self._channels.setdefault(
                channel_id,
                _Channel(channel_id, "mpdm-" + "--".join(members), members=members, is_mpim=True),
            )
        return {"ok": True, "channel": self._channel_json(channel)}

    def _conversations_join(self, args: JsonDict) -> JsonDict:
        channel = self._lookup_channel(_str_arg(args, "channel", "channel_not_found"))
        if channel.archived:
            raise _SlackError("is_archived")
        if channel.is_im or channel.is_mpim or channel.private:
            raise _SlackError("method_not_supported_for_channel_type")
        if self.bot_user_id not in channel.members:
            channel.members.append(self.bot_user_id)
        return {"ok": True, "channel": self._channel_json(channel)}

    def _conversations_info(self, args: JsonDict) -> JsonDict:
        channel = self._lookup_channel(_str_arg(args, "channel", "channel_not_found"))
        return {"ok": True, "channel": self._channel_json(channel)}

    def _conversations_members(self, args: JsonDict) -> JsonDict:
        channel = self._lookup_channel(_str_arg(args, "channel", "channel_not_found"))
        members, metadata = _page(channel.members, args, 100)
        return {"ok": True, "members": members, "response_metadata": metadata}

    def _conversations_replies(self, args: JsonDict) -> JsonDict:
        channel = self._lookup_channel(_str_arg(args, "channel", "channel_not_found")).id
        ts = _str_arg(args, "ts", "thread_not_found")
        try:
            parent = self._find_message(channel, ts)
        except _SlackError:
            raise _SlackError("thread_not_found") from None
        replies = [
            m
            for m in self._messages
            if m.channel == channel and m.thread_ts == ts and m.ts != ts and not m.ephemeral_to
        ]
        parent_json = self._message_json(parent)
        if replies:
            parent_json.update(thread_ts=ts, reply_count=len(replies), latest_reply=replies[-1].ts)
        page, metadata = _page([parent_json, *(self._message_json(m) for m in replies)], args, 1000)
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(metadata["next_cursor"]),
            "response_metadata": metadata,
        }

    def _conversations_history(self, args: JsonDict) -> JsonDict:
        channel = self._lookup_channel(_str_arg(args, "channel", "channel_not_found")).id
        top_level = [
            self._message_json(m)
            for m in reversed(self._messages)  # Slack lists newest first
            if m.channel == channel and not m.ephemeral_to and (m.thread_ts is None or m.thread_ts == m.ts)
        ]
        page, metadata = _page(top_level, args, 100)
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(metadata["next_cursor"]),
            "response_metadata": metadata,
        }

    def _users_info(self, args: JsonDict) -> JsonDict:
        user = self._user(_str_arg(args, "user", "user_not_found"))
        return {"ok": True, "user": self._user_json(user)}

    def _users_lookup_by_email(self, args: JsonDict) -> JsonDict:
        email = _str_arg(args, "email", "users_not_found").lower()
        for user in self._users.values():
            # Slack does not find deactivated accounts by email.
            if user.email and user.email.lower() == email and not user.deleted:
                return {"ok": True, "user": self._user_json(user)}
        raise _SlackError("users_not_found")

    def _users_list(self, args: JsonDict) -> JsonDict:
        members = [self._user_json(u) for u in self._users.values()]
        page, metadata = _page(members, args, 1000)
        return {"ok": True, "members": page, "response_metadata": metadata}

    def _use_trigger(self, args: JsonDict) -> str:
        trigger_id = args.get("trigger_id") or args.get("interactivity_pointer")
        if not trigger_id:
            raise _SlackError("invalid_arguments", errors=["trigger_id is required"])
        used = self._triggers.get(str(trigger_id))
        if used is None:
            raise _SlackError("invalid_trigger_id")
        if used:
            raise _SlackError("exchanged_trigger_id")
        return str(trigger_id)

    def _store_view(self, view: JsonDict, view_id: str, *, root_view_id: str | None = None) -> JsonDict:
        stored: JsonDict = {
            "callback_id": "",
            "external_id": "",
            "private_metadata": "",
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "root_view_id": root_view_id or view_id,
            "previous_view_id": None,
            "hash": f"1700000000.{next(self._ids):08x}",
            "state": {"values": {}},
        }
        self._views[view_id] = stored
        if stored["external_id"]:
            self._external_ids[stored["external_id"]] = view_id
        return stored

    def _check_external_id(self, view: JsonDict, view_id: str | None = None) -> None:
        external_id = view.get("external_id")
        if external_id and self._external_ids.get(external_id, view_id) != view_id:
            raise _SlackError("duplicate_external_id")

    def _views_open(self, args: JsonDict) -> JsonDict:
        trigger_id = self._use_trigger(args)
        view = self._view_arg(args, ("modal",))
        self._check_external_id(view)
        # The trigger is only spent once the view was accepted.
        self._triggers[trigger_id] = True
        return {"ok": True, "view": self._store_view(view, self._new_id("V"))}

    def _views_push(self, args: JsonDict) -> JsonDict:
        return self._views_open(args)

    def _views_update(self, args: JsonDict) -> JsonDict:
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = self._external_ids.get(str(args["external_id"]))
        current = self._views.get(str(view_id or ""))
        if current is None:
            raise _SlackError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        view = self._view_arg(args, (current["type"],))
        self._check_external_id(view, current["id"])
        stored = self._store_view(view, current["id"], root_view_id=current["root_view_id"])
        for user_id, home in self._home.items():
            if home["id"] == stored["id"]:
                self._home[user_id] = stored
        return {"ok": True, "view": stored}

    def _views_publish(self, args: JsonDict) -> JsonDict:
        user = self._user(_str_arg(args, "user_id", "user_not_found"))
        current = self._home.get(user.id)
        if current is not None and args.get("hash") and args["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        view = self._view_arg(args, ("home",))
        view_id = current["id"] if current is not None else self._new_id("V")
        stored = self._store_view(view, view_id)
        self._home[user.id] = stored
        return {"ok": True, "view": stored}

    def _files_get_upload_url(self, args: JsonDict) -> JsonDict:
        filename = _str_arg(args, "filename", "invalid_arguments")
        try:
            length = int(_str_arg(args, "length", "invalid_arguments"))
        except ValueError:
            raise _SlackError("invalid_arguments") from None
        if length < 0:
            raise _SlackError("invalid_arguments")
        file_id = self._new_id("F")
        self._uploads[file_id] = _PendingUpload(filename, length)
        return {
            "ok": True,
            "upload_url": f"{self.base}/_upload/{file_id}",
            "file_id": file_id,
        }

    def _raw_upload(self, file_id: str, body: bytes) -> JsonDict:
        pending = self._uploads.get(file_id)
        if pending is None:
            raise _SlackError("file_not_found", status=404)
        pending.content = body
        return {"ok": True}

    def _files_complete_upload(self, args: JsonDict) -> JsonDict:
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            raise _SlackError("invalid_arguments", errors=["files must be a JSON array"])
        channel_ids = _id_list(args.get("channel_id")) + _id_list(args.get("channels"))
        # Resolve everything before mutating, so a bad channel changes nothing.
        channels = [self._writable_channel(c) for c in dict.fromkeys(channel_ids)]
        for channel_id in channels:
            self._require_member(channel_id)
        pending_items: list[tuple[str, str | None, _PendingUpload]] = []
        for entry in entries:
            file_id = str(entry.get("id", "")) if isinstance(entry, dict) else ""
            pending = self._uploads.get(file_id)
            if pending is None or pending.content is None:
                raise _SlackError("file_not_found")
            pending_items.append((file_id, entry.get("title"), pending))
        comment = str(args["initial_comment"]) if args.get("initial_comment") else None
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        shared: list[JsonDict] = []
        for file_id, title, pending in pending_items:
            del self._uploads[file_id]
            content = pending.content or b""
            uploaded = UploadedFile(
                file_id,
                pending.filename,
                str(title or pending.filename),
                content,
                channels[0] if channels else None,
                comment,
                thread_ts,
            )
            self._files.append(uploaded)
            shared.append(
                {
                    "id": file_id,
                    "name": uploaded.filename,
                    "title": uploaded.title,
                    "size": len(content),
                    "mimetype": mimetypes.guess_type(uploaded.filename)[0] or "application/octet-stream",
                    "user": self.bot_user_id,
                    "channels": channels,
                    "permalink": f"{self.base}/files/{self.bot_user_id}/{file_id}/{uploaded.filename}",
                }
            )
        for channel in channels:
            # Sharing a file shows up as a bot message carrying the files.
            self._messages.append(
                Message(
                    channel,
                    self._next_ts(),
                    comment or "",
                    thread_ts=thread_ts,
                    user=self.bot_user_id,
                    files=list(shared),
                )
            )
        return {"ok": True, "files": shared}

    def _reactions_add(self, args: JsonDict) -> JsonDict:
        channel = self._lookup_channel(_str_arg(args, "channel", "channel_not_found")).id
        message = self._find_message(channel, _str_arg(args, "timestamp", "message_not_found"))
        name = _str_arg(args, "name", "invalid_name").strip(":")
        users = message.reactions.setdefault(name, [])
        if self.bot_user_id in users:
            raise _SlackError("already_reacted")
        users.append(self.bot_user_id)
        return {"ok": True}

    def _response_url_post(self, args: JsonDict) -> JsonDict:
        target = self._response_urls.get(str(args["url_id"]))
        if target is None:
            raise _SlackError("invalid_url", status=404)
        if target.uses >= RESPONSE_URL_MAX_USES:
            raise _SlackError("used_url", status=404)
        text = args.get("text")
        text = "" if text is None else str(text)
        if len(text) > MAX_TEXT_LENGTH:
            raise _SlackError("msg_too_long", status=400)
        blocks = self._blocks_arg(args)
        target.uses += 1
        if target.channel is not None:
            self._apply_response(target, args, text, blocks)
        return {"ok": True}

    def _apply_response(self, target: _ResponseUrl, body: JsonDict, text: str, blocks: list[JsonDict]) -> None:
        """Mirror what Slack shows for a response_url post."""
        assert target.channel is not None
        original = next(
            (m for m in self._messages if m.channel == target.channel and m.ts == target.message_ts),
            None,
        )
        if _truthy(body.get("delete_original")):
            if original is not None:
                self._messages.remove(original)
            return
        if _truthy(body.get("replace_original")) and original is not None:
            original.text = text
            original.blocks = blocks
            original.edits += 1
            return
        ephemeral = body.get("response_type") != "in_channel"
        thread_ts = str(body["thread_ts"]) if body.get("thread_ts") else None
        self._messages.append(
            Message(
                target.channel,
                self._next_ts(),
                text,
                blocks,
                thread_ts,
                self.bot_user_id,
                ephemeral_to=target.user if ephemeral else None,
            )
        )
