"""Settings, read once from the environment (and `.env`), frozen afterwards.

Every problem is reported as a ConfigError naming the variable, so that start-up can
print one line and stop instead of a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///cba-bot.sqlite3"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
_DURATION_PART = re.compile(r"^(\d+)([mhd])$")
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


def parse_duration(text: str) -> timedelta:
    """`90m`, `24h`, `7d` -> timedelta. Raises ValueError on anything else."""
    match = _DURATION_PART.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"'{text}' is not a duration like 30m, 24h or 7d")
    amount, unit = int(match.group(1)), match.group(2)
    return {"m": timedelta(minutes=amount), "h": timedelta(hours=amount), "d": timedelta(days=amount)}[unit]


def _offsets(env: Mapping[str, str], name: str, default: str) -> tuple[timedelta, ...]:
    raw = env.get(name, "").strip() or default
    try:
        values = sorted({parse_duration(part) for part in raw.split(",") if part.strip()}, reverse=True)
    except ValueError as exc:
        raise ConfigError(name, f"{exc} (expected a comma-separated list such as {default})") from None
    if not values:
        raise ConfigError(name, f"no offsets given (expected a comma-separated list such as {default})")
    return tuple(values)


def _duration(env: Mapping[str, str], name: str, default: str) -> timedelta:
    raw = env.get(name, "").strip() or default
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise ConfigError(name, f"{exc}") from None


GRACE_MAX = timedelta(days=7)


def _grace(env: Mapping[str, str]) -> timedelta:
    """CBA_HOMEWORK_GRACE: how long after the due instant a submission is "late (within grace)"; 0 = none."""
    raw = env.get("CBA_HOMEWORK_GRACE", "").strip() or "0"
    if re.fullmatch(r"0+[mhd]?", raw.lower()):
        return timedelta(0)
    try:
        grace = parse_duration(raw)
    except ValueError as exc:
        raise ConfigError("CBA_HOMEWORK_GRACE", f"{exc}, or 0 for none") from None
    if grace > GRACE_MAX:
        raise ConfigError("CBA_HOMEWORK_GRACE", f"'{raw}' is longer than the {_describe(GRACE_MAX)} allowed")
    return grace


def _describe(duration: timedelta) -> str:
    """A duration as it is typed: 30m, 24h, 7d."""
    minutes = int(duration.total_seconds() // 60)
    for unit, size in (("d", 24 * 60), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def _positive_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdecimal() or int(raw) < minimum:  # isdigit() is true for "²", which int() refuses
        raise ConfigError(name, f"'{raw}' is not a whole number of at least {minimum}")
    return int(raw)


@dataclass(frozen=True)
class DigestSchedule:
    """When the organisers' digest goes out (CBA_DIGEST): on `days` (0 = Monday) at `at`, in CBA_TIMEZONE."""

    days: frozenset[int] = frozenset({0})
    at: time = time(9, 0)

    def __str__(self) -> str:
        days = "daily" if len(self.days) == 7 else ",".join(WEEKDAYS[day] for day in sorted(self.days))
        return f"{days} {self.at:%H:%M}"


def parse_digest(text: str) -> DigestSchedule | None:
    """`mon 09:00`, `mon,thu 08:30`, `daily 09:00` -> a schedule; `off` -> None. ValueError on anything else."""
    words = text.strip().lower().split()
    if words == ["off"]:
        return None
    if len(words) != 2:
        raise ValueError(f"'{text}' is not a schedule like 'mon 09:00', 'mon,thu 08:30', 'daily 09:00' or 'off'")
    days_word, clock = words
    match = _CLOCK_TIME.match(clock)
    if not match:
        raise ValueError(f"'{clock}' is not a time of day like 09:00")
    if days_word == "daily":
        days = frozenset(range(7))
    else:
        names = [name.strip() for name in days_word.split(",")]
        unknown = [name for name in names if name not in WEEKDAYS]
        if unknown:
            raise ValueError(f"'{unknown[0]}' is not a day (use {', '.join(WEEKDAYS)} or daily)")
        days = frozenset(WEEKDAYS.index(name) for name in names)
    return DigestSchedule(days, time(int(match.group(1)), int(match.group(2))))


def _digest(env: Mapping[str, str]) -> DigestSchedule | None:
    raw = env.get("CBA_DIGEST", "").strip() or "mon 09:00"
    try:
        return parse_digest(raw)
    except ValueError as exc:
        raise ConfigError("CBA_DIGEST", str(exc)) from None


def default_request_slots(database_url: str) -> int:
    """One on SQLite (its writers queue anyway); four on PostgreSQL, so that requests compute while others wait
    for the database's answers (measured at 10 and 50 clients: 1, 2, 4 slots gave 124, 88, 77 ms for `/cba-book`)."""
    return 4 if database_url.startswith("postgresql") else 1


def _database_url(env: Mapping[str, str]) -> str:
    raw = env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError("DATABASE_URL", f"'{_redact(raw)}' is not a database URL") from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError("DATABASE_URL", f"unsupported database '{backend}' (use sqlite:// or postgresql://)")
    if backend == "postgresql" and url.drivername == "postgresql":
        # psycopg 3 is what we install; the bare scheme would ask for psycopg2.
        raw = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return raw


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _timezone(env: Mapping[str, str]) -> str:
    name = env.get("CBA_TIMEZONE", "").strip() or "Europe/Brussels"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("CBA_TIMEZONE", f"'{name}' is not an IANA time zone such as Europe/Brussels") from None
    return name


def _organisers(env: Mapping[str, str]) -> frozenset[str]:
    ids = [part.strip() for part in env.get("CBA_ORGANISERS", "").split(",") if part.strip()]
    for user_id in ids:
        if not _SLACK_USER_ID.match(user_id):
            raise ConfigError("CBA_ORGANISERS", f"'{user_id}' is not a Slack user ID such as U012ABCDEF")
    return frozenset(ids)


