"""FakeSlack driven through a real slack_sdk.WebClient over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.console.fakeslack import FakeSlack, validate_blocks


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.add_user("U1", "alice", email="Alice@Example.org")
    fake.add_user("U2", "bob", deleted=True)
    fake.add_channel("C1", "general", members=["U1", "UBOT"])
    fake.add_channel("C2", "old", archived=True)
    with fake:
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.url)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _modal(title: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": [_section("hi")],
    }


def _error(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


def test_auth_and_unknown_method(fake: FakeSlack, client: WebClient) -> None:
    assert client.auth_test()["user_id"] == "UBOT"
    for token, error in ((None, "not_authed"), ("xoxp-user", "invalid_auth")):
        with pytest.raises(SlackApiError) as exc:
            WebClient(token=token, base_url=fake.url).auth_test()
        assert _error(exc) == error
    with pytest.raises(SlackApiError) as exc:
        client.api_call("chat.scheduleMessage")
    assert _error(exc) == "unknown_method"


def test_post_message_recorded_and_listed(fake: FakeSlack, client: WebClient) -> None:
    first = client.chat_postMessage(channel="C1", text="hello", blocks=[_section("*hi*")])
    second = client.chat_postMessage(channel="C1", text="reply", thread_ts=first["ts"])
    assert first["ts"] < second["ts"]

    call = fake.wait_for("chat.postMessage", 2)[0]
    assert call.args["blocks"] == [_section("*hi*")]
    assert call.headers["Authorization"] == "Bearer xoxb-test"
    assert [m.text for m in fake.messages_in("C1")] == ["hello", "reply"]
    assert fake.messages[1].thread_ts == first["ts"]

    client.chat_update(channel="C1", ts=first["ts"], text="edited")
    assert fake.messages[0].text == "edited"
    assert fake.messages[0].edits == 1
    replies = client.conversations_replies(channel="C1", ts=first["ts"])["messages"]
    assert [m["text"] for m in replies] == ["edited", "reply"]
    client.chat_delete(channel="C1", ts=second["ts"])
    assert len(fake.messages) == 1


def test_post_message_channel_errors(fake: FakeSlack, client: WebClient) -> None:
    cases = {"C2": "is_archived", "C999": "channel_not_found", "U2": "account_inactive"}
    for channel, error in cases.items():
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel=channel, text="x")
        assert _error(exc) == error
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x" * 40_001)
    assert _error(exc) == "msg_too_long"
    # Failed calls are still recorded, with the answer given.
    assert fake.calls_to("chat.postMessage")[0].response["error"] == "is_archived"


def test_dm_via_user_id(fake: FakeSlack, client: WebClient) -> None:
    response = client.chat_postMessage(channel="U1", text="psst")
    assert response["channel"] == fake.dm_channel("U1") == "DU1"
    assert client.conversations_open(users="U1")["channel"]["id"] == "DU1"
    assert [m.text for m in fake.dms_to("U1")] == ["psst"]


def test_invalid_blocks_rejected(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x", blocks=[_section(str(i)) for i in range(51)])
    assert _error(exc) == "invalid_blocks"

    button = {
        "type": "actions",
        "elements": [{"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b" * 80}}],
    }
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x", blocks=[button])
    assert _error(exc) == "invalid_blocks"
    assert "75" in exc.value.response["errors"][0]

    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id=fake.new_trigger_id(), view=_modal("t" * 25))
    assert _error(exc) == "invalid_arguments"
    assert "title" in exc.value.response["errors"][0]

    assert fake.messages == []
    assert len(fake.calls_to("chat.postMessage")) == 2
    assert validate_blocks([{"type": "nonsense"}])


def test_fail_injection_times_then_success(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("chat.postMessage", "fatal_error", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C1", text="x")
        assert _error(exc) == "fatal_error"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]

    fake.fail("users.info", "internal_error", status=503, when=lambda a: a.get("user") == "U1")
    with pytest.raises(SlackApiError) as exc:
        client.users_info(user="U1")
    assert exc.value.response.status_code == 503
    assert client.users_info(user="UBOT")["user"]["is_bot"]
    fake.clear_faults()
    assert client.users_info(user="U1")["ok"]


def test_rate_limit_exposes_retry_after(fake: FakeSlack, client: WebClient) -> None:
    fake.rate_limit("chat.postMessage", times=1, retry_after=7)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "7"
    assert _error(exc) == "ratelimited"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]


def test_files_upload_v2_full_flow(fake: FakeSlack, client: WebClient) -> None:
    response = client.files_upload_v2(
        channel="C1",
        content=b"a,b\n1,2\n",
        filename="report.csv",
        title="Report",
        initial_comment="here you go",
    )
    assert response["file"]["title"] == "Report"
    [uploaded] = fake.files
    assert uploaded.content == b"a,b\n1,2\n"
    assert (uploaded.filename, uploaded.channel_id) == ("report.csv", "C1")
    assert uploaded.initial_comment == "here you go"
    [message] = fake.messages_in("C1")
    assert message.files[0]["id"] == uploaded.id
    assert [c.method for c in fake.calls] == [
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
    ]


def test_views_open_trigger_single_use(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.new_trigger_id()
    view = client.views_open(trigger_id=trigger, view=_modal("Hello"))["view"]
    assert view["id"].startswith("V")
    assert fake.views[view["id"]]["title"]["text"] == "Hello"

    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id=trigger, view=_modal("Again"))
    assert _error(exc) == "exchanged_trigger_id"
    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id="nope", view=_modal("Again"))
    assert _error(exc) == "invalid_trigger_id"

    client.views_update(view_id=view["id"], view=_modal("Updated"))
    assert fake.views[view["id"]]["title"]["text"] == "Updated"
    home = {"type": "home", "blocks": [_section("home")]}
    client.views_publish(user_id="U1", view=home)
    assert fake.home["U1"]["blocks"] == [_section("home")]


def test_response_url_recorded_and_limited(fake: FakeSlack) -> None:
    url = fake.new_response_url(channel="C1", user="U1")
    webhook = WebhookClient(url)
    for i in range(5):
        assert webhook.send(text=f"r{i}").status_code == 200
    refused = webhook.send(text="r5")
    assert refused.status_code == 404
    assert "used_url" in refused.body

    calls = fake.calls_to("response_url")
    assert len(calls) == 6
    assert calls[0].args["text"] == "r0"
    assert calls[0].args["url_id"] == url.rsplit("/", 1)[1]
    assert [m.ephemeral_to for m in fake.messages_in("C1")] == ["U1"] * 5

    bad = WebhookClient(fake.new_response_url()).send(text="x", blocks=[_section(str(i)) for i in range(51)])
    assert bad.status_code == 400


def test_users_info_and_lookup(fake: FakeSlack, client: WebClient) -> None:
    user = client.users_info(user="U1")["user"]
    assert user["profile"]["email"] == "Alice@Example.org"
    assert user["tz"] == "Europe/Brussels"
    assert user["tz_offset"] in (3600, 7200)
    assert client.users_lookupByEmail(email="alice@example.org")["user"]["id"] == "U1"
    assert client.users_info(user="U2")["user"]["deleted"] is True
    for call, error in (
        (lambda: client.users_info(user="U404"), "user_not_found"),
        (lambda: client.users_lookupByEmail(email="x@y.z"), "users_not_found"),
    ):
        with pytest.raises(SlackApiError) as exc:
            call()
        assert _error(exc) == error
    names = [m["name"] for m in client.users_list(limit=2)["members"]]
    assert names == ["bot", "alice"]


def test_wait_for_sees_calls_from_other_threads(fake: FakeSlack, client: WebClient) -> None:
    thread = threading.Timer(0.05, lambda: client.chat_postMessage(channel="C1", text="later"))
    thread.start()
    assert fake.wait_for("chat.postMessage", timeout=5)[0].args["text"] == "later"
    thread.join()
    with pytest.raises(AssertionError, match="chat.postMessage"):
        fake.wait_for("views.open", timeout=0.1)


def test_apps_connections_open_takes_only_the_app_level_token(fake: FakeSlack, client: WebClient) -> None:
    app = WebClient(token="xapp-1-test", base_url=fake.url)
    with pytest.raises(SlackApiError) as exc:
        client.apps_connections_open(app_token="xoxb-test")
    assert _error(exc) == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as exc:
        app.auth_test()
    assert _error(exc) == "not_allowed_token_type"
    url = str(app.apps_connections_open(app_token="xapp-1-test")["url"])
    assert url.startswith(f"ws://127.0.0.1:{fake.socket_mode().port}/link/?ticket=")


def test_socket_mode_hello_envelopes_and_acks_with_slack_sdks_client(fake: FakeSlack) -> None:
    from slack_sdk.socket_mode.builtin import SocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest
    from slack_sdk.socket_mode.response import SocketModeResponse
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    hellos: list[str] = []

    def answer(client: SocketModeClient, request: SocketModeRequest) -> None:
        payload = {"text": f"echo {request.payload['text']}"} if request.type == "slash_commands" else None
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=payload))

    client = SocketModeClient(
        app_token="xapp-1-test",
        web_client=WebClient(base_url=fake.url),
        on_message_listeners=[lambda raw: hellos.append(raw) if '"hello"' in raw else None],
        auto_reconnect_enabled=False,
    )
    client.socket_mode_request_listeners.append(answer)  # type: ignore[arg-type]
    socket = fake.socket_mode()
    try:
        client.connect()
        socket.wait_connected()
        ack = socket.request("slash_commands", {"command": "/x", "text": "hi"})
        assert ack["payload"] == {"text": "echo hi"}
        assert set(socket.request("events_api", {"event": {"type": "app_home_opened"}})) == {"envelope_id"}
        assert len(hellos) == 1
        # A ticket is good for one connection: the URL the client was given opens nothing more.
        with connect(str(client.wss_uri)) as reused, pytest.raises(ConnectionClosed):
            reused.recv(timeout=5)
    finally:
        fake.stop()  # Slack's side hangs up first: the client's close() then need not wait for its read timeout
        client.close()
    assert not socket.connected
