"""The coaching waitlist with held offers (SPEC 4.3) end to end: signed requests through Bolt, the fake Slack,
the real database (SQLite and PostgreSQL), and the real scheduler tick for expiry (also by two bots at once).

The bot runs with CBA_WAITLIST_HOLD=10m; the frozen clock is moved past it and `bot.scheduler.tick` called.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot, build
from bot.console.driver import Dispatched, SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.features import build_registry
from bot.kernel.settings import Settings, load_settings
from bot.scheduler import tick
from storage.db import make_engine, make_sessionmaker
from storage.models import CoachingBooking, CoachingOffer, CoachingSlot, CoachingWaitlistEntry, Member
from tests.conftest import ORGANISER, Clock, with_settings
from tests.factories import database_snapshot, make_cohort, make_member
from tests.factories_coaching import COACH, COACH2, OUTSIDER, PARTICIPANTS, make_booking, make_slot, seed_people

P1, P2, P3 = PARTICIPANTS
BOOK_USAGE = "Usage of `/cba-book`"
HOLD = timedelta(minutes=10)
OFFER = "freed up for you"
HELD = "is held for someone on the waitlist until"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_settings(settings, waitlist_hold=load_settings({"CBA_WAITLIST_HOLD": "10m"}).waitlist_hold)


@pytest.fixture
def people(sessions: sessionmaker[Session], fake_slack: FakeSlack) -> dict[str, int]:
    with sessions.begin() as session:
        return {slack_id: member.id for slack_id, member in seed_people(session, fake_slack).items()}


@pytest.fixture
def second_bot(settings: Settings, fake_slack: FakeSlack, db_url: str, clock: Clock) -> Iterator[Bot]:
    """Another bot process on the same database: its own engine, courier and scheduler tick."""
    engine = make_engine(db_url)
    client = WebClient(token=settings.slack_bot_token, base_url=fake_slack.url)
    other = build(settings, client=client, sessions=make_sessionmaker(engine), clock=clock, registry=build_registry())
    yield other
    if other.deps.courier is not None:
        other.deps.courier.wait_idle(timeout=10)
        other.deps.courier.stop()
    engine.dispose()


# --- helpers ----------------------------------------------------------------------------------------


def _ephemeral(answer: Dispatched) -> str:
    assert answer.status == 200
    assert answer.json.get("response_type") == "ephemeral"
    return answer.text


def _answer(fake: FakeSlack) -> str:
    """The last answer to a button (sent through its response_url)."""
    return str(fake.calls_to("response_url")[-1].args.get("text", ""))


def _offers_to(fake: FakeSlack, user: str) -> list[Any]:
    return [m for m in fake.dms_to(user) if OFFER in m.text]


def _member_id(sessions: sessionmaker[Session], slack_id: str) -> int:
    with sessions() as session:
        member_id = session.scalar(select(Member.id).where(Member.slack_id == slack_id))
        assert member_id is not None
        return member_id


def _booked_slot(sessions: sessionmaker[Session], clock: Clock, booker: str, coach: str = COACH, days: int = 8) -> int:
    """A slot of `coach`, booked by `booker`: nothing is open."""
    with sessions.begin() as session:
        slot = make_slot(session, _member(session, coach), clock.now + timedelta(days=days))
        make_booking(session, slot, _member(session, booker))
        return slot.id


def _member(session: Session, slack_id: str) -> Member:
    member = session.scalar(select(Member).where(Member.slack_id == slack_id))
    assert member is not None
    return member


def _booking_of(sessions: sessionmaker[Session], slot_id: int) -> int:
    with sessions() as session:
        booking_id = session.scalar(
            select(CoachingBooking.id).where(CoachingBooking.slot_id == slot_id, CoachingBooking.status == "active")
        )
        assert booking_id is not None
        return booking_id


def _offers(sessions: sessionmaker[Session]) -> list[tuple[int, str, str]]:
    """(slot, holder, status) of every offer, in the order they were made."""
    with sessions() as session:
        rows = session.execute(
            select(CoachingOffer.slot_id, Member.slack_id, CoachingOffer.status)
            .join(Member, Member.id == CoachingOffer.participant_id)
            .order_by(CoachingOffer.id)
        ).all()
        return [(slot, str(holder), status) for slot, holder, status in rows]


def _entries(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        rows = session.execute(
            select(Member.slack_id, CoachingWaitlistEntry.status)
            .join(Member, Member.id == CoachingWaitlistEntry.participant_id)
            .order_by(CoachingWaitlistEntry.id)
        ).all()
        return {str(slack_id): status for slack_id, status in rows}


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        if block.get("accessory", {}).get("type") == "button":
            found.append(block["accessory"])
        found += block.get("elements", []) if block.get("type") == "actions" else []
    return found


def _wait_and_free(slack: SlackDriver, sessions: sessionmaker[Session], clock: Clock, *waiters: str) -> int:
    """P3 holds the only slot; `waiters` join the waitlist in order; P3 cancels. Returns the slot."""
    slot_id = _booked_slot(sessions, clock, P3)
    for waiter in waiters:
        assert "You joined the waitlist" in _ephemeral(slack.command(waiter, "/cba-book", "waitlist"))
        clock.advance(timedelta(seconds=1))  # first come, first served
    assert "Cancelled booking" in _ephemeral(slack.command(P3, "/cba-book", f"cancel {_booking_of(sessions, slot_id)}"))
    return slot_id


def _run_clock(bots: list[Bot], clock: Clock, until: timedelta, step: timedelta = timedelta(seconds=30)) -> None:
    end = clock.now + until
    while clock.now < end:
        clock.advance(step)
        for each in bots:
            tick(each.deps)
    for each in bots:
        if each.deps.courier is not None:
            each.deps.courier.wait_idle(timeout=10)


# --- the offer ----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
class TestOffer:
    def test_the_first_waiter_gets_the_offer_by_dm_and_books_it_with_the_button(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slot_id = _wait_and_free(slack, sessions, clock, P1, P2)
        [offer] = _offers_to(fake_slack, P1)
        assert _offers_to(fake_slack, P2) == []
        assert f"slot #{slot_id} with Clara Coach" in offer.text
        assert "held for you alone until <!date^" in offer.text
        held_until = int((clock.now + HOLD).timestamp())
        assert f"<!date^{held_until}^" in offer.text
        assert [(b["text"]["text"], b["action_id"]) for b in _buttons(offer.blocks)] == [
            ("Book", f"coaching_book_{slot_id}"),
            ("No thanks", "coaching_offer_decline"),
        ]
        slack.action(P1, f"coaching_book_{slot_id}", value=str(slot_id))
        assert "Booked!" in _answer(fake_slack)
        assert _offers(sessions) == [(slot_id, P1, "accepted")]
        assert _entries(sessions) == {P1: "booked", P2: "waiting"}
        # The booking's own confirmation followed, as for any booking.
        assert any("is booked" in m.text for m in fake_slack.dms_to(P1))

    def test_nobody_else_can_book_the_held_slot_nor_sees_it_open(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slot_id = _wait_and_free(slack, sessions, clock, P1, P2)
        before = database_snapshot(sessions)
        for other in (P2, P3):
            refused = _ephemeral(slack.command(other, "/cba-book", str(slot_id)))
            assert f"Slot #{slot_id} {HELD}" in refused
            listing = _ephemeral(slack.command(other, "/cba-book"))
            assert f"slot #{slot_id}" not in listing
        assert "You are on the waitlist" in _ephemeral(slack.command(P2, "/cba-book"))  # with their position
        assert "position 2" in _ephemeral(slack.command(P2, "/cba-book"))
        slack.action(P3, f"coaching_book_{slot_id}", value=str(slot_id))
        assert HELD in _answer(fake_slack)
        assert database_snapshot(sessions) == before
        # The holder sees it, with its Book button.
        assert f"slot #{slot_id}" in _ephemeral(slack.command(P1, "/cba-book"))
        assert "held for you (waitlist) until <!date^" in _ephemeral(slack.command(P1, "/cba-book"))

    def test_twenty_concurrent_clicks_by_others_are_all_refused_and_the_holder_books(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        others = [f"U0CROWD{index:02d}" for index in range(20)]
        with sessions.begin() as session:
            cohort = make_cohort(session)
            for slack_id in others:
                make_member(session, slack_id, f"Crowd {slack_id[-2:]}", "participant", cohort=cohort)
                fake_slack.add_user(slack_id, f"Crowd {slack_id[-2:]}")
        slot_id = _wait_and_free(slack, sessions, clock, P1)
        clickers = [*others, P1]
        answered_before = len(fake_slack.calls_to("response_url"))
        start = threading.Barrier(len(clickers))

        def click(user: str) -> None:
            start.wait()
            slack.action(user, f"coaching_book_{slot_id}", value=str(slot_id))

        threads = [threading.Thread(target=click, args=(user,)) for user in clickers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        calls = fake_slack.wait_for("response_url", answered_before + len(clickers), timeout=60)
        answers = [str(call.args.get("text", "")) for call in calls[answered_before:]]
        assert sum("Booked!" in a for a in answers) == 1, answers
        assert sum(HELD in a for a in answers) == 20, answers
        with sessions() as session:
            [booking] = session.scalars(select(CoachingBooking).where(CoachingBooking.status == "active")).all()
            assert booking.participant.slack_id == P1
        assert _offers(sessions) == [(slot_id, P1, "accepted")]

    def test_the_holders_home_shows_the_offer_with_book(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slot_id = _wait_and_free(slack, sessions, clock, P1)
        home = [c for c in fake_slack.calls_to("views.publish") if c.args.get("user_id") == P1][-1]
        view = home.args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        text = json.dumps(view)
        assert "Coaching waitlist" in text
        assert f"slot #{slot_id} with Clara Coach" in text
        assert f"coaching_book_{slot_id}" in [b.get("action_id") for b in _buttons(view["blocks"])]

    def test_a_waiter_at_the_booking_limit_is_passed_over(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
        settings: Settings,
    ) -> None:
        assert "You joined the waitlist" in _ephemeral(slack.command(P1, "/cba-book", "waitlist"))
        assert "You joined the waitlist" in _ephemeral(slack.command(P2, "/cba-book", "waitlist"))
        for days in range(settings.max_active_bookings):  # P1 books up to the limit meanwhile (another coach)
            _booked_slot(sessions, clock, P1, coach=COACH2, days=3 + days)
        slot_id = _booked_slot(sessions, clock, P3)
        slack.command(P3, "/cba-book", f"cancel {_booking_of(sessions, slot_id)}")
        assert _offers(sessions) == [(slot_id, P2, "open")]
        assert _offers_to(fake_slack, P1) == []

    def test_the_hold_ends_no_later_than_bookings_of_the_slot_close(
        self, slack: SlackDriver, sessions: sessionmaker[Session], clock: Clock, settings: Settings
    ) -> None:
        slack.command(P1, "/cba-book", "waitlist")
        starts_at = clock.now + settings.min_booking_notice + timedelta(minutes=5)  # closes before the hold would
        with sessions.begin() as session:
            slot = make_slot(session, _member(session, COACH), starts_at)
            booking_id = make_booking(session, slot, _member(session, P3)).id
        slack.command(P3, "/cba-book", f"cancel {booking_id}")
        with sessions() as session:
            offer = session.scalars(select(CoachingOffer)).one()
            assert offer.expires_at == starts_at - settings.min_booking_notice

    def test_a_slot_inside_the_booking_notice_is_offered_to_nobody(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slack.command(P1, "/cba-book", "waitlist")
        with sessions.begin() as session:
            slot = make_slot(session, _member(session, COACH), clock.now + timedelta(hours=6))
            booking_id = make_booking(session, slot, _member(session, P3)).id
        slack.command(P3, "/cba-book", f"cancel {booking_id}")
        assert _offers(sessions) == []
        assert _offers_to(fake_slack, P1) == []


# --- passing on ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
class TestPassingOn:
    def test_an_expired_offer_passes_to_the_second_waiter_then_the_slot_opens_to_all(
        self, bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slot_id = _wait_and_free(slack, sessions, clock, P1, P2)
        _run_clock([bot], clock, HOLD - timedelta(seconds=30))  # still held for P1
        assert _offers(sessions) == [(slot_id, P1, "open")]
        _run_clock([bot], clock, timedelta(seconds=30))  # the hold ran out
        assert _offers(sessions) == [(slot_id, P1, "expired"), (slot_id, P2, "open")]
        assert [m.text for m in fake_slack.dms_to(P1) if "ran out" in m.text]
        assert len(_offers_to(fake_slack, P2)) == 1
        assert HELD in _ephemeral(slack.command(P1, "/cba-book", str(slot_id)))  # now it is P2's
        assert _entries(sessions) == {P1: "waiting", P2: "waiting"}  # P1 keeps their place for the next one
        _run_clock([bot], clock, HOLD)  # P2 lets it expire too: nobody is left who was not offered it
        assert _offers(sessions) == [(slot_id, P1, "expired"), (slot_id, P2, "expired")]
        assert f"slot #{slot_id}" in _ephemeral(slack.command(P3, "/cba-book"))
        assert "Booked!" in _ephemeral(slack.command(P3, "/cba-book", str(slot_id)))

    def test_two_bots_expiring_the_same_offer_pass_it_on_once(
        self,
        bot: Bot,
        second_bot: Bot,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
    ) -> None:
        slot_id = _wait_and_free(slack, sessions, clock, P1, P2)
        clock.advance(HOLD + timedelta(seconds=1))
        start = threading.Barrier(2)

        def run(each: Bot) -> None:
            start.wait()
            tick(each.deps)

        threads = [threading.Thread(target=run, args=(each,)) for each in (bot, second_bot)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        _run_clock([bot, second_bot], clock, timedelta(seconds=60))  # more ticks by both change nothing
        assert _offers(sessions) == [(slot_id, P1, "expired"), (slot_id, P2, "open")]
        assert len(_offers_to(fake_slack, P2)) == 1
        assert len([m for m in fake_slack.dms_to(P1) if "ran out" in m.text]) == 1

    def test_a_click_racing_the_expiry_either_books_or_passes_it_on_never_both(
        self,
        bot: Bot,
        second_bot: Bot,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
    ) -> None:
        slot_id = _wait_and_free(slack, sessions, clock, P1, P2)
        clock.advance(HOLD)  # the hold ends now: another process's tick and the holder's click meet
        start = threading.Barrier(2)

        def expire() -> None:
            start.wait()
            tick(second_bot.deps)

        def click() -> None:
            start.wait()
            slack.action(P1, f"coaching_book_{slot_id}", value=str(slot_id))

        threads = [threading.Thread(target=expire), threading.Thread(target=click)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        slack.settle()
        offers = _offers(sessions)
        with sessions() as session:
            booked = session.scalars(
                select(Member.slack_id)
                .join(CoachingBooking, CoachingBooking.participant_id == Member.id)
                .where(CoachingBooking.status == "active")
            ).all()
        if offers == [(slot_id, P1, "accepted")]:
            assert booked == [P1]
            assert _offers_to(fake_slack, P2) == []
        else:
            assert offers == [(slot_id, P1, "expired"), (slot_id, P2, "open")]
            assert booked == []
            assert "Booked!" not in _answer(fake_slack)

    def test_no_thanks_passes_it_on_at_once(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slot_id = _wait_and_free(slack, sessions, clock, P1, P2)
        offer_id = next(
            b["value"] for b in _buttons(_offers_to(fake_slack, P1)[0].blocks) if b["text"]["text"] == "No thanks"
        )
        slack.action(P2, "coaching_offer_decline", value=offer_id)  # not theirs to answer
        assert "made to someone else" in _answer(fake_slack)
        slack.action(P1, "coaching_offer_decline", value=offer_id)
        assert f"You passed on slot #{slot_id}" in _answer(fake_slack)
        assert fake_slack.calls_to("response_url")[-1].args.get("replace_original") is True
        assert _offers(sessions) == [(slot_id, P1, "declined"), (slot_id, P2, "open")]
        assert len(_offers_to(fake_slack, P2)) == 1
        slack.action(P1, "coaching_offer_decline", value=offer_id)  # pressed again: it has ended
        assert "already ended" in _answer(fake_slack)
        assert _entries(sessions) == {P1: "waiting", P2: "waiting"}

    def test_a_coach_cancelling_the_booking_frees_the_slot_for_the_waitlist(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slot_id = _booked_slot(sessions, clock, P3)
        slack.command(P1, "/cba-book", "waitlist")
        slack.command(COACH, "/cba-book", f"cancel {_booking_of(sessions, slot_id)}")
        assert _offers(sessions) == [(slot_id, P1, "open")]

    def test_a_withdrawn_slot_ends_its_offer_and_its_holder_is_told(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slot_id = _wait_and_free(slack, sessions, clock, P1, P2)
        assert "Withdrew slot" in _ephemeral(slack.command(COACH, "/cba-slots", f"remove {slot_id}"))
        assert _offers(sessions) == [(slot_id, P1, "superseded")]
        assert any("was withdrawn by its coach" in m.text for m in fake_slack.dms_to(P1))
        assert _offers_to(fake_slack, P2) == []


# --- new slots ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
class TestNewSlots:
    def test_a_new_slot_reaches_that_coachs_waiters_and_any_coach_waiters_not_another_coachs(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        assert "of Carl Coach" in _ephemeral(slack.command(P1, "/cba-book", f"waitlist <@{COACH2}|carl>"))
        clock.advance(timedelta(seconds=1))
        assert "of any coach" in _ephemeral(slack.command(P3, "/cba-book", "waitlist"))
        clock.advance(timedelta(seconds=1))
        assert "of Clara Coach" in _ephemeral(slack.command(P2, "/cba-book", f"waitlist <@{COACH}>"))
        slack.command(COACH, "/cba-slots", "add 2026-12-03 10:00 x2")
        with sessions() as session:
            first, second = session.scalars(select(CoachingSlot.id).order_by(CoachingSlot.starts_at)).all()
        # One slot per waiter, first come first served among those it fits; Carl's waiter gets none of Clara's.
        assert _offers(sessions) == [(first, P3, "open"), (second, P2, "open")]
        assert _offers_to(fake_slack, P1) == []
        slack.command(COACH2, "/cba-slots", "add 2026-12-04 10:00")
        with sessions() as session:
            carls = session.scalar(select(CoachingSlot.id).where(CoachingSlot.coach_id == _member_id(sessions, COACH2)))
        assert _offers(sessions)[-1] == (carls, P1, "open")
        assert len(_offers_to(fake_slack, P1)) == 1


# --- joining and leaving -----------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
class TestJoinAndLeave:
    def test_an_empty_listing_offers_the_join_button_and_it_joins(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        _booked_slot(sessions, clock, P3)
        listing = slack.command(P1, "/cba-book")
        assert "no open coaching slots" in _ephemeral(listing)
        [button] = _buttons(listing.json["blocks"])
        assert (button["text"]["text"], button["action_id"]) == ("Join the waitlist", "coaching_waitlist_join")
        slack.action(P1, "coaching_waitlist_join", value=button["value"])
        assert "You joined the waitlist for the next free slot of any coach (position 1)" in _answer(fake_slack)
        assert _entries(sessions) == {P1: "waiting"}
        slack.action(P1, "coaching_waitlist_join", value=button["value"])  # a second press changes nothing
        assert "already on the waitlist" in _answer(fake_slack)
        assert _entries(sessions) == {P1: "waiting"}
        again = slack.command(P1, "/cba-book")
        assert "You are on the waitlist for the next free slot of any coach (position 1)" in _ephemeral(again)
        assert _buttons(again.json["blocks"]) == []

    def test_joining_with_another_coach_updates_the_one_entry_and_keeps_the_place(
        self, slack: SlackDriver, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slack.command(P1, "/cba-book", "waitlist")
        clock.advance(timedelta(seconds=1))
        slack.command(P2, "/cba-book", "waitlist")
        clock.advance(timedelta(seconds=1))
        text = _ephemeral(slack.command(P1, "/cba-book", f"waitlist <@{COACH}>"))
        assert "of Clara Coach (position 1)" in text
        assert "Updated" in text
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(CoachingWaitlistEntry)) == 2

    def test_the_position_counts_only_the_waiters_a_fitting_slot_would_go_to_first(
        self, slack: SlackDriver, clock: Clock
    ) -> None:
        assert "of any coach (position 1)" in _ephemeral(slack.command(P1, "/cba-book", "waitlist"))
        clock.advance(timedelta(seconds=1))
        assert "of Carl Coach (position 2)" in _ephemeral(slack.command(P2, "/cba-book", f"waitlist <@{COACH2}>"))
        clock.advance(timedelta(seconds=1))
        # Behind the waiter for any coach; not behind the one waiting for Carl, who takes none of Clara's slots.
        assert "of Clara Coach (position 2)" in _ephemeral(slack.command(P3, "/cba-book", f"waitlist <@{COACH}>"))
        slack.command(P1, "/cba-book", "waitlist leave")
        assert "(position 1)" in _ephemeral(slack.command(P3, "/cba-book"))
        assert "(position 1)" in _ephemeral(slack.command(P2, "/cba-book"))

    def test_leave_takes_you_off_and_passes_on_a_slot_held_for_you(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slot_id = _wait_and_free(slack, sessions, clock, P1, P2)
        assert "You left the coaching waitlist" in _ephemeral(slack.command(P1, "/cba-book", "waitlist leave"))
        assert _entries(sessions) == {P1: "left", P2: "waiting"}
        assert _offers(sessions) == [(slot_id, P1, "declined"), (slot_id, P2, "open")]
        assert "not on the coaching waitlist" in _ephemeral(slack.command(P1, "/cba-book", "waitlist leave"))

    def test_someone_who_left_gets_no_offer(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slot_id = _booked_slot(sessions, clock, P3)
        slack.command(P1, "/cba-book", "waitlist")
        slack.command(P1, "/cba-book", "waitlist leave")
        slack.command(P3, "/cba-book", f"cancel {_booking_of(sessions, slot_id)}")
        assert _offers(sessions) == []
        assert f"slot #{slot_id}" in _ephemeral(slack.command(P2, "/cba-book"))

    @pytest.mark.parametrize(
        "text",
        [
            "waitlist leave now",
            "waitlist a b",
            "waitlist nobody",
            f"waitlist <@{OUTSIDER}>",  # not a coach
            f"waitlist <@{P2}>",
        ],
    )
    def test_bad_input_answers_usage_and_changes_nothing(
        self, slack: SlackDriver, sessions: sessionmaker[Session], text: str
    ) -> None:
        before = database_snapshot(sessions)
        answer = _ephemeral(slack.command(P1, "/cba-book", text))
        assert BOOK_USAGE in answer
        assert database_snapshot(sessions) == before

    def test_only_participants_may_join(self, slack: SlackDriver, sessions: sessionmaker[Session]) -> None:
        before = database_snapshot(sessions)
        assert "participant" in _ephemeral(slack.command(COACH, "/cba-book", "waitlist"))
        assert "participant" in _ephemeral(slack.command(OUTSIDER, "/cba-book", "waitlist leave"))
        assert database_snapshot(sessions) == before

    def test_help_shows_the_waitlist_usages(self, slack: SlackDriver) -> None:
        text = _ephemeral(slack.command(P1, "/cba-book", "help"))
        assert "/cba-book waitlist [@coach]" in text
        assert "/cba-book waitlist leave" in text
        assert "/cba-book waitlist" in _ephemeral(slack.command(P1, "/cba-help"))


# --- erasure ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
class TestErasure:
    def test_an_erased_holder_drops_out_and_the_slot_passes_on(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slot_id = _wait_and_free(slack, sessions, clock, P1, P2)
        slack.command(P1, "/cba-profile", "delete")
        slack.action(P1, "cba_profile_erase", value="erase")
        slack.settle()
        assert _offers(sessions) == [(slot_id, P2, "open")]  # P1's offer and entry are deleted
        assert _entries(sessions) == {P2: "waiting"}
        assert len(_offers_to(fake_slack, P2)) == 1

    def test_waiters_for_an_erased_coach_are_taken_off_and_told(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        slack.command(P1, "/cba-book", f"waitlist <@{COACH}>")
        slack.command(P2, "/cba-book", "waitlist")
        slack.command(COACH, "/cba-profile", "delete")
        slack.action(COACH, "cba_profile_erase", value="erase")
        slack.settle()
        assert _entries(sessions) == {P1: "dropped", P2: "waiting"}
        assert any("no longer available" in m.text for m in fake_slack.dms_to(P1))
        with sessions() as session:
            assert session.scalars(select(CoachingWaitlistEntry.coach_id)).all() == [None, None]


# --- organisers ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
class TestOrganisers:
    def test_report_and_digest_show_the_waitlist_length_per_coach(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        slack.command(P1, "/cba-book", "waitlist")
        slack.command(P2, "/cba-book", f"waitlist <@{COACH}>")
        report = slack.command(ORGANISER, "/cba-admin", "report CBA3")
        assert "2 waiting (any coach 1, Clara Coach 1)" in json.dumps(report.json)
        digest = json.dumps(slack.command(ORGANISER, "/cba-admin", "digest CBA3").json)
        assert "Coaching waitlist" in digest
        assert "waitlist for Clara Coach: 1 waiting" in digest
        assert "waitlist for any coach: 1 waiting" in digest
