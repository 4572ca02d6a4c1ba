"""The Registry: everything the features contribute, as data, built once and passed around.

Each feature fills one in `register(registry)`; the app factory hands it to Bolt, the scheduler,
the delivery engine, the CLI and the console. Tests build their own. No module-level lists, no
registration by import side effect.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.kernel.kinds import Skip
from commands.common.availability import recipient_away
from storage.models import Member, Reminder

if TYPE_CHECKING:
    from bot.kernel.deps import Deps
    from bot.kernel.digest import DigestPart, DigestScope
    from bot.kernel.erasure import Erasure
    from bot.kernel.kinds import DeliveredHook, Outgoing, Renderer
    from bot.kernel.request import ActionHandler, CommandHandler, EventHandler, Reply, Turn, ViewHandler

    AdminHandler = Callable[[Turn, str], Reply | None]

TickHook = Callable[["Deps"], object]
# `fn(session, now, members_by_slack_id)`: a feature's demo data; idempotent on its own.
DemoStep = Callable[[Session, datetime, dict[str, Member]], None]
# An exporter yields the header row, then the data rows (`cba-bot export KIND`).
Exporter = Callable[[Session, str | None], Iterable[Sequence[Any]]]
# `fn(session, member)` -> JSON-able data for `/cba-profile export`.
ExportSection = Callable[[Session, Member], Any]
# `fn(erasure)`: a feature's part of erasing one member (see bot.kernel.erasure).
EraseFn = Callable[["Erasure"], None]
ActionMatcher = str | re.Pattern[str]
# `fn(scope)`: a feature's part of the organisers' digest for one cohort (`scope.cohort`), or for what
# belongs to no cohort (`scope.cohort is None`); None when the section has nothing to say there.
DigestFn = Callable[["DigestScope"], "DigestPart | None"]


@dataclass(frozen=True)
class ErasureStep:
    """A feature's part of `/cba-profile delete`, and the tables it answers for (every table that holds
    member data must be some step's: tests/unit/test_erasure_contract.py)."""

    name: str
    fn: EraseFn
    tables: frozenset[str]
    order: int = 100


@dataclass(frozen=True)
class CommandOptions:
    """How the request adapter opens a command's transaction."""

    # The caller's ORM row comes with their roles in one statement (else it is loaded on first use of
    # `actor.member`: one more statement, and most commands never use it).
    whole_member: bool = False
    # True for the command texts that write. On SQLite their transaction then begins with the write lock: a
    # deferred one that writes after another writer committed must run again from the start (measured: 731
    # of 800 `/cba-profile set` at 8 threads, doubling their CPU).
    writes: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class DigestSection:
    """One section of the organisers' digest (bot.kernel.digest), contributed by the feature that owns the data."""

    name: str
    title: str
    fn: DigestFn
    order: int = 100


@dataclass(frozen=True)
class Tick:
    name: str
    order: int
    fn: TickHook


