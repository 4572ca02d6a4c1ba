"""`cba-bot run` in Socket Mode, as a real process, against a local websocket server standing in for Slack's.

The bot opens the connection itself (apps.connections.open with its app-level token, then the websocket URL it
was given); the test sends envelopes the way Slack does and reads the acknowledgements the bot sends back over
the socket. Bolt runs with process_before_response, so a command's answer is its ack's payload.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import Popen
from typing import Any

import pytest
from sqlalchemy import select

from bot.console import slack_payloads as payloads
from bot.console.fakeslack import FakeSlack
from bot.console.fakesocket import SocketModeServer
from storage.db import make_engine, make_sessionmaker
from storage.models import CoachingBooking
from tests.factories_coaching import COACH, PARTICIPANTS, make_slot, seed_people
from tests.process_helpers import bot_env, bot_process, run_cli, stop

pytestmark = pytest.mark.slow

P1 = PARTICIPANTS[0]
APP_TOKEN = "xapp-1-A0001-socket-test"


@dataclass
class SocketBot:
    process: Popen[str]
    fake: FakeSlack
    socket: SocketModeServer
    db_url: str
    slot_id: int


@pytest.fixture
def socket_bot(tmp_path: Path, db_url: str) -> Iterator[SocketBot]:
    fake = FakeSlack().start()
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            people = seed_people(session, fake)
            # The process runs on the real clock: a slot far enough ahead to be bookable.
            slot_id = make_slot(session, people[COACH], datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)).id
    finally:
        engine.dispose()
    socket = fake.socket_mode()
    env = bot_env(
        SLACK_BOT_TOKEN="xoxb-socket-test",
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=fake.url,
        DATABASE_URL=db_url,
    )
    try:
        with bot_process(
            env,
            tmp_path,
            args=("run", "--no-scheduler"),
            ready=lambda: socket.connected,
            what="no Socket Mode connection",
        ) as process:
            yield SocketBot(process, fake, socket, db_url, slot_id)
    finally:
        fake.stop()


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [block["accessory"] for block in blocks if block.get("accessory", {}).get("type") == "button"]
    for block in blocks:
        if block.get("type") == "actions":
            found.extend(block["elements"])
    return found


def _wait(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout}s")
        time.sleep(0.05)


def test_socket_mode_acknowledges_envelopes_reconnects_when_asked_and_stops_cleanly(socket_bot: SocketBot) -> None:
    fake, socket = socket_bot.fake, socket_bot.socket

    # The connection was opened the way Slack wants: apps.connections.open with the app-level token.
    [opened] = fake.calls_to("apps.connections.open")
    assert opened.headers.get("Authorization") == f"Bearer {APP_TOKEN}"
    assert opened.response["ok"] is True

    # A slash command: the answer travels in the ack.
    help_ack = socket.request(
        "slash_commands", payloads.slash_command("U0VISITOR", "/cba-help", response_url=fake.new_response_url())
    )
    assert help_ack["payload"]["response_type"] == "ephemeral"
    assert "/cba-ask" in help_ack["payload"]["text"]

    # A participant browses the open slots: the list with its Book button is the ack.
    book_ack = socket.request(
        "slash_commands", payloads.slash_command(P1, "/cba-book", response_url=fake.new_response_url())
    )
    assert f"slot #{socket_bot.slot_id}" in book_ack["payload"]["text"]
    [button] = [b for b in _buttons(book_ack["payload"]["blocks"]) if b["value"] == str(socket_bot.slot_id)]

    # Pressing it: an interactive envelope, acknowledged at once and empty; the answer goes to the response_url.
    press = payloads.block_actions(
        P1, button["action_id"], value=button["value"], response_url=fake.new_response_url(), channel_id="C0GENERAL"
    )
    press_ack = socket.request("interactive", press)
    assert set(press_ack) == {"envelope_id"}
    [answer] = fake.wait_for("response_url", timeout=10)
    assert "Booked!" in str(answer.args.get("text"))
    engine = make_engine(socket_bot.db_url)
    try:
        with make_sessionmaker(engine)() as session:
            booking = session.scalars(select(CoachingBooking)).one()
            assert (booking.slot_id, booking.status) == (socket_bot.slot_id, "active")
    finally:
        engine.dispose()
    _wait(lambda: any("booking #" in m.text for m in fake.dms_to(COACH)), "the coach was not told of the booking")

    # An event: acknowledged (no payload), handled after; the Home view is published through the outbox.
    event = payloads.event_callback({"type": "app_home_opened", "user": P1, "channel": f"D{P1}", "tab": "home"})
    event_ack = socket.request("events_api", event)
    assert set(event_ack) == {"envelope_id"}
    fake.wait_for("views.publish", timeout=10)
    assert fake.home[P1]["type"] == "home"

    # Every envelope was acknowledged exactly once, and nothing else was sent.
    assert [m.get("envelope_id") for m in socket.received] == [
        help_ack["envelope_id"],
        book_ack["envelope_id"],
        press_ack["envelope_id"],
        event_ack["envelope_id"],
    ]

    # Slack asks for a reconnect (it does every few hours): a new URL from apps.connections.open, same service.
    socket.disconnect()
    socket.wait_connected(count=2, timeout=10)
    assert len(fake.calls_to("apps.connections.open")) == 2
    again = socket.request(
        "slash_commands", payloads.slash_command("U0VISITOR", "/cba-help", response_url=fake.new_response_url())
    )
    assert "/cba-ask" in again["payload"]["text"]

    # SIGTERM: the bot closes its socket and exits 0, without reconnecting.
    assert stop(socket_bot.process) == 0
    socket.wait_disconnected(timeout=5)
    assert len(fake.calls_to("apps.connections.open")) == 2


def test_a_refused_app_token_is_a_configuration_error(tmp_path: Path, sqlite_url: str) -> None:
    with FakeSlack() as fake:
        fake.fail("apps.connections.open", "invalid_auth")
        env = bot_env(
            SLACK_BOT_TOKEN="xoxb-socket-test",
            SLACK_APP_TOKEN=APP_TOKEN,
            SLACK_API_URL=fake.url,
            DATABASE_URL=sqlite_url,
        )
        result = run_cli("run", "--no-scheduler", env=env, cwd=tmp_path, timeout=30)
    assert result.returncode == 2, result.stderr
    assert "SLACK_APP_TOKEN: Slack refused it (invalid_auth)" in result.stderr
