"""Rules for profiles, cards, roles and erasure. Takes a session; flushes, never commits; no Slack."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from bot.kernel.erasure import Erasure
from bot.kernel.settings import Settings
from commands.common import availability
from commands.common.actors import Actor, member_by_slack_id
from commands.common.audit import audit
from commands.common.errors import NotFound, UsageError
from commands.members.fields import FieldValue
from commands.members.parse import admin_usage, profile_usage
from commands.members.search import RoleLine, Viewer, find_cohort, index_member, update_and_index
from storage.models import COUNTED_MEMBER_COLUMNS, AuditEntry, Cohort, Member, Reminder, RoleGrant

if TYPE_CHECKING:
    from bot.kernel.registry import ErasureStep, ExportSection

ERASED_NAME = "former member"


def viewer_of(actor: Actor) -> Viewer:
    # A caller without a member row (0: no member has it) sees only what everyone sees.
    return Viewer(member_id=actor.member_id or 0, organiser=actor.has("organiser"))


# --- profiles ----------------------------------------------------------------------------------


def apply_fields(session: Session, member: Member, values: list[FieldValue], now: datetime) -> list[str]:
    """Store checked field values; returns the columns that changed.

    A change to what the directory counts (visibility, country) goes through the ORM, whose flush keeps the
    member counts (storage.models). Any other field is written with one Core UPDATE: the ORM's unit of work
    cost `/cba-profile set region` a quarter of its CPU for one column (on PostgreSQL, the UPDATE and the
    re-indexing are one statement: search.update_and_index)."""
    changes = {
        column: stored
        for value in values
        for column, stored in value.assignments()
        if getattr(member, column) != stored
    }
    if not changes:
        return []
    if not changes.keys() & COUNTED_MEMBER_COLUMNS:
        update_and_index(session, member, changes)
        return list(changes)
    for column, stored in changes.items():
        setattr(member, column, stored)
    if "visible" in changes:
        member.visible_since = now if member.visible else None
    index_member(session, member)
    return list(changes)


def set_field(session: Session, actor: Actor, value: FieldValue, now: datetime, zone: ZoneInfo) -> bool:
    if value.column == "question_capacity":
        actor.require("alumni", action="set how many questions are routed to you (only alumni get them)")
    try:
        check_absence_ahead(actor.member, value, now, zone)
    except ValueError as exc:
        raise UsageError(f"Not changed: {exc}.", usage=profile_usage()) from None
    return bool(apply_fields(session, actor.member, [value], now))


def check_absence_ahead(member: Member, value: FieldValue, now: datetime, zone: ZoneInfo) -> None:
    """An absence must not be over already, by the member's own calendar (ValueError says why)."""
    if value.column != "away" or not isinstance(value.value, tuple):
        return
    if value.value == (member.away_from, member.away_until):
        return  # unchanged (a form saved again with a past absence in it)
    today = availability.local_day(member, now, zone)
    if value.value[1] < today:
        raise ValueError(f"the absence ended on {value.value[1].isoformat()}, before today ({today.isoformat()})")


def card_member(session: Session, actor: Actor, slack_id: str) -> Member:
    """The member whose card the actor asks for; hidden members only to themselves and organisers."""
    member = member_by_slack_id(session, slack_id)
    if member is None or member.erased_at is not None:
        raise NotFound("member", f"<@{slack_id}>", usage=profile_usage())
    return _visible_to(actor, member, slack_id)


def card_member_by_id(session: Session, actor: Actor, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.erased_at is not None:
        raise NotFound("member", member_id)
    return _visible_to(actor, member, member.slack_id or "")


def _visible_to(actor: Actor, member: Member, slack_id: str) -> Member:
    if member.visible or member.id == actor.member.id or actor.has("organiser"):
        return member
    # Same answer as an unknown member: a hidden profile's existence is not revealed.
    raise NotFound("member", f"<@{slack_id}>", usage=profile_usage())


# Built once: a profile answer shows the member's roles.
_ROLES = select(RoleGrant.member_id, RoleGrant.role, Cohort.code).join(
    Cohort, Cohort.id == RoleGrant.cohort_id, isouter=True
)
_ROLES_OF_MEMBER = _ROLES.where(RoleGrant.member_id == bindparam("member_id")).order_by(RoleGrant.role)


def roles_of_member(session: Session, member: Member) -> list[RoleLine]:
    rows = session.execute(_ROLES_OF_MEMBER, {"member_id": member.id})
    return [RoleLine(role, code) for _member_id, role, code in rows]


def accepts_questions(session: Session, member: Member) -> bool:
    if member.accepts_questions is not None:
        return member.accepts_questions
    return any(line.role == "alumni" for line in roles_of_member(session, member))


# --- export ------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def personal_data(
    session: Session, member: Member, now: datetime, sections: Mapping[str, ExportSection] | None = None
) -> dict[str, Any]:
    """Everything the bot stores about one member, as JSON-able data: each feature's export section
    (the profile and roles first)."""
    data: dict[str, Any] = {"exported_at": now.isoformat()}
    named = dict(sections or {})
    for name in [*(first for first in FIRST_SECTIONS if first in named), *sorted(set(named) - set(FIRST_SECTIONS))]:
        data[name] = named[name](session, member)
    return data


FIRST_SECTIONS = ("profile", "roles")


