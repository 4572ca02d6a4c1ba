"""Text hygiene: what users type reaches no table with control characters in it."""

from __future__ import annotations

import pytest

from bot.kernel.request import clean_request
from commands.common.text import clean_payload, clean_text


class TestCleanText:
    @pytest.mark.parametrize(
        ("raw", "clean"),
        [
            ("plain text, ünïcödé 漢字 💥", "plain text, ünïcödé 漢字 💥"),
            ("bio\x00with NUL", "biowith NUL"),
            ("a\tb\nc", "a\tb\nc"),
            ("windows\r\nline\rends", "windows\nline\nends"),
            ("\x1b[31mred\x1b[0m\x07\x08\x0b\x0c\x7f", "[31mred[0m"),
            ("c1\x85\x9bcontrols", "c1controls"),
            ("lone \ud800 surrogate \udfff", "lone  surrogate "),
        ],
    )
    def test_removes_control_characters_but_tab_and_newline(self, raw: str, clean: str) -> None:
        assert clean_text(raw) == clean

    def test_clean_text_is_returned_as_is(self) -> None:
        text = "nothing to do\n"
        assert clean_text(text) is text


class TestCleanPayload:
    def test_cleans_every_string_of_a_payload_in_place(self) -> None:
        body = {
            "text": "set bio \x00hi",
            "actions": [{"value": "1\x00", "n": 3, "none": None}],
            "view": {"state": {"values": {"b\x01": {"a": {"value": "x\r\ny"}}}}},
        }
        assert clean_payload(body) is body
        assert body == {
            "text": "set bio hi",
            "actions": [{"value": "1", "n": 3, "none": None}],
            "view": {"state": {"values": {"b": {"a": {"value": "x\ny"}}}}},
        }


class TestCleanRequest:
    def test_what_users_gave_is_cleaned_and_what_the_bot_wrote_left_alone(self) -> None:
        body = {
            "text": "set bio \x00",
            "actions": [{"value": "\x001"}],
            "event": {"text": "reply\x00", "message": {"text": "edited\x00"}},
            "view": {"blocks": [{"text": "ours\x07"}], "state": {"values": {"b": {"a": {"value": "v\x00"}}}}},
            "message": {"text": "ours\x07", "blocks": []},
        }
        clean_request(body)
        assert body == {
            "text": "set bio ",
            "actions": [{"value": "1"}],
            "event": {"text": "reply", "message": {"text": "edited"}},
            "view": {"blocks": [{"text": "ours\x07"}], "state": {"values": {"b": {"a": {"value": "v"}}}}},
            "message": {"text": "ours\x07", "blocks": []},
        }
