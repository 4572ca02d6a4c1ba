"""Revision 0009_escalation on a database with data: answers stay answers, old channel nudges become DMs."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, text

from storage.migrate import alembic_config, upgrade

ASKED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _rows(engine: Engine, sql: str) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def test_existing_answers_answer_and_a_pending_channel_nudge_becomes_one_per_routed_alumnus(
    db_url: str, engine: Engine
) -> None:
    command.downgrade(alembic_config(db_url), "0009_escalation-1")
    try:
        naive = db_url.startswith("sqlite")  # SQLite stores UTC instants naive (storage.types.UTCDateTime)
        at = ASKED.replace(tzinfo=None) if naive else ASKED
        with engine.begin() as connection:
            for member_id, slack_id in ((1, "U0ASKER"), (2, "U0JAN"), (3, "U0ELENA"), (4, None)):
                connection.execute(
                    text(
                        "INSERT INTO members (id, slack_id, name, created_at, organisation, region, sectors, expertise, "
                        "bio, visible) VALUES (:id, :slack, 'x', :at, '', '', '[]', '[]', '', false)"
                    ),
                    {"id": member_id, "slack": slack_id, "at": at},
                )
            for question_id in (1, 2):
                connection.execute(
                    text(
                        "INSERT INTO questions (id, asker_id, anonymous, text, created_at, channel_id, status, nudged) "
                        "VALUES (:id, 1, false, 'q', :at, 'C0QUESTIONS', 'open', false)"
                    ),
                    {"id": question_id, "at": at},
                )
                for rank, member_id in enumerate((2, 3, 4), start=1):
                    connection.execute(
                        text(
                            "INSERT INTO question_routings (question_id, member_id, rank, score, asked_at) "
                            "VALUES (:q, :m, :rank, 1, :at)"
                        ),
                        {"q": question_id, "m": member_id, "rank": rank, "at": at},
                    )
                connection.execute(
                    text(
                        "INSERT INTO reminders (dedupe_key, kind, subject_type, subject_id, offset_label, recipient, "
                        "due_at, status, attempts, created_at, method) VALUES (:key, 'question_nudge', 'question', :q, "
                        "'48h', 'C0QUESTIONS', :at, :status, 0, :at, 'chat.postMessage')"
                    ),
                    {
                        "key": f"question_nudge:question:{question_id}:48h:C0QUESTIONS",
                        "q": question_id,
                        "at": at,
                        "status": "pending" if question_id == 1 else "sent",
                    },
                )
            connection.execute(
                text(
                    "INSERT INTO question_answers (question_id, author_id, text, source, created_at) "
                    "VALUES (2, 2, 'an answer', 'thread', :at)"
                ),
                {"at": at},
            )

    finally:
        upgrade(db_url)  # the next tests on this database need the whole schema

    assert _rows(engine, "SELECT id, answered_at IS NOT NULL, escalated_at FROM questions ORDER BY id") == [
        (1, False, None),
        (2, True, None),
    ]
    assert _rows(engine, "SELECT answering FROM question_answers") in ([(True,)], [(1,)])
    assert sorted(
        _rows(engine, "SELECT subject_id, recipient, status, dedupe_key FROM reminders WHERE kind = 'question_nudge'")
    ) == [
        (1, "C0QUESTIONS", "cancelled", "question_nudge:question:1:48h:C0QUESTIONS"),
        (1, "U0ELENA", "pending", "question_nudge:question:1:48h:U0ELENA"),
        (1, "U0JAN", "pending", "question_nudge:question:1:48h:U0JAN"),
        (2, "C0QUESTIONS", "sent", "question_nudge:question:2:48h:C0QUESTIONS"),
    ]
