"""members: directory speed-ups (kept counts, visibility on the sort rows, country terms, PostgreSQL statistics)

Additive: the new rows are derived from the members and role grants already stored.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 23:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The same rows storage.models.member_facets keeps: members not erased, by visibility.
BACKFILL = """
INSERT INTO member_counts (dimension, key, visible, members)
SELECT 'total', '', visible, count(*) FROM members WHERE erased_at IS NULL GROUP BY visible
UNION ALL
SELECT 'country', country, visible, count(*) FROM members
 WHERE erased_at IS NULL AND country IS NOT NULL GROUP BY country, visible
UNION ALL
SELECT 'role', g.role, m.visible, count(DISTINCT g.member_id) FROM role_grants g JOIN members m ON m.id = g.member_id
 WHERE m.erased_at IS NULL GROUP BY g.role, m.visible
UNION ALL
SELECT 'cohort', CAST(g.cohort_id AS VARCHAR(32)), m.visible, count(DISTINCT g.member_id)
  FROM role_grants g JOIN members m ON m.id = g.member_id
 WHERE m.erased_at IS NULL AND g.cohort_id IS NOT NULL GROUP BY g.cohort_id, m.visible
"""


def upgrade() -> None:
    with op.batch_alter_table("member_sort_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visible", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.drop_index("ix_member_sort_keys_sort_key")
        batch_op.create_index("ix_member_sort_keys_listing", ["sort_key", "member_id", "visible"], unique=False)
        batch_op.create_index("ix_member_sort_keys_lookup", ["member_id", "visible", "sort_key"], unique=False)
    with op.batch_alter_table("member_sort_keys", schema=None) as batch_op:
        batch_op.alter_column("visible", server_default=None)
    # Sort rows exist for listed members only (erased members have none), with their visibility.
    op.execute("DELETE FROM member_sort_keys WHERE member_id IN (SELECT id FROM members WHERE erased_at IS NOT NULL)")
    op.execute(
        "UPDATE member_sort_keys SET visible = (SELECT m.visible FROM members m WHERE m.id = member_sort_keys.member_id)"
    )
    # Country is a term (kind "c", lower case) like the tags, so every filter but role/cohort reads one index.
    op.execute(
        "INSERT INTO member_terms (member_id, kind, term) SELECT id, 'c', lower(country) FROM members "
        "WHERE erased_at IS NULL AND country IS NOT NULL "
        "AND id IN (SELECT member_id FROM member_sort_keys)"
    )
    with op.batch_alter_table("role_grants", schema=None) as batch_op:
        batch_op.create_index("ix_role_grants_member_id_cohort_id", ["member_id", "cohort_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Word prefixes are ranges on `term`: with the default 100 most-common values the planner guesses
        # one row for most of them and picks nested loops over thousands of rows.
        op.execute("ALTER TABLE member_terms ALTER COLUMN term SET STATISTICS 10000")
    op.create_table(
        "member_counts",
        sa.Column("dimension", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "key", "visible", name=op.f("pk_member_counts")),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("member_counts")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE member_terms ALTER COLUMN term SET STATISTICS -1")
    op.execute("DELETE FROM member_terms WHERE kind = 'c'")
    with op.batch_alter_table("role_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_role_grants_member_id_cohort_id")
    with op.batch_alter_table("member_sort_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_member_sort_keys_lookup")
        batch_op.drop_index("ix_member_sort_keys_listing")
        batch_op.create_index("ix_member_sort_keys_sort_key", ["sort_key", "member_id"], unique=False)
        batch_op.drop_column("visible")
