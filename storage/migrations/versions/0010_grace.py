"""grace: assignments carry their grace window (minutes after the due instant: "late (within grace)")

Existing assignments get 0, which is what they had: late meant after the due instant.

Revision ID: 0010_grace
Revises: 0009_escalation
Create Date: 2026-12-03 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_grace"
down_revision = "0009_escalation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grace_minutes", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_column("grace_minutes")
