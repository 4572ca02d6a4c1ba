"""The kernel's part of an erasure (bot.kernel.erasure.Erasure) on outbox rows and audit entries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel import outbox
from bot.kernel.erasure import REMOVED, Erasure
from commands.common.audit import audit
from storage.models import AuditEntry, Reminder
from tests.conftest import Clock
from tests.factories import make_member

JOSE = "U0JOSE"
NAME = "José Müller-Ørsted"
TEXT = "Does anyone know a good notary in Zaragoza for the statutes?"


def _row(session: Session, recipient: str, status: str, now: Any, **fields: Any) -> Reminder:
    row = Reminder(
        dedupe_key=fields.pop("dedupe_key", f"test:{recipient}:{status}:{len(session.new)}:{id(fields)}"),
        kind="message",
        subject_type="message",
        subject_id=0,
        recipient=recipient,
        due_at=now,
        status=status,
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def _updates(session: Session) -> list[tuple[str, str, str]]:
    rows = session.scalars(select(Reminder).where(Reminder.method == "chat.update", Reminder.status == "pending"))
    return sorted(
        (str(row.payload["args"]["channel"]), str(row.payload["args"]["ts"]), str(row.payload["text"]))
        for row in rows
        if row.payload
    )


class TestFinish:
    def test_rows_to_the_member_are_dropped_or_kept_without_recipient_and_content(
        self, session: Session, clock: Clock
    ) -> None:
        jose = make_member(session, JOSE, NAME, "participant", email="jose@example.org")
        sent = _row(session, JOSE, "sent", clock.now, payload={"text": "hi"}, slack_channel="D1", slack_ts="1.1")
        pending = _row(session, JOSE, "pending", clock.now, payload={"text": "later"})
        keyed = _row(session, "C0OTHER", "sent", clock.now, dedupe_key=f"event:event:1:1d:{JOSE}")
        erasure = Erasure.of(session, jose, clock.now)
        erasure.finish()
        assert (sent.status, sent.recipient, sent.payload, sent.slack_ts) == ("sent", "erased", None, None)
        assert (pending.status, pending.recipient, pending.payload) == ("cancelled", "erased", None)
        assert keyed.dedupe_key == f"erased:{keyed.id}"
        assert _updates(session) == []  # their own DMs are not edited (that call would carry them)

    def test_a_sent_post_quoting_their_name_is_edited_and_forgotten(self, session: Session, clock: Clock) -> None:
        jose = make_member(session, JOSE, NAME, "participant")
        # Stored as the JSON column stores it: non-ASCII escaped, the text escaped for Slack.
        about = _row(
            session,
            "U0COACH",
            "sent",
            clock.now,
            payload={"text": f"{NAME} &amp; you: booking #4", "blocks": [], "args": {}},
            slack_channel="D0COACH",
            slack_ts="17.5",
            slack_permalink="https://slack.example/p17",
        )
        unrelated = _row(session, "U0COACH", "sent", clock.now, payload={"text": "Someone else"}, slack_ts="18.1")
        Erasure.of(session, jose, clock.now).finish()
        assert (about.payload, about.slack_permalink) == (None, None)
        assert unrelated.payload == {"text": "Someone else"}
        assert _updates(session) == [("D0COACH", "17.5", REMOVED)]

    def test_a_forgotten_text_is_found_as_escaped_and_a_pending_row_quoting_it_dropped(
        self, session: Session, clock: Clock
    ) -> None:
        jose = make_member(session, JOSE, NAME, "participant")
        typed = "R&D <partners> and a notary in Zaragoza for the statutes?"
        shown = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        pending = _row(session, "C0QUESTIONS", "pending", clock.now, payload={"text": f">{shown}"})
        erasure = Erasure.of(session, jose, clock.now)
        erasure.forget(typed)
        erasure.finish()
        assert (pending.status, pending.payload) == ("cancelled", None)

    def test_retracting_drops_an_edit_of_that_post_still_on_its_way_and_edits_once(
        self, session: Session, clock: Clock
    ) -> None:
        jose = make_member(session, JOSE, NAME, "participant")
        post = _row(session, "C0QUESTIONS", "sent", clock.now, slack_channel="C0QUESTIONS", slack_ts="20.1")
        late_edit = outbox.update(session, f"question: {TEXT}", now=clock.now, of=post)
        direct_edit = outbox.update(session, f"question: {TEXT}", now=clock.now, channel="C0QUESTIONS", ts="20.1")
        assert late_edit is not None
        assert direct_edit is not None
        erasure = Erasure.of(session, jose, clock.now + timedelta(seconds=1))
        erasure.retract("C0QUESTIONS", "20.1")
        erasure.retract_row(post)
        assert (late_edit.status, direct_edit.status) == ("cancelled", "cancelled")
        assert _updates(session) == [("C0QUESTIONS", "20.1", REMOVED)]

    def test_audit_entries_that_quote_them_are_scrubbed(self, session: Session, clock: Clock) -> None:
        jose = make_member(session, JOSE, NAME, "participant", email="jose@example.org")
        organiser = make_member(session, "U0ORG", "Olga", "organiser")
        quoting = audit(session, organiser, "roster.import", "roster", emails=["jose@example.org", "a@example.org"])
        other = audit(session, organiser, "role.grant", "member #99", role="coach")
        Erasure.of(session, jose, clock.now).finish()
        assert "jose@example.org" not in str(quoting.details)
        assert other.details == {"role": "coach"}
        assert session.scalar(select(AuditEntry.subject).where(AuditEntry.id == other.id)) == "member #99"
