from datetime import time, timedelta

import pytest

from bot.kernel.settings import ConfigError, DigestSchedule, load_settings, parse_digest, parse_duration


class TestParseDuration:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("30m", timedelta(minutes=30)),
            ("24h", timedelta(hours=24)),
            ("7d", timedelta(days=7)),
            (" 1H ", timedelta(hours=1)),
        ],
    )
    def test_reads_minutes_hours_days(self, text: str, expected: timedelta) -> None:
        assert parse_duration(text) == expected

    @pytest.mark.parametrize("text", ["", "0h", "7", "1w", "-1d", "1.5h", "h"])
    def test_refuses_anything_else(self, text: str) -> None:
        with pytest.raises(ValueError, match="duration"):
            parse_duration(text)


class TestLoadSettings:
    def test_defaults(self) -> None:
        settings = load_settings({})
        assert settings.database_url == "sqlite:///cba-bot.sqlite3"
        assert settings.timezone == "Europe/Brussels"
        assert settings.event_reminders == (timedelta(days=7), timedelta(days=1), timedelta(hours=1))
        assert settings.coaching_reminders == (timedelta(hours=24), timedelta(hours=1))
        assert settings.homework_reminders == (timedelta(days=3), timedelta(days=1))
        assert settings.question_nudge == timedelta(hours=48)
        assert settings.question_escalation == timedelta(hours=96)
        assert settings.max_active_bookings == 2
        assert settings.min_booking_notice == timedelta(hours=12)
        assert settings.slack_api_url == "https://slack.com/api/"
        assert settings.port == 3000
        assert settings.retention_days == 90
        assert settings.waitlist_hold == timedelta(hours=2)
        assert settings.request_slots == 1

    def test_request_slots_default_to_four_on_postgresql_and_can_be_set(self) -> None:
        assert load_settings({"DATABASE_URL": "postgresql://u@db/cba"}).request_slots == 4
        assert load_settings({"DATABASE_URL": "postgresql://u@db/cba", "CBA_REQUEST_SLOTS": "4"}).request_slots == 4
        assert load_settings({"CBA_REQUEST_SLOTS": "3"}).request_slots == 3

    def test_reads_every_variable(self) -> None:
        settings = load_settings(
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "DATABASE_URL": "postgresql://u:p@db/cba",
                "CBA_TIMEZONE": "Europe/Rome",
                "CBA_ORGANISERS": "U01ABC, U02DEF",
                "CBA_QUESTIONS_CHANNEL": "C0123ASK",
                "CBA_EVENT_REMINDERS": "1h,7d",
                "SLACK_API_URL": "http://127.0.0.1:9/api",
                "PORT": "8080",
                "CBA_MAX_ACTIVE_BOOKINGS": "3",
                "CBA_MIN_BOOKING_NOTICE": "6h",
                "CBA_WAITLIST_HOLD": "45m",
                "CBA_RETENTION_DAYS": "30",
                "CBA_QUESTION_NUDGE": "1m",
                "CBA_QUESTION_ESCALATION": "2m",
            }
        )
        assert settings.database_url == "postgresql+psycopg://u:p@db/cba"
        assert settings.organisers == frozenset({"U01ABC", "U02DEF"})
        assert settings.event_reminders == (timedelta(days=7), timedelta(hours=1))
        assert settings.slack_api_url == "http://127.0.0.1:9/api/"
        assert settings.port == 8080
        assert settings.max_active_bookings == 3
        assert settings.min_booking_notice == timedelta(hours=6)
        assert settings.waitlist_hold == timedelta(minutes=45)
        assert settings.retention_days == 30
        assert (settings.question_nudge, settings.question_escalation) == (timedelta(minutes=1), timedelta(minutes=2))
        assert settings.zone.key == "Europe/Rome"

    @pytest.mark.parametrize(
        ("variable", "value"),
        [
            ("DATABASE_URL", "not a url"),
            ("DATABASE_URL", "mysql://x/y"),
            ("CBA_TIMEZONE", "Mars/Olympus"),
            ("CBA_ORGANISERS", "anna"),
            ("CBA_QUESTIONS_CHANNEL", "general"),
            ("CBA_EVENT_REMINDERS", "7d,soon"),
            ("CBA_COACHING_REMINDERS", ","),
            ("CBA_QUESTION_NUDGE", "2 days"),
            ("CBA_QUESTION_ESCALATION", "soon"),
            ("CBA_DIGEST", "monday at nine"),
            ("CBA_DIGEST", "mon 25:00"),
            ("CBA_MAX_ACTIVE_BOOKINGS", "0"),
            ("CBA_MAX_ACTIVE_BOOKINGS", "²"),
            ("CBA_RETENTION_DAYS", "0"),
            ("CBA_REQUEST_SLOTS", "0"),
            ("CBA_WAITLIST_HOLD", "2 hours"),
            ("CBA_WAITLIST_HOLD", "0"),
            ("PORT", "99999"),
            ("SLACK_API_URL", "ftp://x"),
        ],
    )
    def test_names_the_malformed_variable(self, variable: str, value: str) -> None:
        with pytest.raises(ConfigError) as caught:
            load_settings({variable: value})
        assert caught.value.variable == variable
        assert str(caught.value).startswith(f"{variable}: ")

    @pytest.mark.parametrize(
        ("nudge", "escalation"),
        [("48h", "48h"), ("48h", "1d"), (None, "2d"), ("5d", None)],
    )
    def test_escalation_must_come_after_the_nudge(self, nudge: str | None, escalation: str | None) -> None:
        env = {name: value for name, value in (("CBA_QUESTION_NUDGE", nudge), ("CBA_QUESTION_ESCALATION", escalation))}
        with pytest.raises(ConfigError) as caught:
            load_settings({name: value for name, value in env.items() if value is not None})
        assert caught.value.variable == "CBA_QUESTION_ESCALATION"
        assert "longer than CBA_QUESTION_NUDGE" in str(caught.value)

    def test_run_needs_a_bot_token(self) -> None:
        with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
            load_settings({"SLACK_SIGNING_SECRET": "s"}).require_slack()

    def test_http_mode_needs_a_signing_secret(self) -> None:
        with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
            load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}).require_slack()

    def test_socket_mode_needs_no_signing_secret(self) -> None:
        settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
        settings.require_slack()
        assert settings.socket_mode


