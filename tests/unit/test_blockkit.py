"""The hot paths' dict builders give what slack_sdk's models give, and stay inside Slack's limits."""

from __future__ import annotations

import pytest
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from bot.console.fakeslack import validate_blocks
from commands.common import blockkit


def test_the_builders_give_the_same_dicts_as_slack_sdk_models() -> None:
    button = ButtonElement(text="Book", action_id="coaching_book_7", value="7", style="primary")
    pairs = [
        (blockkit.section("slot #7"), SectionBlock(text=MarkdownTextObject(text="slot #7"))),
        (
            blockkit.section(
                "slot #7", block_id="slot-7", accessory=blockkit.button("Book", "coaching_book_7", "7", style="primary")
            ),
            SectionBlock(block_id="slot-7", text=MarkdownTextObject(text="slot #7"), accessory=button),
        ),
        (blockkit.context("a day"), ContextBlock(elements=[MarkdownTextObject(text="a day")])),
        (
            blockkit.actions("pages", [blockkit.button("Next", "next", "1")]),
            ActionsBlock(block_id="pages", elements=[ButtonElement(text="Next", action_id="next", value="1")]),
        ),
    ]
    for built, model in pairs:
        assert built == model.to_dict()


def test_texts_over_the_limits_are_truncated_and_slack_accepts_them() -> None:
    long = "x" * 5000
    blocks = [
        blockkit.section(long, accessory=blockkit.button(long, "a", "v")),
        blockkit.context(*([long] * 12)),
        blockkit.actions("pages", [blockkit.button(long, f"b{i}", "v") for i in range(30)]),
    ]
    assert validate_blocks(blocks) == []
    assert len(blocks[0]["text"]["text"]) == blockkit.SECTION_TEXT
    assert len(blocks[0]["accessory"]["text"]["text"]) == blockkit.BUTTON_TEXT


def test_ids_and_values_over_the_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="limit of 255"):
        blockkit.button("Book", "a" * 256, "1")
    with pytest.raises(ValueError, match="limit of 2000"):
        blockkit.button("Book", "a", "v" * 2001)
    with pytest.raises(ValueError, match="limit of 255"):
        blockkit.section("text", block_id="b" * 256)
