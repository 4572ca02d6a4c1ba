"""Roster import (SPEC 4.9): check each row, upsert the good ones, report the bad ones by line number."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commands.common.audit import audit
from commands.common.text import clean_text
from commands.members.eligibility import is_eligible
from commands.members.fields import check_field, normalise_tags, tag_key
from commands.members.parse import COHORT_CODE
from commands.members.search import find_cohort, index_member
from storage.models import ROLES, Cohort, Member, RoleGrant

COLUMNS = ("email", "name", "role", "cohort", "organisation", "country", "region", "sectors", "expertise", "linkedin")
OPTIONAL = ("slack_id",)
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
ELIGIBILITY_ROLES = ("participant", "alumni")

# users.lookupByEmail: e-mail -> Slack user ID, or None when nobody in the workspace has it.
LookupByEmail = Callable[[str], str | None]


class RosterFileError(Exception):
    """The file as a whole cannot be read (no header, missing columns)."""


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    cohorts_created: list[str] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.cohorts_created)


@dataclass
class _Row:
    line: int
    email: str
    name: str
    role: str
    cohort: str
    organisation: str
    country: str | None
    region: str
    sectors: list[str]
    expertise: list[str]
    linkedin: str | None
    slack_id: str


def _check(line: int, raw: dict[str, str]) -> _Row:
    def cell(name: str) -> str:
        return " ".join((raw.get(name) or "").split())

    email = cell("email").lower()
    if not EMAIL.match(email):
        raise ValueError(f"'{email}' is not an e-mail address" if email else "the e-mail is missing")
    name = cell("name")
    if not name:
        raise ValueError("the name is missing")
    if len(name) > 100:
        raise ValueError("the name is longer than 100 characters")
    role = cell("role").lower()
    if role not in ROLES:
        raise ValueError(f"'{cell('role')}' is not a role ({', '.join(ROLES)})" if role else "the role is missing")
    cohort = cell("cohort").upper()
    if cohort and not COHORT_CODE.match(cohort):
        raise ValueError(f"'{cell('cohort')}' is not a cohort code such as CBA2")
    if role in ELIGIBILITY_ROLES and not cohort:
        raise ValueError(f"a {role} needs a cohort")
    organisation = cell("organisation")
    if role == "participant" and not organisation:
        raise ValueError("a participant needs their cluster organisation")
    country = check_field("country", cell("country")).value if cell("country") else None
    if role in ELIGIBILITY_ROLES and not is_eligible(country):  # type: ignore[arg-type]
        raise ValueError(
            f"country '{country or ''}' is not eligible (an EU Member State or a country associated to the COSME "
            "strand of the Single Market Programme)"
        )
    linkedin = check_field("linkedin", cell("linkedin")).value if cell("linkedin") else None
    slack_id = cell("slack_id").upper()
    if slack_id and not SLACK_ID.match(slack_id):
        raise ValueError(f"'{cell('slack_id')}' is not a Slack user ID")
    return _Row(
        line=line,
        email=email,
        name=name,
        role=role,
        cohort=cohort,
        organisation=organisation[:200],
        country=country,  # type: ignore[arg-type]
        region=cell("region")[:200],
        sectors=normalise_tags((raw.get("sectors") or "").replace(";", ",")),
        expertise=normalise_tags((raw.get("expertise") or "").replace(";", ",")),
        linkedin=linkedin,  # type: ignore[arg-type]
        slack_id=slack_id,
    )


def read_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    # Control characters and NUL are dropped as from any text a user gives (PostgreSQL refuses NUL).
    reader = csv.DictReader(io.StringIO(clean_text(text.lstrip("\ufeff"))))
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    if not header:
        raise RosterFileError("the file is empty (a header row is needed)")
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise RosterFileError(f"the header row lacks the column(s) {', '.join(missing)}")
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, str]]] = []
    start = 2
    for record in reader:
        if any((value or "").strip() for key, value in record.items() if key):
            rows.append((start, {k: v for k, v in record.items() if isinstance(k, str) and isinstance(v, str)}))
        start = reader.line_num + 1
    return rows


def _participant_from_same_organisation(
    session: Session, row: _Row, cohort: Cohort, member_id: int | None
) -> Member | None:
    if row.role != "participant":
        return None
    key = tag_key(row.organisation)
    candidates = session.scalars(
        select(Member)
        .join(RoleGrant, RoleGrant.member_id == Member.id)
        .where(RoleGrant.role == "participant", RoleGrant.cohort_id == cohort.id, Member.erased_at.is_(None))
    )
    for other in candidates:
        if other.id != member_id and tag_key(other.organisation) == key:
            return other
    return None


def import_roster(session: Session, text: str, lookup: LookupByEmail) -> Outcome:
    """Upsert every valid row; invalid rows change nothing and are listed with their line number."""
    outcome = Outcome()
    for line, raw in read_rows(text):
        try:
            row = _check(line, raw)
        except ValueError as exc:
            outcome.errors.append((line, str(exc)))
            continue
        try:
            _upsert(session, row, lookup, outcome)
        except ValueError as exc:
            outcome.errors.append((line, str(exc)))
    if outcome.changed:
        audit(
            session,
            None,
            "roster.import",
            "roster",
            created=outcome.created,
            updated=outcome.updated,
            cohorts_created=outcome.cohorts_created,
            refused_lines=[line for line, _reason in outcome.errors],
        )
    return outcome


def _upsert(session: Session, row: _Row, lookup: LookupByEmail, outcome: Outcome) -> None:
    member = None
    if row.slack_id:
        member = session.scalar(select(Member).where(Member.slack_id == row.slack_id))
    if member is None:
        member = session.scalar(select(Member).where(func.lower(Member.email) == row.email, Member.erased_at.is_(None)))
    slack_id = row.slack_id or (member.slack_id if member is not None else None)
    if not slack_id:
        slack_id = lookup(row.email)
        if not slack_id:
            raise ValueError(f"no Slack user has the e-mail {row.email} (add a slack_id column, or invite them first)")
        member = session.scalar(select(Member).where(Member.slack_id == slack_id))
    cohort = None
    new_cohort = False
    if row.cohort:
        cohort = find_cohort(session, row.cohort)
        if cohort is None:
            new_cohort = True
            cohort = Cohort(code=row.cohort, name="")
    if cohort is not None and cohort.id is not None:
        other = _participant_from_same_organisation(session, row, cohort, member.id if member else None)
        if other is not None:
            raise ValueError(
                f"{cohort.code} already has a participant from {row.organisation} (member #{other.id}): "
                "one participant per cluster organisation per cohort"
            )
    if new_cohort and cohort is not None:
        session.add(cohort)
        session.flush()
        outcome.cohorts_created.append(cohort.code)
    created = member is None
    if member is None:
        member = Member(slack_id=slack_id, name=row.name)
        session.add(member)
        session.flush()
    values = {
        "slack_id": slack_id,
        "name": row.name,
        "email": row.email,
        "organisation": row.organisation or member.organisation,
        "country": row.country or member.country,
        "region": row.region or member.region,
        "sectors": row.sectors or list(member.sectors),
        "expertise": row.expertise or list(member.expertise),
        "linkedin": row.linkedin or member.linkedin,
    }
    changed = False
    for key, value in values.items():
        if getattr(member, key) != value:
            setattr(member, key, value)
            changed = True
    grant = session.scalar(select(RoleGrant).where(RoleGrant.member_id == member.id, RoleGrant.role == row.role))
    cohort_id = cohort.id if cohort is not None else None
    if grant is None:
        session.add(RoleGrant(member_id=member.id, role=row.role, cohort_id=cohort_id))
        changed = True
    elif cohort_id is not None and grant.cohort_id != cohort_id:
        grant.cohort_id = cohort_id
        changed = True
    session.flush()
    index_member(session, member)
    if created:
        outcome.created += 1
    elif changed:
        outcome.updated += 1
    else:
        outcome.unchanged += 1
