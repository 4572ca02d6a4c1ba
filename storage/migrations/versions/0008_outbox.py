"""outbox: every Slack side effect is a row of the reminders table (method, payload, dependencies)

Additive: existing rows are reminders, sent with chat.postMessage.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("method", sa.String(length=32), server_default="chat.postMessage", nullable=False)
        )
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("depends_on", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("slack_permalink", sa.String(length=500), nullable=True))
        batch_op.create_index(batch_op.f("ix_reminders_depends_on"), ["depends_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminders_depends_on"))
        batch_op.drop_column("slack_permalink")
        batch_op.drop_column("depends_on")
        batch_op.drop_column("payload")
        batch_op.drop_column("method")