class TestDigestSetting:
    def test_default_is_monday_nine_and_off_disables(self) -> None:
        assert load_settings({}).digest == DigestSchedule(frozenset({0}), time(9, 0))
        assert load_settings({"CBA_DIGEST": "off"}).digest is None
        assert load_settings({"CBA_DIGEST": " OFF "}).digest is None

    @pytest.mark.parametrize(
        ("text", "days", "at"),
        [
            ("mon 09:00", {0}, time(9, 0)),
            ("Fri 7:30", {4}, time(7, 30)),
            ("mon,thu 08:15", {0, 3}, time(8, 15)),
            ("daily 18:00", set(range(7)), time(18, 0)),
        ],
    )
    def test_reads_days_and_time(self, text: str, days: set[int], at: time) -> None:
        schedule = parse_digest(text)
        assert schedule == DigestSchedule(frozenset(days), at)
        assert parse_digest(str(schedule)) == schedule

    @pytest.mark.parametrize("text", ["", "mon", "09:00", "monday 09:00", "mon 9", "mon 24:00", "mon 09:60", "x 1 2"])
    def test_refuses_anything_else(self, text: str) -> None:
        with pytest.raises(ValueError, match="'"):
            parse_digest(text)

    def test_a_malformed_value_stops_start_up_with_one_line_naming_it(self) -> None:
        with pytest.raises(ConfigError) as caught:
            load_settings({"CBA_DIGEST": "mon 9am"})
        assert str(caught.value) == "CBA_DIGEST: '9am' is not a time of day like 09:00"


class TestHomeworkGrace:
    def test_default_is_no_grace(self) -> None:
        assert load_settings({}).homework_grace == timedelta(0)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("0", timedelta(0)),
            ("0h", timedelta(0)),
            ("30m", timedelta(minutes=30)),
            ("2h", timedelta(hours=2)),
            ("7d", timedelta(days=7)),
        ],
    )
    def test_reads_a_duration_or_zero(self, text: str, expected: timedelta) -> None:
        assert load_settings({"CBA_HOMEWORK_GRACE": text}).homework_grace == expected

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("2 hours", "'2 hours' is not a duration like 30m, 24h or 7d, or 0 for none"),
            ("-2h", "'-2h' is not a duration like 30m, 24h or 7d, or 0 for none"),
            ("169h", "'169h' is longer than the 7d allowed"),
        ],
    )
    def test_a_bad_value_stops_start_up_with_one_line_naming_it(self, text: str, problem: str) -> None:
        with pytest.raises(ConfigError) as caught:
            load_settings({"CBA_HOMEWORK_GRACE": text})
        assert str(caught.value) == f"CBA_HOMEWORK_GRACE: {problem}"