def profile_section(session: Session, member: Member) -> dict[str, Any]:
    return {
        "member_id": member.id,
        "slack_id": member.slack_id,
        "name": member.name,
        "email": member.email,
        "time_zone": member.tz,
        "organisation": member.organisation,
        "country": member.country,
        "region": member.region,
        "sectors": list(member.sectors),
        "expertise": list(member.expertise),
        "bio": member.bio,
        "linkedin": member.linkedin,
        "eccp": member.eccp,
        "visible": member.visible,
        "visible_since": _iso(member.visible_since),
        "questions": member.accepts_questions,
        "question_capacity": member.question_capacity,
        "away_from": member.away_from.isoformat() if member.away_from else None,
        "away_until": member.away_until.isoformat() if member.away_until else None,
        "created_at": _iso(member.created_at),
    }


def roles_section(session: Session, member: Member) -> list[dict[str, Any]]:
    return [
        {
            "role": grant.role,
            "cohort": grant.cohort.code if grant.cohort else None,
            "granted_at": _iso(grant.granted_at),
        }
        for grant in session.scalars(select(RoleGrant).where(RoleGrant.member_id == member.id).order_by(RoleGrant.id))
    ]


def audit_section(session: Session, member: Member) -> list[dict[str, Any]]:
    """Entries the member made and entries about them (their roles, their import)."""
    entries = session.scalars(
        select(AuditEntry)
        .where(or_(AuditEntry.actor_id == member.id, AuditEntry.subject == f"member #{member.id}"))
        .order_by(AuditEntry.id)
    )
    return [
        {
            "at": _iso(entry.at),
            "by_me": entry.actor_id == member.id,
            "action": entry.action,
            "subject": entry.subject,
            "details": entry.details,
        }
        for entry in entries
    ]


def messages_section(session: Session, member: Member) -> list[dict[str, Any]]:
    """Reminders and every other message addressed to the member (the outbox), with what they said."""
    if not member.slack_id:
        return []
    rows = session.scalars(select(Reminder).where(Reminder.recipient == member.slack_id).order_by(Reminder.id))
    return [
        {
            "kind": row.kind,
            "method": row.method,
            "due_at": _iso(row.due_at),
            "status": row.status,
            "sent_at": _iso(row.sent_at),
            "text": (row.payload or {}).get("text") or None,
            "file": ((row.payload or {}).get("args") or {}).get("filename"),
        }
        for row in rows
    ]


# --- erasure -----------------------------------------------------------------------------------


def erase(
    session: Session, actor: Actor, now: datetime, steps: Sequence[ErasureStep] = (), settings: Settings | None = None
) -> Member:
    """Erase the actor's personal data (GDPR Art. 17): every feature's step, then the outbox and the audit
    log (`Erasure.finish`). The row and its id stay, so counts stay right and show "former member"."""
    member = actor.member
    if member.erased_at is not None:
        raise UsageError("Your personal data has already been erased.")
    erasure = Erasure.of(session, member, now, settings)
    for step in steps:
        step.fn(erasure)
    if not any(step.fn is erase_profile for step in steps):
        erase_profile(erasure)  # (a registry without the members feature's step: tests of the service alone)
    erasure.finish()
    audit(session, member, "member.erase", f"member #{member.id}")
    return member


def erase_profile(erasure: Erasure) -> None:
    """The members feature's step, run first: the profile, its search rows; the roles stay (counts)."""
    member = erasure.member
    erasure.forget(member.bio, member.organisation, member.linkedin, member.eccp)
    member.name = ERASED_NAME
    member.slack_id = None
    member.email = None
    member.tz = None
    member.tz_checked_at = None
    member.organisation = ""
    member.country = None
    member.region = ""
    member.sectors = []
    member.expertise = []
    member.bio = ""
    member.linkedin = None
    member.eccp = None
    member.visible = False
    member.visible_since = None
    member.accepts_questions = False
    member.question_capacity = None
    member.away_from = None
    member.away_until = None
    member.erased_at = erasure.now
    index_member(erasure.session, member)
    erasure.session.flush()


# --- roles -------------------------------------------------------------------------------------


def grant_role(
    session: Session, actor: Actor, member: Member, role: str, cohort_code: str | None
) -> tuple[RoleGrant, bool]:
    actor.require("organiser", action="change roles")
    cohort = None
    if cohort_code is not None:
        cohort = find_cohort(session, cohort_code)
        if cohort is None:
            raise NotFound("cohort", cohort_code, usage=admin_usage())
    grant = session.scalar(select(RoleGrant).where(RoleGrant.member_id == member.id, RoleGrant.role == role))
    changed = True
    if grant is None:
        grant = RoleGrant(
            member_id=member.id, role=role, cohort_id=cohort.id if cohort else None, granted_by_id=actor.member.id
        )
        session.add(grant)
    elif cohort is not None and grant.cohort_id != cohort.id:
        grant.cohort_id = cohort.id
        grant.granted_by_id = actor.member.id
    else:
        changed = False
    session.flush()
    if changed:
        audit(
            session,
            actor.member,
            "role.grant",
            f"member #{member.id}",
            role=role,
            cohort=cohort.code if cohort else None,
        )
    return grant, changed


def remove_role(session: Session, actor: Actor, member: Member, role: str, organisers: frozenset[str]) -> None:
    actor.require("organiser", action="change roles")
    grant = session.scalar(select(RoleGrant).where(RoleGrant.member_id == member.id, RoleGrant.role == role))
    if grant is None:
        bootstrap = role == "organiser" and member.slack_id in organisers
        hint = " (an organiser through CBA_ORGANISERS: change that setting)" if bootstrap else ""
        raise UsageError(f"<@{member.slack_id}> does not hold the {role} role{hint}.", usage=admin_usage())
    session.delete(grant)
    session.flush()
    audit(session, actor.member, "role.remove", f"member #{member.id}", role=role)
