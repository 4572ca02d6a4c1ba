"""The HTTP server's channel (bot.server): the main loop is not woken for an answer that cannot go yet,
and answers small and large still arrive whole."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from waitress.channel import HTTPChannel

from bot.server import STREAMING_BYTES
from tests.http_server import RunningServer

LARGE = b"x" * (5 * STREAMING_BYTES + 123)


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    if environ.get("PATH_INFO") == "/large":
        return (LARGE[i : i + 4096] for i in range(0, len(LARGE), 4096))  # streamed in chunks
    return [b"small answer"]


@pytest.fixture
def server() -> Iterator[Any]:
    served = RunningServer(_app, threads=2)
    yield served.server
    served.stop()


def _channel(server: Any) -> HTTPChannel:
    ours, _theirs = socket.socketpair()
    channel = server.channel_class(server, ours, ("127.0.0.1", 1), server.adj, map={})
    assert isinstance(channel, HTTPChannel)
    return channel


class TestWritable:
    def test_a_running_tasks_small_answer_does_not_wake_the_loop(self, server: Any) -> None:
        channel = _channel(server)
        assert not channel.writable()  # nothing to send
        channel.requests = [object()]  # a task is running
        channel.write_soon(b"HTTP/1.1 200 OK\r\n\r\nsmall")
        assert not channel.writable()  # waitress's own channel says yes here, and its loop spins
        assert HTTPChannel.writable(channel)

    def test_it_is_writable_once_the_task_ended_or_with_a_streamed_answer(self, server: Any) -> None:
        channel = _channel(server)
        channel.write_soon(b"done")
        assert channel.writable()  # no task: send now
        channel.requests = [object()]
        channel.write_soon(b"y" * STREAMING_BYTES)
        assert channel.writable()  # a large answer being streamed goes as it comes
        channel.requests, channel.will_close = [], True
        assert channel.writable()


class TestAnswers:
    @pytest.mark.parametrize(("path", "expected"), [("/small", b"small answer"), ("/large", LARGE)])
    def test_answers_arrive_whole_on_kept_alive_connections(self, server: Any, path: str, expected: bytes) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", int(server.effective_port), timeout=10)
        try:
            for _ in range(3):  # the same connection: each answer is sent when its task ends
                connection.request("GET", path)
                response = connection.getresponse()
                assert response.status == 200
                assert response.read() == expected
        finally:
            connection.close()
