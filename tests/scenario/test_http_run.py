"""`cba-bot run` in HTTP mode, as a real process behind its real WSGI server."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.console import slack_payloads as payloads
from bot.console.fakeslack import FakeSlack
from tests.process_helpers import bot_env, free_port, running_bot

SECRET = "http-test-secret"
pytestmark = pytest.mark.slow


def _post(base: str, body: str, headers: dict[str, str]) -> tuple[int, str, float]:
    request = urllib.request.Request(base + "/slack/events", data=body.encode(), headers=headers, method="POST")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), time.monotonic() - started


def _signed_help(
    fake: FakeSlack, user: str = "U0VISITOR", *, timestamp: int | None = None, secret: str = SECRET
) -> tuple[str, dict[str, str]]:
    fields = payloads.slash_command(user, "/cba-help", response_url=fake.new_response_url())
    body = payloads.form_body(fields)
    return body, payloads.signed_headers(secret, body, content_type=payloads.FORM, timestamp=timestamp)


@pytest.fixture
def http_bot(tmp_path: Path, db_url: str) -> tuple[str, FakeSlack]:  # type: ignore[misc]
    fake = FakeSlack().start()
    env = bot_env(
        SLACK_BOT_TOKEN="xoxb-http-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.url,
        DATABASE_URL=db_url,
    )
    with running_bot(env, tmp_path, port=free_port()) as base:
        yield base, fake
    fake.stop()


def test_signed_help_is_answered_within_three_seconds(http_bot: tuple[str, FakeSlack]) -> None:
    base, fake = http_bot
    status, body, elapsed = _post(base, *_signed_help(fake))
    assert status == 200
    assert elapsed < 3
    answer = json.loads(body)
    assert answer["response_type"] == "ephemeral"
    assert "/cba-ask" in answer["text"]


def test_wrong_signature_and_stale_timestamp_get_401(http_bot: tuple[str, FakeSlack]) -> None:
    base, fake = http_bot
    assert _post(base, *_signed_help(fake, secret="wrong-secret"))[0] == 401
    assert _post(base, *_signed_help(fake, timestamp=int(time.time()) - 301))[0] == 401
    body, headers = _signed_help(fake)
    assert _post(base, body, {"content-type": payloads.FORM})[0] == 401
    del headers


def test_healthz_answers_200(http_bot: tuple[str, FakeSlack]) -> None:
    base, _fake = http_bot
    with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
        assert response.status == 200


def test_twenty_concurrent_signed_requests_are_all_answered(http_bot: tuple[str, FakeSlack]) -> None:
    base, fake = http_bot
    requests = [_signed_help(fake, f"U0USER{i:04d}") for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda request: _post(base, *request), requests))
    assert [status for status, _body, _elapsed in results] == [200] * 20
    assert all("/cba-ask" in json.loads(body)["text"] for _status, body, _elapsed in results)
    assert max(elapsed for _status, _body, elapsed in results) < 3
