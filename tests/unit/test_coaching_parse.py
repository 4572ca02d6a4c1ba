"""Pure parsing of /cba-slots and /cba-book."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from commands.coaching.parse import (
    AddSlots,
    BookSlot,
    BrowseSlots,
    CancelBooking,
    JoinWaitlist,
    LeaveWaitlist,
    ListSlots,
    MyBookings,
    RemoveSlot,
    book_writes,
    parse_book,
    parse_slots,
)
from commands.common.errors import UsageError


class TestParseSlots:
    def test_list_is_the_default(self) -> None:
        assert parse_slots("") == ListSlots()
        assert parse_slots("  LIST ") == ListSlots()

    def test_add_with_defaults(self) -> None:
        assert parse_slots("add 2026-12-03 10:00") == AddSlots(date(2026, 12, 3), time(10, 0))
        assert AddSlots(date(2026, 12, 3), time(10, 0)).length == timedelta(minutes=45)

    def test_add_with_every_option_in_any_order(self) -> None:
        expected = AddSlots(date(2026, 12, 3), time(9, 5), timedelta(minutes=30), 3, "https://meet.example.com/a")
        assert parse_slots("add 2026-12-03 9:05 30m x3 https://meet.example.com/a") == expected
        assert parse_slots("add 2026-12-03 09:05 <https://meet.example.com/a|Meet> X3 30M") == expected

    def test_remove(self) -> None:
        assert parse_slots("remove #12") == RemoveSlot(12)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("add", "Give the date and start time"),
            ("add 2026-02-30 10:00", "not a real date"),
            ("add 2026-12-03 24:00", "HH:MM"),
            ("add 2026-12-03 10:00 x13", "x1 to x12"),
            ("add 2026-12-03 10:00 x2 x3", "only once"),
            ("add 2026-12-03 10:00 500m", "5 to 480 minutes"),
            ("add 2026-12-03 10:00 http://", "not a web link"),
            ("add 2026-12-03 10:00 @here", "is not a length"),
            ("remove", "Say which slot"),
            ("remove twelve", "not a slot ID"),
            ("publish", "not a /cba-slots subcommand"),
        ],
    )
    def test_bad_input_says_what_is_wrong_with_usage(self, text: str, message: str) -> None:
        with pytest.raises(UsageError) as error:
            parse_slots(text)
        assert message in error.value.message
        assert "Usage of `/cba-slots`" in error.value.user_text()


class TestParseBook:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("", BrowseSlots()),
            ("12", BookSlot(12)),
            ("#12", BookSlot(12)),
            ("mine", MyBookings()),
            ("MINE", MyBookings()),
            ("cancel 5", CancelBooking(5)),
            ("cancel #5", CancelBooking(5)),
        ],
    )
    def test_grammar(self, text: str, expected: object) -> None:
        assert parse_book(text) == expected

    @pytest.mark.parametrize("text", ["abc", "12 13", "cancel", "cancel five", "mine all", "-3", "1e3", "<@U1>"])
    def test_bad_input(self, text: str) -> None:
        with pytest.raises(UsageError) as error:
            parse_book(text)
        assert "Usage of `/cba-book`" in error.value.user_text()


def test_booking_and_cancelling_are_known_to_write_before_the_transaction() -> None:
    assert [book_writes(t) for t in ("12", "#12", "cancel 5", "", "mine", "help")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]


class TestParseWaitlist:
    def test_joins_for_any_coach_or_one(self) -> None:
        assert parse_book("waitlist") == JoinWaitlist()
        assert parse_book("WAITLIST <@U0COACH1|clara>") == JoinWaitlist("U0COACH1")
        assert parse_book("waitlist U0COACH1") == JoinWaitlist("U0COACH1")

    def test_leave(self) -> None:
        assert parse_book("waitlist leave") == LeaveWaitlist()
        assert parse_book("waitlist LEAVE") == LeaveWaitlist()

    @pytest.mark.parametrize("text", ["waitlist leave now", "waitlist clara", "waitlist <@U1> <@U2>", "waitlist @"])
    def test_anything_else_is_a_usage_error(self, text: str) -> None:
        with pytest.raises(UsageError) as caught:
            parse_book(text)
        assert "Usage of `/cba-book`" in caught.value.user_text()

    def test_joining_and_leaving_write(self) -> None:
        assert book_writes("waitlist")
        assert book_writes("waitlist leave")
