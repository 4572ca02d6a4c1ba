"""The audit log: role changes, erasures and imports."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from storage.models import AuditEntry, Member


def audit(session: Session, actor: Member | None, action: str, subject: str, **details: Any) -> AuditEntry:
    entry = AuditEntry(actor_id=actor.id if actor else None, action=action, subject=subject, details=details)
    session.add(entry)
    session.flush()
    return entry
