"""Admission (bot.kernel.admission): at most N at work, in arrival order, and a slot lent while waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from bot.kernel.admission import Admission


def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def _queue_behind(admission: Admission, names: list[str], entered: list[str]) -> list[threading.Thread]:
    """Start one thread per name, each queued before the next starts (so arrival order is known)."""
    threads = []
    for position, name in enumerate(names, start=1):

        def work(name: str = name) -> None:
            with admission.slot():
                entered.append(name)

        thread = threading.Thread(target=work)
        thread.start()
        _until(lambda position=position: admission.waiting() == position)
        threads.append(thread)
    return threads


class TestAdmission:
    def test_a_full_house_serves_its_waiters_in_arrival_order(self) -> None:
        admission = Admission(1)
        entered: list[str] = []
        with admission.slot():
            threads = _queue_behind(admission, [f"w{i}" for i in range(8)], entered)
            assert entered == []  # nobody overtakes the holder
        for thread in threads:
            thread.join(timeout=5)
        assert entered == [f"w{i}" for i in range(8)]
        assert admission.waiting() == 0

    def test_a_newcomer_does_not_overtake_a_waiter(self) -> None:
        admission = Admission(1)
        entered: list[str] = []
        with admission.slot():
            threads = _queue_behind(admission, ["first"], entered)
        # The slot went to "first" directly: this thread, arriving after, queues behind it.
        with admission.slot():
            entered.append("newcomer")
        threads[0].join(timeout=5)
        assert entered == ["first", "newcomer"]

    def test_two_slots_admit_two_at_once(self) -> None:
        admission = Admission(2)
        inside = threading.Barrier(2, timeout=5)

        def work() -> None:
            with admission.slot():
                inside.wait()  # both must be in at the same time, or this times out

        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert not inside.broken

    def test_stepping_aside_lets_the_next_one_work_and_queues_again(self) -> None:
        admission = Admission(1)
        order: list[str] = []
        slow_call = threading.Event()

        def holder() -> None:
            with admission.slot():
                order.append("holder works")
                with admission.step_aside():
                    assert not admission.holds()
                    slow_call.wait(5)  # e.g. views.open on a slow Slack
                assert admission.holds()
                order.append("holder answers")

        thread = threading.Thread(target=holder)
        thread.start()
        _until(lambda: order == ["holder works"])
        with admission.slot():  # admitted although the holder has not finished
            order.append("other works")
            slow_call.set()
            time.sleep(0.05)
            assert order == ["holder works", "other works"]  # the holder waits for the slot back
        thread.join(timeout=5)
        assert order == ["holder works", "other works", "holder answers"]

    def test_a_holder_enters_again_and_stepping_aside_outside_a_slot_does_nothing(self) -> None:
        admission = Admission(1)
        with admission.slot(), admission.slot():
            assert admission.holds()
        assert not admission.holds()
        with admission.step_aside():
            assert not admission.holds()
        with admission.slot():  # still free
            pass

    def test_an_error_inside_frees_the_slot(self) -> None:
        admission = Admission(1)
        with pytest.raises(RuntimeError), admission.slot():
            raise RuntimeError("boom")
        assert not admission.holds()
        done = threading.Event()

        def work() -> None:
            with admission.slot():
                done.set()

        threading.Thread(target=work).start()
        assert done.wait(5)

    def test_no_slots_is_refused(self) -> None:
        with pytest.raises(ValueError):
            Admission(0)
