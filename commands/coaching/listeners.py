"""The only Bolt-aware coaching file: unpack, call the service, render, queue the DMs in the same transaction."""

from __future__ import annotations

import re

from bot.kernel import outbox
from bot.kernel.registry import Registry
from bot.kernel.request import Reply, Turn
from commands.coaching import notify, service, views, waitlist
from commands.coaching.parse import (
    MAX_COUNT,
    AddSlots,
    BookSlot,
    BrowseSlots,
    CancelBooking,
    JoinWaitlist,
    LeaveWaitlist,
    ListSlots,
    MyBookings,
    RemoveSlot,
    book_usage,
    book_writes,
    parse_book,
    parse_slots,
    slots_usage,
)
from commands.common import paging
from commands.common.errors import UsageError
from commands.common.parsing import (
    button_data,
    button_number,
    button_page,
    parse_date,
    parse_minutes,
    parse_time,
    parse_url,
)


def _action_value(turn: Turn) -> str:
    actions = turn.body.get("actions") or [{}]
    return str(actions[0].get("value") or "")


def _action_int(turn: Turn, kind: str, usage: str) -> int:
    number = button_number(_action_value(turn))
    if number is None:
        raise UsageError(f"That button does not name a {kind}.", usage=usage)
    return number


def _action_page(turn: Turn) -> int:
    page = button_page(_action_value(turn))
    if page is None:
        raise UsageError("That page is no longer available.", usage=book_usage())
    return page


def _refresh_homes(turn: Turn, *slack_ids: str | None) -> None:
    """Their Home tabs list their bookings (participant) and their slots with who booked them (coach)."""
    for slack_id in dict.fromkeys(sid for sid in slack_ids if sid):
        outbox.publish_home(turn.session, slack_id, now=turn.now, organisers=turn.deps.settings.organisers)


# --- /cba-slots --------------------------------------------------------------------------------


def _publish(turn: Turn, request: AddSlots, fold: int | None, *, replace: bool = False) -> Reply:
    shown = turn.deps.settings.zone
    result = service.add_slots(turn.session, turn.actor, request, turn.zone(), turn.now, fold=fold)
    if isinstance(result, service.AskFold):
        text, blocks = views.fold_blocks(result, turn.zone())
        return Reply(text, blocks)
    _refresh_homes(turn, turn.actor.member.slack_id)
    # A new slot is a free slot: the first waiter for whom it fits gets it held for them.
    waitlist.pass_on(turn.session, [slot.id for slot in result.slots], turn.now, turn.deps.settings)
    return Reply(views.published_text(result, shown), replace_original=replace)


def slots_command(turn: Turn) -> Reply:
    request = parse_slots(turn.text)
    if isinstance(request, AddSlots):
        return _publish(turn, request, None)
    if isinstance(request, ListSlots):
        return _slots_page(turn, 0)
    assert isinstance(request, RemoveSlot)
    removed = service.remove_slot(turn.session, turn.actor, request.slot_id, turn.now, turn.deps.settings)
    waitlist.end_for_withdrawn_slot(turn.session, removed.slot.id, turn.now, turn.deps.settings)
    if removed.cancelled is not None:
        _queue_cancelled(turn, removed.cancelled)  # refreshes the coach's and the participant's Home
    else:
        _refresh_homes(turn, removed.slot.coach.slack_id)
    return Reply(views.removed_text(removed))


def _slots_page(turn: Turn, start: int) -> Reply:
    rows = service.coach_slots(turn.session, turn.actor, turn.now)
    text, blocks = views.coach_slots_page(rows, turn.deps.settings.zone, start, usage=slots_usage())
    return Reply(text, blocks)


def slots_next(turn: Turn) -> Reply:
    """The "Next" button under `/cba-slots list`: the next slots replace the page pressed."""
    start = _read_next(turn, slots_usage())
    reply = _slots_page(turn, start)
    reply.replace_original = True
    return reply


def _read_next(turn: Turn, usage: str) -> int:
    """The offset a Next button names; these lists carry no state of their own (the caller is the state)."""
    state, start = paging.read_next(paging.action_value(turn.body), usage=usage)
    if state:
        raise UsageError(paging.STALE, usage=usage)
    return start


def fold_action(turn: Turn) -> Reply:
    """The button carries the request the coach typed; it is checked again as if typed (a value can be forged)."""
    usage = slots_usage()
    stale = UsageError("That button is out of date; please type the command again.", usage=usage)
    try:
        data = button_data(_action_value(turn))
        url = data.get("u")
        request = AddSlots(
            day=parse_date(str(data["d"]), usage),
            at=parse_time(str(data["t"]), usage),
            length=parse_minutes(f"{data['m']}m", usage),
            count=int(data["n"]) if isinstance(data["n"], int) else 0,
            meeting_url=parse_url(str(url), usage) if url else None,
        )
        fold = data["f"]
    except (ValueError, KeyError, TypeError, AttributeError, UsageError):
        raise stale from None
    if fold not in (0, 1) or isinstance(fold, bool) or not 1 <= request.count <= MAX_COUNT:
        raise stale
    return _publish(turn, request, fold, replace=True)


# --- /cba-book ---------------------------------------------------------------------------------


def browse(turn: Turn, page: int, *, replace: bool = False) -> Reply:
    """The open slots (`/cba-book`, its pages, the Home tab's "Book coaching"); none: the waitlist."""
    result = service.open_slots(turn.session, turn.actor, turn.now, turn.deps.settings, page)
    place = None
    if not result.slots and result.page == 0:
        standing = waitlist.standing(turn.session, turn.actor.member.id)
        if standing is not None:
            place = views.WaitlistPlace(standing.position, standing.coach_name)
    text, blocks = views.browse_blocks(result, turn.deps.settings.zone, place)
    return Reply(text, blocks, replace_original=replace)


