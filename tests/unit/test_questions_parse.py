"""/cba-ask text -> request, without Slack."""

from __future__ import annotations

import pytest

from commands.common.errors import UsageError
from commands.questions.parse import Ask, ListOpen, Resolve, Search, parse


class TestParse:
    def test_a_question(self) -> None:
        assert parse("  How do you fund a cluster strategy? ") == Ask("How do you fund a cluster strategy?")

    def test_an_anonymous_question(self) -> None:
        assert parse("anon How do I handle a difficult board?") == Ask(
            "How do I handle a difficult board?", anonymous=True
        )

    def test_anon_is_a_word_not_a_prefix(self) -> None:
        assert parse("anonymity of members: how do you keep it?") == Ask("anonymity of members: how do you keep it?")

    def test_list(self) -> None:
        assert parse("list") == ListOpen()
        assert parse("LIST") == ListOpen()

    def test_list_followed_by_words_is_a_question(self) -> None:
        assert parse("list the best funding programmes for clusters") == Ask(
            "list the best funding programmes for clusters"
        )

    def test_search(self) -> None:
        assert parse("search funding  S3") == Search("funding  S3")

    @pytest.mark.parametrize("text", ["resolve 7", "resolve #7", "Resolve 7"])
    def test_resolve(self, text: str) -> None:
        assert parse(text) == Resolve(7)

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("", "What would you like to ask"),
            ("   ", "What would you like to ask"),
            ("short?", "at least 10 characters"),
            ("anon", "at least 10 characters"),
            ("anon    tiny", "at least 10 characters"),
            ("x" * 2501, "at most 2500 characters"),
            ("search", "Which words"),
            ("search " + "w" * 201, "at most 200"),
            ("resolve", "Which question"),
            ("resolve seven", "is not a question ID"),
            ("resolve 1 2", "Which question"),
        ],
    )
    def test_bad_input_says_what_is_wrong_with_the_usage(self, text: str, says: str) -> None:
        with pytest.raises(UsageError) as caught:
            parse(text)
        assert says in caught.value.message
        assert "Usage of `/cba-ask`" in caught.value.user_text()

    def test_control_characters_are_dropped(self) -> None:
        assert parse("\x00How do\x07 you\tfund\nit?\x1b") == Ask("How do you\tfund\nit?")
