"""The members feature's part of `/cba-profile export` and `/cba-profile delete` (SPEC 4.2)."""

from __future__ import annotations

from bot.kernel.registry import Registry
from commands.members import service
from storage.models import Member, MemberSortKey, MemberTerm, RoleGrant


def register(registry: Registry) -> None:
    registry.export_section("profile", service.profile_section)
    registry.export_section("roles", service.roles_section)
    registry.export_section("audit_log", service.audit_section)
    registry.export_section("messages", service.messages_section)
    # First: every step after it (a coach told of a cancelled booking…) names a former member.
    registry.erasure_step(
        "members",
        service.erase_profile,
        tables=(
            Member.__tablename__,
            RoleGrant.__tablename__,  # kept: the role counts organisers see; nothing in it identifies anyone
            MemberTerm.__tablename__,
            MemberSortKey.__tablename__,
        ),
        order=0,
    )
