"""What every listener and job needs, built once by the app factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.executor import TrackingExecutor


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    settings: Settings
    sessions: sessionmaker[Session]
    client: WebClient
    executor: TrackingExecutor
    clock: Callable[[], datetime] = system_clock
