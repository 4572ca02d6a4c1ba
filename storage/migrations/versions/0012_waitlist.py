"""waitlist: participants wait for a free coaching slot; a freed slot is held for one of them (an offer)

Revision ID: 0012_waitlist
Revises: 0011_availability
Create Date: 2026-12-03 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0012_waitlist"
down_revision = "0011_availability"
branch_labels = None
depends_on = None

WAITING = sa.text("status = 'waiting'")
OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_table(
        "coaching_waitlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("coach_id", sa.Integer(), nullable=True),
        sa.Column("joined_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ended_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["coach_id"], ["members.id"], name=op.f("fk_coaching_waitlist_coach_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["members.id"],
            name=op.f("fk_coaching_waitlist_participant_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_waitlist")),
    )
    with op.batch_alter_table("coaching_waitlist", schema=None) as batch_op:
        batch_op.create_index("ix_coaching_waitlist_status_joined", ["status", "joined_at"], unique=False)
        batch_op.create_index(
            "uq_coaching_waitlist_waiting_participant",
            ["participant_id"],
            unique=True,
            sqlite_where=WAITING,
            postgresql_where=WAITING,
        )

    op.create_table(
        "coaching_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("offered_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ended_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["coaching_waitlist.id"],
            name=op.f("fk_coaching_offers_entry_id_coaching_waitlist"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["members.id"],
            name=op.f("fk_coaching_offers_participant_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["coaching_slots.id"],
            name=op.f("fk_coaching_offers_slot_id_coaching_slots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_offers")),
    )
    with op.batch_alter_table("coaching_offers", schema=None) as batch_op:
        batch_op.create_index("ix_coaching_offers_participant_slot", ["participant_id", "slot_id"], unique=False)
        batch_op.create_index("ix_coaching_offers_status_expires", ["status", "expires_at"], unique=False)
        batch_op.create_index(
            "uq_coaching_offers_open_entry", ["entry_id"], unique=True, sqlite_where=OPEN, postgresql_where=OPEN
        )
        batch_op.create_index(
            "uq_coaching_offers_open_slot", ["slot_id"], unique=True, sqlite_where=OPEN, postgresql_where=OPEN
        )


def downgrade() -> None:
    with op.batch_alter_table("coaching_offers", schema=None) as batch_op:
        batch_op.drop_index("uq_coaching_offers_open_slot", sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.drop_index("uq_coaching_offers_open_entry", sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.drop_index("ix_coaching_offers_status_expires")
        batch_op.drop_index("ix_coaching_offers_participant_slot")
    op.drop_table("coaching_offers")
    with op.batch_alter_table("coaching_waitlist", schema=None) as batch_op:
        batch_op.drop_index("uq_coaching_waitlist_waiting_participant", sqlite_where=WAITING, postgresql_where=WAITING)
        batch_op.drop_index("ix_coaching_waitlist_status_joined")
    op.drop_table("coaching_waitlist")
