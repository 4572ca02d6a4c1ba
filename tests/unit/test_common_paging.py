"""The shared "Next" paging helper as plain functions: pages, the button's value, forged values refused."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from slack_sdk.models.blocks import Block, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.console.fakeslack import validate_blocks
from commands.common import paging
from commands.common.errors import UsageError

USAGE = "*Usage:* `/cba-x list`"


def render(shown: Sequence[int]) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=f"item {n}")) for n in shown]


def page_of(items: Sequence[int], start: int = 0, size: int = 45) -> paging.Page:
    return paging.page(
        items,
        render,
        start=start,
        size=size,
        action_id="x_next",
        state={"c": "CBA3"},
        usage=USAGE,
        head=[HeaderBlock(text="Items")],
        noun="items",
    )


def dicts(blocks: list[Block]) -> list[dict[str, object]]:
    return [block.to_dict() for block in blocks]


def next_button(result: paging.Page) -> dict[str, str] | None:
    actions = [b for b in dicts(result.blocks) if b["type"] == "actions"]
    return actions[0]["elements"][0] if actions else None  # type: ignore[index,return-value]


def test_following_next_walks_the_whole_list_once() -> None:
    items = list(range(120))
    seen, start, pages = [], 0, 0
    while True:
        result = page_of(items, start)
        pages += 1
        assert validate_blocks(dicts(result.blocks)) == []
        seen += items[result.start : result.end]
        button = next_button(result)
        if button is None:
            break
        assert (button["action_id"], button["text"]["text"]) == ("x_next", "Next")  # type: ignore[index]
        state, start = paging.read_next(button["value"], usage=USAGE)
        assert state == {"c": "CBA3"}
    assert pages == 3
    assert seen == items
    assert "Showing 91–120 of 120 items" in json.dumps(dicts(result.blocks), ensure_ascii=False)


def test_a_list_that_fits_has_neither_counter_nor_button() -> None:
    result = page_of(list(range(45)))
    assert [b["type"] for b in dicts(result.blocks)] == ["header"] + ["section"] * 45
    assert not result.has_next


def test_an_empty_list_renders_its_head() -> None:
    result = page_of([])
    assert (result.start, result.end, result.total) == (0, 0, 0)
    assert len(result.blocks) == 1


@pytest.mark.parametrize("start", [-1, 120, 500])
def test_a_start_outside_the_list_is_usage(start: int) -> None:
    with pytest.raises(UsageError) as caught:
        page_of(list(range(120)), start)
    assert caught.value.usage == USAGE
    assert "no longer available" in caught.value.message


def test_a_page_too_big_for_one_message_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="more than 50"):
        page_of(list(range(100)), size=48)


def test_the_offset_key_is_reserved_and_values_stay_short() -> None:
    with pytest.raises(ValueError):
        paging.next_value({"o": 1}, 5)
    with pytest.raises(ValueError):
        paging.next_value({"c": "x" * paging.MAX_VALUE}, 5)


@pytest.mark.parametrize(
    "value",
    [
        None,
        3,
        "",
        "{",
        "[]",
        "null",
        '{"c":"A"}',
        '{"o":-1}',
        '{"o":"3"}',
        '{"o":3.0}',
        '{"o":false}',
        '{"o":null}',
        f'{{"o":{paging.MAX_OFFSET + 1}}}',
        "[" * 1500,
        '{"o":1,"c":"' + "x" * paging.MAX_VALUE + '"}',
    ],
)
def test_forged_values_are_usage_errors(value: object) -> None:
    with pytest.raises(UsageError) as caught:
        paging.read_next(value, usage=USAGE)
    assert caught.value.usage == USAGE


def test_a_value_reads_back_as_it_was_written() -> None:
    assert paging.read_next(paging.next_value({"a": 7, "c": None}, 40)) == ({"a": 7, "c": None}, 40)


@pytest.mark.parametrize(
    ("body", "expected"),
    [({"actions": [{"value": "v"}]}, "v"), ({"actions": []}, None), ({}, None), ({"actions": "x"}, None)],
)
def test_the_value_is_read_from_the_first_action(body: dict[str, object], expected: object) -> None:
    assert paging.action_value(body) == expected
