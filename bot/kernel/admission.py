"""Admission of requests to their work: at most `slots` at once, first come first served.

A request's work (signature, parsing, the transaction, the answer) is CPU and local database time, and
CPython runs one thread at a time. With eight HTTP threads computing at once, every SQLite call and socket
write hands the GIL to another thread and waits up to the 5 ms switch interval to get it back: measured at
10 and 50 concurrent requests, 8–15 context switches per request and thread, 30–60 % more CPU per request,
and a long tail for whoever loses the hand-offs. Admitted one (or a few) at a time, in arrival order, the
same requests take less CPU and wait in line instead of in the GIL's scramble.

A slot is handed over directly to the longest waiter (no barging: `threading.Semaphore` lets a newcomer
overtake a woken waiter, who then queues again at the back). A thread that waits on something slow while
admitted (a `views.open` after the commit) steps aside with `step_aside()` and queues again afterwards.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class Admission:
    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self._lock = threading.Lock()
        self._free = slots
        self._waiters: deque[threading.Lock] = deque()
        self._admitted = threading.local()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Do the enclosed work in a slot (re-entrant: a thread that holds one goes straight in)."""
        if self.holds():
            yield
            return
        self._acquire()
        self._admitted.held = True
        try:
            yield
        finally:
            self._admitted.held = False
            self._release()

    @contextmanager
    def step_aside(self) -> Iterator[None]:
        """Give the slot up while waiting on something slow; queue for one again after it."""
        if not self.holds():
            yield
            return
        self._admitted.held = False
        self._release()
        try:
            yield
        finally:
            self._acquire()
            self._admitted.held = True

    def holds(self) -> bool:
        """Whether this thread is in a slot."""
        return bool(getattr(self._admitted, "held", False))

    def waiting(self) -> int:
        """How many threads wait for a slot."""
        with self._lock:
            return len(self._waiters)

    def _acquire(self) -> None:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by _release, which hands this thread its slot

    def _release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1
