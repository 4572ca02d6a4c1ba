"""The in-process sender: delivers the outbox as soon as a transaction has queued something.

A request that queued a message wakes the courier after its commit, so a DM leaves within a second
instead of at the next scheduler tick. The tick delivers through the courier too (the safety net for
rows left by a crash, another process or a retry's back-off); a lock keeps one delivery run per process
at a time. Several processes share the work through the engine's leased claims.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from bot.kernel.delivery import WORKER_ID, DeliveryReport, deliver_due, engine_client

if TYPE_CHECKING:
    from bot.kernel.deps import Deps

log = logging.getLogger(__name__)


class Courier:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._wanted = threading.Event()
        self._run_lock = threading.Lock()
        self._state = threading.Condition()
        self._busy = False
        self._stopped = False
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Something was queued and committed: deliver soon, on the courier's thread."""
        with self._state:
            if self._stopped:
                return
            self._busy = True
            self._wanted.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="cba-courier", daemon=True)
                self._thread.start()

    def deliver_now(self) -> DeliveryReport:
        """One delivery run on the caller's thread (the scheduler's tick), never beside another."""
        deps = self._deps
        with self._run_lock:
            return deliver_due(
                deps,
                clock=deps.clock,
                worker_id=WORKER_ID,
                client=engine_client(deps),  # never sleeps on a 429: the engine reschedules
                senders=deps.settings.senders,
            )

    def wait_idle(self, timeout: float = 15.0) -> bool:
        """True once nothing is waiting to be delivered by this courier (the console and tests wait)."""
        with self._state:
            return self._state.wait_for(lambda: not self._busy, timeout=timeout)

    def stop(self) -> None:
        with self._state:
            self._stopped = True
            self._wanted.set()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            with self._state:
                if self._stopped:
                    self._busy = False
                    self._state.notify_all()
                    return
                self._wanted.clear()
            try:
                self.deliver_now()
            except Exception:
                log.exception("delivering the outbox failed; the next tick retries")
            with self._state:
                if not self._wanted.is_set():
                    self._busy = False
                    self._state.notify_all()