def _questions_channel(env: Mapping[str, str]) -> str | None:
    raw = env.get("CBA_QUESTIONS_CHANNEL", "").strip().lstrip("#")
    if not raw:
        return None
    if not _SLACK_CHANNEL_ID.match(raw):
        raise ConfigError("CBA_QUESTIONS_CHANNEL", f"'{raw}' is not a Slack channel ID such as C012ABCDEF")
    return raw


def _slack_api_url(env: Mapping[str, str]) -> str:
    raw = env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
    if not re.match(r"^https?://[^/]+", raw):
        raise ConfigError("SLACK_API_URL", f"'{raw}' is not an http(s) URL")
    return raw if raw.endswith("/") else raw + "/"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = 3000
    timezone: str = "Europe/Brussels"
    questions_channel: str | None = None
    organisers: frozenset[str] = field(default_factory=frozenset)
    event_reminders: tuple[timedelta, ...] = (timedelta(days=7), timedelta(days=1), timedelta(hours=1))
    coaching_reminders: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))
    homework_reminders: tuple[timedelta, ...] = (timedelta(days=3), timedelta(days=1))
    # Default grace window of new assignments (after the due instant: "late (within grace)").
    homework_grace: timedelta = timedelta(0)
    question_nudge: timedelta = timedelta(hours=48)
    question_escalation: timedelta = timedelta(hours=96)
    # The organiser's digest (CBA_DIGEST); None when `off`.
    digest: DigestSchedule | None = field(default_factory=DigestSchedule)
    max_active_bookings: int = 2
    min_booking_notice: timedelta = timedelta(hours=12)
    # How long a freed slot is held for the waiter it is offered to before it passes on (SPEC 4.3).
    waitlist_hold: timedelta = timedelta(hours=2)
    # Requests only compute an answer from the database (no Slack call before the ack), so a few threads keep
    # the cores busy; more only add GIL hand-offs between them (the ack bench's CPU per request grew with them).
    http_threads: int = 8
    # HTTP requests admitted to their work at once (bot.kernel.admission); the other threads wait in line.
    request_slots: int = 1
    tick_seconds: int = 30
    senders: int = 4
    retention_days: int = 90
    log_level: str = "INFO"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def require_slack(self) -> None:
        """What `cba-bot run` needs on top of the defaults."""
        if not self.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN", "is not set (the bot token, xoxb-…, from your Slack app)")
        if not self.slack_bot_token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN", "must be a bot token starting with xoxb-")
        if self.slack_app_token and not self.slack_app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN", "must be an app-level token starting with xapp-")
        if not self.slack_app_token and not self.slack_signing_secret:
            raise ConfigError(
                "SLACK_SIGNING_SECRET",
                "is not set (needed for HTTP mode; or set SLACK_APP_TOKEN for Socket Mode)",
            )


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: Path | None = None) -> Settings:
    """Build Settings from `env` (default: os.environ after loading `.env`)."""
    if env is None:
        from dotenv import load_dotenv

        load_dotenv(dotenv or Path.cwd() / ".env", override=False)
        env = os.environ
    port = _positive_int(env, "PORT", 3000)
    if port > 65535:
        raise ConfigError("PORT", f"{port} is not a TCP port (1-65535)")
    level = (env.get("CBA_LOG_LEVEL", "").strip() or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("CBA_LOG_LEVEL", f"'{level}' is not one of DEBUG, INFO, WARNING, ERROR")
    question_nudge = _duration(env, "CBA_QUESTION_NUDGE", "48h")
    question_escalation = _duration(env, "CBA_QUESTION_ESCALATION", "96h")
    if question_escalation <= question_nudge:
        raise ConfigError(
            "CBA_QUESTION_ESCALATION",
            f"must be longer than CBA_QUESTION_NUDGE ({_describe(question_nudge)}): organisers hear of a question "
            "the alumni were reminded of and still did not answer",
        )
    database_url = _database_url(env)
    return Settings(
        database_url=database_url,
        slack_bot_token=env.get("SLACK_BOT_TOKEN", "").strip() or None,
        slack_app_token=env.get("SLACK_APP_TOKEN", "").strip() or None,
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip() or None,
        slack_api_url=_slack_api_url(env),
        port=port,
        timezone=_timezone(env),
        questions_channel=_questions_channel(env),
        organisers=_organisers(env),
        event_reminders=_offsets(env, "CBA_EVENT_REMINDERS", "7d,1d,1h"),
        coaching_reminders=_offsets(env, "CBA_COACHING_REMINDERS", "24h,1h"),
        homework_reminders=_offsets(env, "CBA_HOMEWORK_REMINDERS", "3d,1d"),
        homework_grace=_grace(env),
        question_nudge=question_nudge,
        question_escalation=question_escalation,
        digest=_digest(env),
        max_active_bookings=_positive_int(env, "CBA_MAX_ACTIVE_BOOKINGS", 2),
        min_booking_notice=_duration(env, "CBA_MIN_BOOKING_NOTICE", "12h"),
        waitlist_hold=_duration(env, "CBA_WAITLIST_HOLD", "2h"),
        http_threads=_positive_int(env, "CBA_HTTP_THREADS", 8),
        request_slots=_positive_int(env, "CBA_REQUEST_SLOTS", default_request_slots(database_url)),
        tick_seconds=_positive_int(env, "CBA_TICK_SECONDS", 30),
        senders=_positive_int(env, "CBA_SENDERS", 4),
        retention_days=_positive_int(env, "CBA_RETENTION_DAYS", 90),
        log_level=level,
    )