@dataclass
class Registry:
    commands: dict[str, CommandHandler] = field(default_factory=dict)
    command_options: dict[str, CommandOptions] = field(default_factory=dict)
    actions: list[tuple[ActionMatcher, ActionHandler]] = field(default_factory=list)
    views: list[tuple[str, ViewHandler]] = field(default_factory=list)
    events: list[tuple[str, EventHandler]] = field(default_factory=list)
    admin: dict[str, AdminHandler] = field(default_factory=dict)
    ticks: list[Tick] = field(default_factory=list)
    demo_steps: list[DemoStep] = field(default_factory=list)
    exporters: dict[str, Exporter] = field(default_factory=dict)
    renderers: dict[str, Renderer] = field(default_factory=dict)
    delivered: dict[str, DeliveredHook] = field(default_factory=dict)
    export_sections: dict[str, ExportSection] = field(default_factory=dict)
    erasure_steps: list[ErasureStep] = field(default_factory=list)
    digest_sections: list[DigestSection] = field(default_factory=list)

    # --- Slack listeners ----------------------------------------------------------------------

    def command(
        self,
        name: str,
        handler: CommandHandler,
        *,
        whole_member: bool = False,
        writes: Callable[[str], bool] | None = None,
    ) -> None:
        """Options: see CommandOptions."""
        _unique(self.commands, name, "slash command")
        self.commands[name] = handler
        if whole_member or writes is not None:
            self.command_options[name] = CommandOptions(whole_member=whole_member, writes=writes)

    def action(self, action_id: ActionMatcher, handler: ActionHandler) -> None:
        self.actions.append((action_id, handler))

    def view(self, callback_id: str, handler: ViewHandler) -> None:
        self.views.append((callback_id, handler))

    def event(self, event_type: str, handler: EventHandler) -> None:
        self.events.append((event_type, handler))

    def admin_subcommand(self, handler: AdminHandler, *names: str) -> None:
        """Route `/cba-admin NAME rest…` to `handler(turn, rest)`."""
        for name in names:
            _unique(self.admin, name, "/cba-admin subcommand")
            self.admin[name] = handler

    # --- the clock, data and the delivery engine ------------------------------------------------

    def tick(self, name: str, fn: TickHook, *, order: int = 0) -> None:
        """Run `fn(deps)` on every scheduler tick, lowest `order` first (planning before delivery)."""
        if any(tick.name == name for tick in self.ticks):
            raise ValueError(f"tick hook {name!r} registered twice")
        self.ticks.append(Tick(name, order, fn))
        self.ticks.sort(key=lambda tick: tick.order)

    def demo_step(self, fn: DemoStep) -> None:
        self.demo_steps.append(fn)

    def exporter(self, kind: str, fn: Exporter) -> None:
        _unique(self.exporters, kind, "export kind")
        self.exporters[kind] = fn

    def reminder_kind(self, kind: str, renderer: Renderer, *, quiet_while_away: bool = False) -> None:
        """What a queued message of `kind` says, decided by `renderer` at send time. `quiet_while_away`: a
        reminder a member should not get while away (SPEC 4.2): skipped at send time if its recipient is away
        then, so an absence set after the reminder was planned still counts."""
        _unique(self.renderers, kind, "message kind")
        self.renderers[kind] = unless_away(renderer) if quiet_while_away else renderer

    def on_delivered(self, kind: str, hook: DeliveredHook) -> None:
        """Run `hook(session, row)` in the transaction that records a row of `kind` as sent."""
        _unique(self.delivered, kind, "delivered hook")
        self.delivered[kind] = hook

    def export_section(self, name: str, fn: ExportSection) -> None:
        """`fn(session, member)` gives the part `name` of the member's `/cba-profile export` file."""
        _unique(self.export_sections, name, "export section")
        self.export_sections[name] = fn

    def erasure_step(self, name: str, fn: EraseFn, *, tables: Iterable[str], order: int = 100) -> None:
        """`fn(erasure)` erases what the feature stores about a member, in `tables` (those it answers for);
        lowest `order` first (the profile goes first, so that every later notice names a former member)."""
        if any(step.name == name for step in self.erasure_steps):
            raise ValueError(f"erasure step {name!r} registered twice")
        self.erasure_steps.append(ErasureStep(name, fn, frozenset(tables), order))
        self.erasure_steps.sort(key=lambda step: step.order)

    def digest_section(self, name: str, fn: DigestFn, *, title: str, order: int = 100) -> None:
        """`fn(scope)` gives the section `title` of the organisers' digest, lowest `order` first. A feature
        that is not there contributes no section (the waitlist's lengths appear once it registers them)."""
        if any(section.name == name for section in self.digest_sections):
            raise ValueError(f"digest section {name!r} registered twice")
        self.digest_sections.append(DigestSection(name, title, fn, order))
        self.digest_sections.sort(key=lambda section: section.order)


def unless_away(renderer: Renderer) -> Renderer:
    """`renderer`, unless the reminder's recipient (a member's Slack ID) is away when it is due."""

    @functools.wraps(renderer)
    def render(session: Session, reminder: Reminder, now: datetime, zone: ZoneInfo) -> Outgoing | Skip:
        absence = recipient_away(session, reminder.recipient, now, zone)
        if absence is not None and absence.away_until is not None:
            return Skip(f"recipient away until {absence.away_until.isoformat()}")
        return renderer(session, reminder, now, zone)

    return render


def _unique(table: dict[str, Any], key: str, what: str) -> None:
    if key in table:
        raise ValueError(f"{what} {key!r} registered twice")
