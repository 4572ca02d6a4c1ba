"""Long lists in pages of one message each, with a "Next" button (SPEC §3, Block Kit).

Pure and Bolt-free. A list command renders `page(items, render, start=0, …)`; the page ends with
"Showing 46–90 of 120 …" and, when more follow, a "Next" button whose value carries the list's own
state (a cohort code, an assignment) and the offset of the next page. The button's listener reads the
value back with `read_next` (anything forged, stale or malformed is a `UsageError`, never a crash),
checks its own state fields, loads the list again and renders `page(…, start=offset)`.

Offsets, not keysets: each list is re-read in a stable order (time, then ID), so an offset names the
same entries unless the list changed in between; then the page shows what is there now, and an offset
past the end is answered with the usage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, MarkdownTextObject

from commands.common.errors import UsageError

T = TypeVar("T")

MAX_BLOCKS = 50  # in one message
MAX_VALUE = 2000  # characters in a button's value
MAX_OFFSET = 1_000_000
OFFSET = "o"
NEXT_BLOCK = "next-page"
STALE = "That page is no longer available."


@dataclass(frozen=True)
class Page:
    """One message's worth of a list: its blocks and which entries it shows (`start` to `end`, exclusive)."""

    blocks: list[Block]
    start: int
    end: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.end < self.total


def page(
    items: Sequence[T],
    render: Callable[[Sequence[T]], Sequence[Block]],
    *,
    start: int,
    size: int,
    action_id: str,
    state: Mapping[str, Any],
    usage: str | None = None,
    head: Sequence[Block] = (),
    noun: str = "entries",
) -> Page:
    """`head`, then `render(items[start:start + size])`, then where we are and a "Next" button if more follow.

    `state` is what the button's listener needs to load the list again (JSON-safe, small); the offset
    is added to it. A `start` outside the list (a stale or forged button) is a `UsageError` with `usage`.
    Raises ValueError when the page would not fit in one message: the caller chose `size` too large.
    """
    check_start(start, len(items), usage=usage, noun=noun)
    return window(
        items[start : start + size],
        render,
        start=start,
        total=len(items),
        size=size,
        action_id=action_id,
        state=state,
        head=head,
        noun=noun,
    )


def check_start(start: int, total: int, *, usage: str | None = None, noun: str = "entries") -> None:
    """A page must start inside the list (or at 0 for an empty one); else the button is stale or forged."""
    if start < 0 or (start >= total and start != 0):
        raise UsageError(f"{STALE} The list has {total} {noun} now; run the command again.", usage=usage)


def window(
    shown: Sequence[T],
    render: Callable[[Sequence[T]], Sequence[Block]],
    *,
    start: int,
    total: int,
    size: int,
    action_id: str,
    state: Mapping[str, Any],
    head: Sequence[Block] = (),
    noun: str = "entries",
) -> Page:
    """`page` for a list read a page at a time (SQL OFFSET/LIMIT): `shown` starts at `start` of `total`."""
    if size < 1:
        raise ValueError("a page holds at least one entry")
    if len(shown) > size:
        raise ValueError(f"{len(shown)} {noun} do not fit a page of {size}")
    end = start + len(shown)
    blocks = [*head, *render(shown)]
    if total > size:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Showing {start + 1}–{end} of {total} {noun}")]))
    if end < total:
        blocks.append(
            ActionsBlock(
                block_id=NEXT_BLOCK,
                elements=[ButtonElement(text="Next", action_id=action_id, value=next_value(state, end))],
            )
        )
    if len(blocks) > MAX_BLOCKS:
        raise ValueError(f"a page of {size} {noun} needs {len(blocks)} blocks, more than {MAX_BLOCKS}")
    return Page(blocks, start, end, total)


def next_value(state: Mapping[str, Any], offset: int) -> str:
    """The Next button's value: the list's state and the offset of the page it opens."""
    if OFFSET in state:
        raise ValueError(f"{OFFSET!r} is the offset's key")
    value = json.dumps({**state, OFFSET: offset}, separators=(",", ":"), sort_keys=True)
    if len(value) > MAX_VALUE:
        raise ValueError("a page button's value is too long")
    return value


def read_next(value: object, *, usage: str | None = None) -> tuple[dict[str, Any], int]:
    """A Next button's value back as (state, offset); anything else is a `UsageError` with `usage`."""
    try:
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise ValueError
        data = json.loads(value)
        if not isinstance(data, dict):
            raise ValueError
        offset = data.pop(OFFSET)
        if type(offset) is not int or not 0 <= offset <= MAX_OFFSET:
            raise ValueError
    except (ValueError, KeyError, RecursionError):
        raise UsageError(STALE, usage=usage) from None
    return data, offset


def read_next_id(value: object, key: str, *, usage: str | None = None) -> tuple[int, int]:
    """A Next button whose state is one object's ID under `key`: (that ID, offset); anything else → usage."""
    state, offset = read_next(value, usage=usage)
    found = state.get(key)
    if set(state) != {key} or type(found) is not int or found < 1:
        raise UsageError(STALE, usage=usage)
    return found, offset


def action_value(body: Mapping[str, Any]) -> object:
    """The value of the first action in a block_actions payload (None when there is none)."""
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None
    return actions[0].get("value")
