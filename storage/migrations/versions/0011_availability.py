"""availability: members carry a monthly question capacity and an absence (away from/until)

Existing members get NULL for all three: the default capacity, and not away.

Revision ID: 0011_availability
Revises: 0010_grace
Create Date: 2026-12-03 16:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_availability"
down_revision = "0010_grace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("question_capacity", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("away_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("away_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("away_until")
        batch_op.drop_column("away_from")
        batch_op.drop_column("question_capacity")
