"""Issue 12, announcements and RSVP everywhere (SPEC 4.6): a day is announced with the RSVP buttons, its
move reaches those attending, and only a decline less than 14 days before an in-person day is late.

Real signed requests through Bolt, the outbox delivered to the fake Slack, both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack, Message
from bot.demo import load_demo
from bot.features import build_registry
from commands.common.demo_cast import CURRENT_COHORT
from storage.models import Cohort, Event, Reminder, Rsvp
from tests.conftest import ORGANISER, Clock
from tests.factories_events import make_cohort_with_participants

CHANNEL = "C0COHORT3"
ALICE, BRUNO, CARLA = "U0CBA3P000", "U0CBA3P001", "U0CBA3P002"


@pytest.fixture
def cohort(sessions: sessionmaker[Session], fake_slack: FakeSlack) -> Cohort:
    with sessions.begin() as session:
        found, _ = make_cohort_with_participants(session, fake_slack, 3)
    return found


def _admin(slack: SlackDriver, text: str) -> str:
    answer = slack.command(ORGANISER, "/cba-admin", text)
    assert answer.status == 200
    return answer.text


def _buttons(message: Message) -> list[tuple[str, str, str]]:
    return [
        (e["text"]["text"], e["action_id"], e["value"])
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def _latest_event(sessions: sessionmaker[Session]) -> Event:
    with sessions() as session:
        event = session.scalars(select(Event).order_by(Event.id.desc())).first()
        assert event is not None
        session.expunge(event)
        return event


def _rsvp(sessions: sessionmaker[Session], event_id: int, user_index: int) -> tuple[str, bool, str] | None:
    with sessions() as session:
        row = session.scalars(
            select(Rsvp).where(Rsvp.event_id == event_id).order_by(Rsvp.member_id).offset(user_index)
        ).first()
        return (row.answer, row.late_cancellation, row.reason) if row else None


def _answers(sessions: sessionmaker[Session], event_id: int) -> dict[int, tuple[str, bool]]:
    with sessions() as session:
        rows = session.scalars(select(Rsvp).where(Rsvp.event_id == event_id))
        return {r.member_id: (r.answer, r.late_cancellation) for r in rows}


def _press(slack: SlackDriver, user: str, post: Message, action: str, event_id: int) -> None:
    """A button of the message in the cohort channel, as Slack sends it (the message, its channel)."""
    message: dict[str, Any] = {"ts": post.ts, "text": post.text, "blocks": post.blocks}
    answer = slack.action(user, action, value=str(event_id), channel_id=CHANNEL, message=message)
    assert answer.status == 200


def _decline_from(slack: SlackDriver, fake: FakeSlack, user: str, post: Message, event_id: int, reason: str) -> str:
    """Press "I can't attend", fill the form that opens, send it; the answer shown to the member."""
    before = len(fake.calls_to("views.open"))
    _press(slack, user, post, "event_rsvp_no", event_id)
    opened = fake.calls_to("views.open")
    assert len(opened) == before + 1, "the decline asks for a reason in a form"
    form = opened[-1].args["view"]
    assert form["callback_id"] == "event_decline"
    answer = slack.submit(user, form, {"reason": {"reason": {"type": "plain_text_input", "value": reason}}})
    assert answer.status == 200
    assert not answer.json.get("errors")
    told = [c for c in fake.calls_to("chat.postEphemeral") if c.args.get("user") == user]
    return str(told[-1].args["text"]) if told else ""


class TestAnnouncement:
    def test_a_day_30_days_ahead_is_announced_and_declining_from_it_is_not_late(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock, cohort: Cohort
    ) -> None:
        # 2026-12-25 10:00 in Brussels is 09:00 UTC: 30 days after the frozen clock.
        reply = _admin(slack, "event add CBA3 in-person 2026-12-25 10:00-17:00 Torino | MESAP, Torino")
        event = _latest_event(sessions)
        assert event.starts_at - clock.now == timedelta(days=30)
        assert f"Announced with RSVP buttons in <#{CHANNEL}>." in reply

        [post] = fake_slack.messages_in(CHANNEL)
        assert f"New programme day: *Torino* (event #{event.id}, in person)" in post.text
        assert _buttons(post) == [
            ("I'll attend", "event_rsvp_yes", str(event.id)),
            ("I can't attend", "event_rsvp_no", str(event.id)),
        ]

        told = _decline_from(slack, fake_slack, BRUNO, post, event.id, "Another event that week")
        assert f"you can't attend *Torino* (event #{event.id}" in told
        assert "late cancellation" not in told
        [(answer, late)] = _answers(sessions, event.id).values()
        assert (answer, late) == ("no", False)

    def test_a_decline_10_days_before_an_in_person_day_is_late_and_an_answer_can_be_changed(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock, cohort: Cohort
    ) -> None:
        _admin(slack, "event add CBA3 in-person 2026-12-25 10:00-17:00 Torino | MESAP, Torino")
        event = _latest_event(sessions)
        [post] = fake_slack.messages_in(CHANNEL)
        _press(slack, ALICE, post, "event_rsvp_yes", event.id)
        _press(slack, CARLA, post, "event_rsvp_yes", event.id)
        assert sorted(_answers(sessions, event.id).values()) == [("yes", False), ("yes", False)]

        clock.set(event.starts_at - timedelta(days=10))
        told = _decline_from(slack, fake_slack, ALICE, post, event.id, "Flight cancelled")
        assert "Recorded as a late cancellation (less than 14 days before an in-person day)" in told
        assert sorted(_answers(sessions, event.id).values()) == [("no", True), ("yes", False)]

        # Changed back: attending again is no cancellation at all.
        _press(slack, ALICE, post, "event_rsvp_yes", event.id)
        assert sorted(_answers(sessions, event.id).values()) == [("yes", False), ("yes", False)]

    def test_an_online_day_is_never_late_to_decline(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock, cohort: Cohort
    ) -> None:
        _admin(slack, "event add CBA3 online 2026-11-27 10:00-12:00 Kick-off | https://meet.example.com/k")
        event = _latest_event(sessions)
        [post] = fake_slack.messages_in(CHANNEL)
        told = _decline_from(slack, fake_slack, CARLA, post, event.id, "Clash")
        assert "late cancellation" not in told
        assert list(_answers(sessions, event.id).values()) == [("no", False)]

    def test_moving_the_day_dms_those_attending_and_not_those_who_declined(
        self, slack: SlackDriver, sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock, cohort: Cohort
    ) -> None:
        _admin(slack, "event add CBA3 in-person 2026-12-25 10:00-17:00 Torino | MESAP, Torino")
        event = _latest_event(sessions)
        [post] = fake_slack.messages_in(CHANNEL)
        _press(slack, ALICE, post, "event_rsvp_yes", event.id)
        _decline_from(slack, fake_slack, BRUNO, post, event.id, "Holiday")

        reply = _admin(slack, f"event move {event.id} 2026-12-28 10:00-17:00")
        assert "1 attendee told by DM." in reply
        [dm] = fake_slack.dms_to(ALICE)
        assert f"you said you'd attend has moved: *Torino* (event #{event.id}" in dm.text
        assert f"<!date^{int(datetime(2026, 12, 28, 9, tzinfo=UTC).timestamp())}^" in dm.text
        assert [b[1] for b in _buttons(dm)] == ["event_rsvp_yes", "event_rsvp_no"]
        assert fake_slack.dms_to(BRUNO) == []
        assert fake_slack.dms_to(CARLA) == []
        moved = fake_slack.messages_in(CHANNEL)[-1]
        assert f"Programme day moved: *Torino* (event #{event.id}" in moved.text

        _admin(slack, f"event remove {event.id}")
        assert "is cancelled: *Torino*" in fake_slack.dms_to(ALICE)[-1].text
        assert fake_slack.dms_to(BRUNO) == []


def test_the_demo_announces_its_four_days_once(sessions: sessionmaker[Session], clock: Clock) -> None:
    for _ in range(2):  # idempotent: a second load announces nothing again
        with sessions.begin() as session:
            load_demo(session, clock.now, build_registry())
    with sessions() as session:
        rows = session.scalars(select(Reminder).where(Reminder.subject_type == "event-notice")).all()
        days = session.scalars(select(Event.id)).all()
    assert sorted(r.subject_id for r in rows) == sorted(days)
    assert {r.recipient for r in rows} == {CURRENT_COHORT[2]}
    assert all("New programme day" in str((r.payload or {}).get("text")) for r in rows)
