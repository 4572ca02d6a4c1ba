from datetime import date

import pytest

from commands.common.errors import UsageError
from commands.homework.parse import (
    ChangeDue,
    ListMine,
    NewAssignment,
    Review,
    SetGrace,
    Show,
    Status,
    Submit,
    Withdraw,
    parse_answer,
    parse_command,
)


class TestSubcommands:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("", ListMine()),
            ("  list ", ListMine()),
            ("new cba3 2026-12-15 Action plan", NewAssignment("CBA3", date(2026, 12, 15), "Action plan")),
            (
                "new CBA3 2026-12-15 Action plan | Two pages, <https://x.example.com/brief|the brief>",
                NewAssignment(
                    "CBA3", date(2026, 12, 15), "Action plan", "Two pages, <https://x.example.com/brief|the brief>"
                ),
            ),
            ("new CBA3 2026-12-15 R&amp;D &lt;plan&gt;", NewAssignment("CBA3", date(2026, 12, 15), "R&D <plan>")),
            ("due #3 2027-01-10", ChangeDue(3, date(2027, 1, 10))),
            ("WITHDRAW 3", Withdraw(3)),
            ("status 3", Status(3)),
            ("show #9", Show(9)),
            ("submit 3", Submit(3)),
            ("submit 3 My Answer", Submit(3, "My Answer")),
            ("submit 3\nline one\nline two", Submit(3, "line one\nline two")),
            ("review 9 Great Start! &amp; more", Review(9, "Great Start! & more")),
        ],
    )
    def test_reads_each_subcommand(self, text: str, expected: object) -> None:
        assert parse_command(text) == expected

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("frobnicate", "not a /cba-homework subcommand"),
            ("list 3", "takes no arguments"),
            ("new", "cohort code"),
            ("new CBA3", "due date"),
            ("new CBA3 2026-13-01 Title", "not a real date"),
            ("new CBA3 tomorrow Title", "YYYY-MM-DD"),
            ("new CBA3 2026-12-15", "needs a title"),
            ("new CBA3 2026-12-15   | description only", "needs a title"),
            ("new CBA3 2026-12-15 " + "x" * 201, "title is too long"),
            ("due 3", "YYYY-MM-DD"),
            ("due 3 2027-01-10 extra", "YYYY-MM-DD"),
            ("status", "Which assignment"),
            ("status 3 4", "only the assignment ID"),
            ("status three", "not an assignment ID"),
            ("review 9", "Write the feedback"),
            ("review", "Which submission"),
            ("show x", "not a submission ID"),
        ],
    )
    def test_bad_text_raises_usage(self, text: str, message: str) -> None:
        with pytest.raises(UsageError) as raised:
            parse_command(text)
        assert message in raised.value.message
        assert raised.value.usage is not None
        assert "Usage of `/cba-homework`" in raised.value.usage


class TestAnswers:
    @pytest.mark.parametrize(
        ("typed", "expected"),
        [
            ("", ("", None)),
            ("https://docs.example.com/plan", ("", "https://docs.example.com/plan")),
            ("<https://docs.example.com/plan>", ("", "https://docs.example.com/plan")),
            ("<https://docs.example.com/plan|my plan v2>", ("", "https://docs.example.com/plan")),
            (
                "<https://cba.slack.com/files/U1/F2/plan.pdf|plan.pdf>",
                ("", "https://cba.slack.com/files/U1/F2/plan.pdf"),
            ),
            ("Plain words only", ("Plain words only", None)),
            (
                "See <https://docs.example.com/a|draft> &amp; notes",
                ("See https://docs.example.com/a & notes", "https://docs.example.com/a"),
            ),
            (
                "See https://docs.example.com/b for it",
                ("See https://docs.example.com/b for it", "https://docs.example.com/b"),
            ),
        ],
    )
    def test_text_or_link(self, typed: str, expected: tuple[str, str | None]) -> None:
        assert parse_answer(typed) == expected

    def test_overlong_answers_are_refused(self) -> None:
        with pytest.raises(UsageError, match="too long"):
            parse_answer("x" * 10_001)


class TestGrace:
    @pytest.mark.parametrize(
        ("text", "minutes"),
        [
            ("grace 3 2", 120),
            ("grace 3 0", 0),
            ("GRACE 3 1.5", 90),
            ("grace 3 0,25", 15),
            ("grace 3 36h", 2160),
            ("grace 3 168", 10080),
        ],
    )
    def test_reads_hours_as_whole_minutes(self, text: str, minutes: int) -> None:
        assert parse_command(text) == SetGrace(3, minutes)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("grace 3 abc", "in hours, 0 to 168"),
            ("grace 3 -1", "in hours, 0 to 168"),
            ("grace 3 168.5", "at most 168 hours"),
            ("grace 3 1000", "in hours, 0 to 168"),
            ("grace 3", "in hours, 0 to 168"),
            ("grace 3 2 h", "in hours, 0 to 168"),
            ("grace x 2", "assignment"),
            ("grace", "Which assignment?"),
        ],
    )
    def test_bad_hours_raise_usage(self, text: str, message: str) -> None:
        with pytest.raises(UsageError) as caught:
            parse_command(text)
        assert message in str(caught.value)
        assert "grace ASSIGNMENT-ID HOURS" in (caught.value.usage or "")
