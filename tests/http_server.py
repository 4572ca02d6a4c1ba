"""A WSGI app served by the bot's waitress server (bot.server.make_server) on a thread of this process.

Stopping is done from the server's own thread: its loop runs in short passes and, once told to stop,
closes every socket and the trigger there. Closing them from the test's thread could pull a descriptor
from under a running select(), and a loop or a task thread left running could later touch a descriptor
number that a later test's server has been given (CI once saw a trigger closed under a test). After
`stop()` no thread of the server is left: its tasks end first, then its loop.
"""

from __future__ import annotations

import threading
from typing import Any

from waitress import wasyncore

from bot.server import make_server

# How long one pass of the loop may wait in select(): what stopping may take. Requests do not wait on it
# (a task's answer pulls the server's trigger).
PASS_SECONDS = 0.05


class RunningServer:
    def __init__(self, wsgi_app: Any, *, threads: int) -> None:
        self.server = make_server(wsgi_app, host="127.0.0.1", port=0, threads=threads)
        self.port = int(self.server.effective_port)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="test-http-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        socket_map = self.server._map
        try:
            while not self._stopping.is_set() and socket_map:
                wasyncore.loop(timeout=PASS_SECONDS, map=socket_map, count=1)
        finally:
            wasyncore.close_all(socket_map)

    def stop(self) -> None:
        # Tasks first, while the loop still runs: a task that ended pulls the trigger, which must still be open.
        self.server.task_dispatcher.shutdown(timeout=10)
        self._stopping.set()
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "the test server's loop did not stop"
