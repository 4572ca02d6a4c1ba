"""escalation: questions know when they were answered and escalated; nudges go to the routed alumni by DM

Every reply is stored; `question_answers.answering` says whether it answers (its author was an alumnus,
coach or organiser). Replies stored before this revision all counted, so they stay answers, and
`answered_at` is backfilled from the first of them.
A nudge still pending for a question's channel (the old kind) becomes one pending nudge per routed
alumnus, due at the same instant.

Revision ID: 0009_escalation
Revises: 0008
Create Date: 2026-12-03 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0009_escalation"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_at", storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_questions_escalated_at"), ["escalated_at"], unique=False)
    with op.batch_alter_table("question_answers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answering", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.execute(
        "UPDATE questions SET answered_at = "
        "(SELECT MIN(a.created_at) FROM question_answers a WHERE a.question_id = questions.id)"
    )
    # The nudge's dedupe key is planning.dedupe_key(kind, subject_type, subject_id, label, recipient).
    op.execute(
        "INSERT INTO reminders (dedupe_key, kind, subject_type, subject_id, offset_label, recipient, due_at, "
        "status, attempts, created_at, method) "
        "SELECT 'question_nudge:question:' || CAST(r.subject_id AS VARCHAR) || ':' || r.offset_label || ':' "
        "|| m.slack_id, r.kind, r.subject_type, r.subject_id, r.offset_label, m.slack_id, r.due_at, 'pending', 0, "
        "r.created_at, r.method "
        "FROM reminders r JOIN questions q ON q.id = r.subject_id "
        "JOIN question_routings qr ON qr.question_id = q.id JOIN members m ON m.id = qr.member_id "
        "WHERE r.kind = 'question_nudge' AND r.subject_type = 'question' AND r.status = 'pending' "
        "AND r.recipient = q.channel_id AND m.slack_id IS NOT NULL"
    )
    op.execute(
        "UPDATE reminders SET status = 'cancelled' "
        "WHERE kind = 'question_nudge' AND subject_type = 'question' AND status = 'pending' "
        "AND recipient IN (SELECT q.channel_id FROM questions q WHERE q.id = reminders.subject_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("question_answers", schema=None) as batch_op:
        batch_op.drop_column("answering")
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questions_escalated_at"))
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("answered_at")
