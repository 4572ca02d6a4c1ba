"""What every listener and job needs, built once by the app factory."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.admission import Admission
from bot.kernel.kinds import DeliveredHook, Renderer
from bot.kernel.metrics import Metrics
from bot.kernel.registry import Registry
from bot.kernel.settings import Settings

if TYPE_CHECKING:
    from bot.kernel.courier import Courier


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    settings: Settings
    sessions: sessionmaker[Session]
    client: WebClient
    clock: Callable[[], datetime] = system_clock
    registry: Registry = field(default_factory=Registry)
    courier: Courier | None = None
    # This bot's counters and its registry for GET /metrics (never prometheus_client's global one).
    metrics: Metrics = field(default_factory=Metrics)
    # How many HTTP requests do their work at once (CBA_REQUEST_SLOTS); see bot.kernel.admission.
    admission: Admission = field(init=False)

    def __post_init__(self) -> None:
        self.admission = Admission(self.settings.request_slots)
        self.metrics.watch_outbox(self.sessions, lambda: self.clock())

    @property
    def renderers(self) -> Mapping[str, Renderer]:
        return self.registry.renderers

    @property
    def delivered(self) -> Mapping[str, DeliveredHook]:
        return self.registry.delivered

    @property
    def zone(self) -> ZoneInfo:
        """CBA_TIMEZONE: where a member's own zone is unknown, and the fallback inside `<!date>` tokens."""
        return self.settings.zone
