from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from commands.common.errors import UsageError
from commands.common.parsing import (
    AmbiguousLocalTime,
    NonexistentLocalTime,
    button_data,
    button_number,
    button_page,
    local_to_utc,
    parse_channel,
    parse_date,
    parse_id,
    parse_time,
    parse_url,
    parse_user,
    split_words,
)
from commands.common.text import escape
from commands.common.timefmt import slack_date, zone_name

USAGE = "usage: /cba-x"
BERLIN = ZoneInfo("Europe/Berlin")


class TestIds:
    @pytest.mark.parametrize(("token", "expected"), [("12", 12), ("#12", 12), (" 7 ", 7)])
    def test_reads_numbers_with_or_without_hash(self, token: str, expected: int) -> None:
        assert parse_id(token, "slot", USAGE) == expected

    @pytest.mark.parametrize("token", ["", "x", "#", "1.5", "-3", "12a", "9999999999"])
    def test_refuses_others_with_usage(self, token: str) -> None:
        with pytest.raises(UsageError) as caught:
            parse_id(token, "slot", USAGE)
        assert caught.value.usage == USAGE


class TestDatesAndTimes:
    def test_date(self) -> None:
        assert parse_date("2026-03-29", USAGE) == date(2026, 3, 29)

    @pytest.mark.parametrize("token", ["2026-02-30", "29/03/2026", "2026-3-9", "tomorrow"])
    def test_bad_dates(self, token: str) -> None:
        with pytest.raises(UsageError):
            parse_date(token, USAGE)

    @pytest.mark.parametrize("token", ["0001-01-01", "1999-12-31", "2100-01-01", "9999-12-31"])
    def test_dates_out_of_range_are_refused_with_usage(self, token: str) -> None:
        with pytest.raises(UsageError, match="out of range") as caught:
            parse_date(token, USAGE)
        assert caught.value.usage == USAGE

    @pytest.mark.parametrize(("token", "day"), [("2000-01-01", date(2000, 1, 1)), ("2099-12-31", date(2099, 12, 31))])
    def test_the_range_ends_are_dates(self, token: str, day: date) -> None:
        assert parse_date(token, USAGE) == day

    def test_time(self) -> None:
        assert parse_time("9:05", USAGE) == time(9, 5)

    @pytest.mark.parametrize("token", ["24:00", "12:60", "noon", "12h"])
    def test_bad_times(self, token: str) -> None:
        with pytest.raises(UsageError):
            parse_time(token, USAGE)


class TestLocalToUtc:
    def test_ordinary_time(self) -> None:
        assert local_to_utc(date(2026, 6, 6), time(10, 0), BERLIN) == datetime(2026, 6, 6, 8, 0, tzinfo=UTC)

    def test_spring_forward_gap_is_refused(self) -> None:
        with pytest.raises(NonexistentLocalTime):
            local_to_utc(date(2026, 3, 29), time(2, 30), BERLIN)

    def test_autumn_fold_needs_a_choice(self) -> None:
        with pytest.raises(AmbiguousLocalTime):
            local_to_utc(date(2026, 10, 25), time(2, 30), BERLIN)
        assert local_to_utc(date(2026, 10, 25), time(2, 30), BERLIN, fold=0) == datetime(
            2026, 10, 25, 0, 30, tzinfo=UTC
        )
        assert local_to_utc(date(2026, 10, 25), time(2, 30), BERLIN, fold=1) == datetime(
            2026, 10, 25, 1, 30, tzinfo=UTC
        )


class TestMentionsAndLinks:
    def test_user_mention_as_slack_escapes_it(self) -> None:
        assert parse_user("<@U123ABC|maria>", USAGE) == "U123ABC"
        assert parse_user("<@W123ABC>", USAGE) == "W123ABC"

    def test_plain_name_is_not_a_member(self) -> None:
        with pytest.raises(UsageError):
            parse_user("@maria", USAGE)

    def test_channel_mention(self) -> None:
        assert parse_channel("<#C0123|cba2>", USAGE) == "C0123"

    @pytest.mark.parametrize(
        "token",
        ["https://meet.example.com/x", "<https://meet.example.com/x>", "<https://meet.example.com/x|Meet>"],
    )
    def test_links_plain_or_escaped(self, token: str) -> None:
        assert parse_url(token, USAGE) == "https://meet.example.com/x"

    @pytest.mark.parametrize("token", ["meet.example.com", "javascript:alert(1)", "https://", "<mailto:a@b.c>"])
    def test_not_links(self, token: str) -> None:
        with pytest.raises(UsageError):
            parse_url(token, USAGE)


def test_split_words_tolerates_stray_quotes() -> None:
    assert split_words('a "b c" d') == ["a", "b c", "d"]
    assert split_words("it's fine") == ["it's", "fine"]


def test_escape_neutralises_mentions_and_links() -> None:
    assert escape("<!channel> & <@U1> <http://x|y>") == "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;http://x|y&gt;"


def test_slack_date_token_has_local_fallback() -> None:
    instant = datetime(2026, 6, 6, 8, 0, tzinfo=UTC)
    assert slack_date(instant, BERLIN) == "<!date^1780732800^{date_short_pretty} {time}|2026-06-06 10:00 CEST>"


class TestButtonValues:
    @pytest.mark.parametrize(("value", "number"), [("12", 12), (" 7 ", 7), (0, 0), ("999999999", 999_999_999)])
    def test_numbers(self, value: object, number: int) -> None:
        assert button_number(value) == number

    @pytest.mark.parametrize("value", ["²", "٣", "-1", "1.5", "1000000000", "99999999999999999999", None, True, -3, ""])
    def test_not_numbers(self, value: object) -> None:
        assert button_number(value) is None

    def test_pages_stop_where_no_list_goes(self) -> None:
        assert button_page("10000") == 10_000
        assert button_page("10001") is None

    def test_json_values_are_cleaned_like_payloads(self) -> None:
        assert button_data('{"q": "a\\u0000b", "p": [1, "\\u001b"]}') == {"q": "ab", "p": [1, ""]}
        with pytest.raises(ValueError, match="Expecting value"):
            button_data("not json")


class TestZoneName:
    def test_a_zone_is_kept(self) -> None:
        assert zone_name("Europe/Rome") == "Europe/Rome"

    @pytest.mark.parametrize("tz", ["Mars/Olympus", "../../etc/passwd", "x" * 65, "", None, 3])
    def test_anything_else_is_not(self, tz: object) -> None:
        assert zone_name(tz) is None
