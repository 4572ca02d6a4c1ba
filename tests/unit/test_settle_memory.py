"""`cba-bot run` leaves what start-up built out of the garbage collector's full passes (bot.cli)."""

from __future__ import annotations

import gc

from bot.cli import _settle_memory


def test_start_up_objects_are_frozen_out_of_the_collectors_passes() -> None:
    tracked_before = len(gc.get_objects())
    try:
        _settle_memory()
        frozen = gc.get_freeze_count()
        still_walked = len(gc.get_objects())
    finally:
        gc.unfreeze()
    assert frozen >= tracked_before // 2  # what start-up built (the collector may free some cycles first)
    assert still_walked < frozen // 10  # a full pass now walks a small remainder, not the whole heap
