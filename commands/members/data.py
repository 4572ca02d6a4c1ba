"""`cba-bot export directory` and the demo cohort's profiles."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from commands.members.search import find_cohort, index_member
from storage.models import Cohort, Member, MemberSortKey, RoleGrant


def export_directory(session: Session, cohort_code: str | None) -> Iterator[Sequence[Any]]:
    """Every member (visible or not: an organiser's tool), erased members excepted."""
    yield ("email", "name", "roles", "cohort", "organisation", "country")
    statement = (
        select(Member)
        .join(MemberSortKey, MemberSortKey.member_id == Member.id, isouter=True)
        .where(Member.erased_at.is_(None))
        .order_by(MemberSortKey.sort_key, Member.id)
    )
    if cohort_code:
        cohort = find_cohort(session, cohort_code)
        if cohort is None:
            return
        statement = statement.where(Member.id.in_(select(RoleGrant.member_id).where(RoleGrant.cohort_id == cohort.id)))
    grants: dict[int, list[tuple[str, str | None]]] = {}
    for member_id, role, code in session.execute(
        select(RoleGrant.member_id, RoleGrant.role, Cohort.code)
        .join(Cohort, Cohort.id == RoleGrant.cohort_id, isouter=True)
        .order_by(RoleGrant.member_id, RoleGrant.role)
    ):
        grants.setdefault(member_id, []).append((role, code))
    for member in session.scalars(statement):
        held = grants.get(member.id, [])
        cohorts = sorted({code for _role, code in held if code})
        yield (
            member.email or "",
            member.name,
            ";".join(role for role, _code in held),
            ";".join(cohorts),
            member.organisation,
            member.country or "",
        )


# Realistic profiles for bot.demo.PEOPLE (fictional people, real kinds of clusters).
DEMO_PROFILES: dict[str, dict[str, Any]] = {
    "U0DEMOORG1": {
        "organisation": "European Cluster Collaboration Platform",
        "country": "BE",
        "region": "Brussels-Capital",
        "sectors": ["Cluster policy"],
        "expertise": ["Programme management", "Cluster internationalisation"],
        "bio": "Runs the Cluster Booster Academy and its alumni network.",
    },
    "U0DEMOCO01": {
        "organisation": "Torino Wireless Advisory",
        "country": "IT",
        "region": "Piedmont",
        "sectors": ["ICT", "Mobility"],
        "expertise": ["Business models", "Service portfolio", "Funding"],
        "bio": "Coach for cluster strategy; fifteen years of managing ICT clusters in northern Italy.",
        "linkedin": "https://www.linkedin.com/in/demo-marco-rossi",
    },
    "U0DEMOCO02": {
        "organisation": "Nordic Cluster Excellence",
        "country": "DK",
        "region": "Capital Region of Denmark",
        "sectors": ["Clean tech", "Energy"],
        "expertise": ["Cluster excellence labelling", "Member engagement", "Green transition"],
        "bio": "Helps clusters reach the Gold label of the European Cluster Excellence Initiative.",
    },
    "U0DEMOAL01": {
        "organisation": "Moravian Aerospace Cluster",
        "country": "CZ",
        "region": "South Moravia",
        "sectors": ["Aerospace", "Advanced manufacturing"],
        "expertise": ["Internationalisation", "EU funding", "Supply chains"],
        "bio": "Built a joint export programme for 40 SMEs; happy to talk about Horizon Europe consortia.",
    },
    "U0DEMOAL02": {
        "organisation": "Transilvania IT Cluster",
        "country": "RO",
        "region": "Nord-Vest",
        "sectors": ["ICT", "Digital health"],
        "expertise": ["Digital transformation", "Membership fees", "Smart specialisation"],
        "bio": "Manages a cluster of 80 software companies in Cluj-Napoca.",
    },
    "U0DEMOAL03": {
        "organisation": "Pôle Véhicule du Futur",
        "country": "FR",
        "region": "Grand Est",
        "sectors": ["Mobility", "Automotive"],
        "expertise": ["Smart mobility", "Project development", "Funding"],
        "bio": "Twelve years running collaborative mobility projects between SMEs and universities.",
    },
    "U0DEMOPA01": {
        "organisation": "Clúster de Alimentación de Aragón",
        "country": "ES",
        "region": "Aragón",
        "sectors": ["Agri-food"],
        "expertise": ["Food safety", "Circular economy"],
        "bio": "New cluster manager looking to grow the cluster's services to members.",
    },
    "U0DEMOPA02": {
        "organisation": "Slovak Plastics Cluster",
        "country": "SK",
        "region": "Bratislava",
        "sectors": ["Plastics", "Advanced manufacturing"],
        "expertise": ["Recycling", "Industry 4.0"],
        "bio": "Working on a regional recycling value chain with 25 member companies.",
    },
    "U0DEMOPA03": {
        "organisation": "Cluster do Mar Português",
        "country": "PT",
        "region": "Lisboa",
        "sectors": ["Blue economy", "Tourism"],
        "expertise": ["Maritime", "Stakeholder engagement"],
        "bio": "Brings ports, fisheries and marine research together on the Atlantic coast.",
    },
    "U0DEMOPA04": {
        "organisation": "Finnish Forest Bioeconomy Cluster",
        "country": "FI",
        "region": "Uusimaa",
        "sectors": ["Bioeconomy", "Forestry"],
        "expertise": ["Bio-based materials", "Internationalisation"],
        "bio": "Connects forest-industry SMEs with buyers of bio-based materials across Europe.",
    },
}


def demo_profiles(session: Session, now: datetime, members: dict[str, Member]) -> None:
    """Fill in the demo members' profiles (only where still empty: idempotent, keeps edits)."""
    for slack_id, profile in DEMO_PROFILES.items():
        member = members.get(slack_id)
        if member is None or member.erased_at is not None:
            continue
        if not member.organisation:
            for key, value in profile.items():
                setattr(member, key, value)
            member.visible = True
            member.visible_since = now
            _demo_availability(member, now)
        index_member(session, member)


# Availability in the demo (SPEC 4.2): one alumna is away this week and next (her card says "away until …", no
# question is routed to her, no reminder reaches her); one alumnus takes at most 2 routed questions a month.
DEMO_AWAY = "U0DEMOAL02"
DEMO_LOW_CAPACITY = ("U0DEMOAL03", 2)


def _demo_availability(member: Member, now: datetime) -> None:
    if member.slack_id == DEMO_AWAY:
        member.away_from, member.away_until = now.date() - timedelta(days=2), now.date() + timedelta(days=12)
    if member.slack_id == DEMO_LOW_CAPACITY[0]:
        member.question_capacity = DEMO_LOW_CAPACITY[1]