def _book(turn: Turn, slot_id: int) -> Reply:
    settings = turn.deps.settings
    try:
        booked = service.book(turn.session, turn.actor, slot_id, turn.now, settings)
    except service.SlotTaken as taken:
        text, blocks = views.taken_blocks(taken, settings.zone)
        return Reply(text, blocks)
    notify.queue_booked(turn.session, booked, zone=settings.zone, now=turn.now)
    _refresh_homes(turn, booked.participant_slack, booked.coach_slack)
    waitlist.pass_on(turn.session, booked.released_slots, turn.now, settings)
    return Reply(views.booked_text(booked, settings.zone))


def _queue_cancelled(turn: Turn, cancelled: service.Cancelled) -> None:
    notify.queue_cancelled(turn.session, cancelled, zone=turn.deps.settings.zone, now=turn.now)
    _refresh_homes(turn, cancelled.participant_slack, cancelled.coach_slack)
    if not cancelled.slot_removed:  # the slot is free again: the waitlist comes first
        waitlist.pass_on(turn.session, [cancelled.slot_id], turn.now, turn.deps.settings)


def _cancel(turn: Turn, booking_id: int) -> Reply:
    cancelled = service.cancel_booking(turn.session, turn.actor, booking_id, turn.now, turn.deps.settings)
    _queue_cancelled(turn, cancelled)
    return Reply(views.cancelled_text(cancelled))


def _mine_page(turn: Turn, start: int) -> Reply:
    held, coached = service.my_bookings(turn.session, turn.actor, turn.now)
    text, blocks = views.mine_blocks(held, coached, turn.deps.settings.zone, start, usage=book_usage())
    return Reply(text, blocks)


def mine_next(turn: Turn) -> Reply:
    """The "Next" button under `/cba-book mine`: the next bookings replace the page pressed."""
    start = _read_next(turn, book_usage())
    reply = _mine_page(turn, start)
    reply.replace_original = True
    return reply


def _join(turn: Turn, coach_slack_id: str | None) -> Reply:
    settings = turn.deps.settings
    joined = waitlist.join(turn.session, turn.actor, coach_slack_id, turn.now, settings)
    _refresh_homes(turn, turn.actor.member.slack_id)
    place = views.WaitlistPlace(joined.position, joined.coach_name)
    hold = service.duration_text(settings.waitlist_hold)
    return Reply(
        views.joined_text(place, already=joined.already, changed=joined.changed, open_now=joined.open_now, hold=hold)
    )


def _leave(turn: Turn) -> Reply:
    left = waitlist.leave(turn.session, turn.actor, turn.now)
    _refresh_homes(turn, turn.actor.member.slack_id)
    waitlist.pass_on(turn.session, left.released_slots, turn.now, turn.deps.settings)
    return Reply(views.left_text(len(left.released_slots)))


def join_button(turn: Turn) -> Reply:
    """ "Join the waitlist" under an empty `/cba-book`: for the next free slot of any coach."""
    if _action_value(turn) != "any":
        raise UsageError("That button is out of date; please type the command again.", usage=book_usage())
    return _join(turn, None)


def decline_button(turn: Turn) -> Reply:
    """ "No thanks" under an offer: the slot passes on at once; the answer replaces the offer."""
    offer_id = _action_int(turn, "offer", book_usage())
    declined = waitlist.decline(turn.session, turn.actor, offer_id, turn.now, turn.deps.settings)
    return Reply(views.declined_text(declined.offer.slot_id, declined.position), replace_original=True)


def book_command(turn: Turn) -> Reply:
    request = parse_book(turn.text)
    if isinstance(request, JoinWaitlist):
        return _join(turn, request.coach_slack_id)
    if isinstance(request, LeaveWaitlist):
        return _leave(turn)
    if isinstance(request, BrowseSlots):
        return browse(turn, request.page)
    if isinstance(request, BookSlot):
        return _book(turn, request.slot_id)
    if isinstance(request, MyBookings):
        return _mine_page(turn, 0)
    assert isinstance(request, CancelBooking)
    return _cancel(turn, request.booking_id)


def register(registry: Registry) -> None:
    registry.command("/cba-slots", slots_command)
    # Booking and cancelling begin with the write lock (see CommandOptions.writes); the listing only reads.
    registry.command("/cba-book", book_command, writes=book_writes)
    registry.action(
        re.compile(rf"^{views.BOOK_ACTION}(_\d+)?$"),
        lambda turn: _book(turn, _action_int(turn, "slot", book_usage())),
    )
    registry.action(
        re.compile(rf"^{views.PAGE_ACTION}_(next|prev)$"),
        lambda turn: browse(turn, _action_page(turn), replace=True),
    )
    registry.action(
        re.compile(rf"^{views.CANCEL_ACTION}(_\d+)?$"),
        lambda turn: _cancel(turn, _action_int(turn, "booking", book_usage())),
    )
    registry.action(re.compile(rf"^{views.FOLD_ACTION}_[01]$"), fold_action)
    registry.action(views.SLOTS_NEXT, slots_next)
    registry.action(views.JOIN_WAITLIST_ACTION, join_button)
    registry.action(views.DECLINE_OFFER_ACTION, decline_button)
    registry.action(views.MINE_NEXT, mine_next)
