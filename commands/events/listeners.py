"""Slack adapters for programme days: /cba-admin subcommands, RSVP buttons, the decline form, check-in."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.kernel import outbox
from bot.kernel.registry import Registry
from bot.kernel.request import Reply, Turn, ViewResult, private_metadata
from commands.common import paging
from commands.common.cohorts import cohort_participants
from commands.common.errors import FieldErrors, UsageError
from commands.common.parsing import first_word, parse_id
from commands.common.text import escape
from commands.events import notify, parse, service, views
from storage.models import Event, Member

log = logging.getLogger(__name__)


# --- the App Home ---------------------------------------------------------------------------------------


def _refresh_home(turn: Turn, member: Member | str) -> None:
    """A participant's Home tab lists their cohort's next programme days with their answer."""
    outbox.publish_home(turn.session, member, now=turn.now, organisers=turn.deps.settings.organisers)


def _refresh_cohort_homes(turn: Turn, event: Event) -> None:
    """A day added, moved or removed: one refresh per participant of its cohort (a cohort is a few dozen)."""
    for member in cohort_participants(turn.session, event.cohort_id):
        _refresh_home(turn, member)


# --- /cba-admin subcommands ------------------------------------------------------------------------


def cohort_command(turn: Turn, rest: str) -> Reply:
    word, rest = first_word(rest)
    if word == "add":
        cohort, created = service.add_cohort(turn.session, turn.actor, parse.parse_cohort_add(rest))
        verb = "added" if created else "renamed"
        return Reply(f":white_check_mark: Cohort {cohort.code} {verb}: {escape(cohort.name)}.")
    if word == "channel":
        cohort = service.set_cohort_channel(
            turn.session,
            turn.actor,
            parse.parse_cohort_channel(rest),
            offsets=turn.deps.settings.event_reminders,
            now=turn.now,
        )
        return Reply(
            f":white_check_mark: Cohort {cohort.code} now uses <#{cohort.channel_id}>: programme-day reminders "
            "and check-ins go there."
        )
    raise UsageError("Use `cohort add` or `cohort channel`.", usage=parse.COHORT_USAGE)


def _where(told: notify.Told, posted: str = "Posted in") -> str:
    if told.channel is None:
        return (
            f"\nCohort {told.cohort} has no channel yet, so nothing was posted: set one with "
            f"`/cba-admin cohort channel {told.cohort} #channel`."
        )
    return f"\n{posted} <#{told.channel}>."


def _dms(count: int) -> str:
    if not count:
        return ""
    return f" {count} attendee{'s' if count != 1 else ''} told by DM."


def event_command(turn: Turn, rest: str) -> Reply:
    word, rest = first_word(rest)
    settings = turn.deps.settings
    if word == "add":
        args = parse.parse_event_add(rest)
        event = service.add_event(
            turn.session, turn.actor, args, zone=turn.zone(), now=turn.now, offsets=settings.event_reminders
        )
        told = notify.announce(turn.session, event, zone=settings.zone, now=turn.now)
        _refresh_cohort_homes(turn, event)
        where = _where(told, "Announced with RSVP buttons in")
        return Reply(f":white_check_mark: Added {views.event_line(event, settings.zone)}{where}")
    if word == "move":
        moved = service.move_event(
            turn.session,
            turn.actor,
            parse.parse_event_move(rest),
            zone=turn.zone(),
            now=turn.now,
            offsets=settings.event_reminders,
        )
        told = notify.moved(turn.session, moved, zone=settings.zone, now=turn.now)
        _refresh_cohort_homes(turn, moved.event)
        return Reply(
            f":white_check_mark: Moved {views.event_line(moved.event, settings.zone)}\nIts reminders moved too."
            f"{_where(told)}{_dms(told.attendees)}"
        )
    if word == "remove":
        event, cancelled = service.remove_event(
            turn.session, turn.actor, parse.parse_event_id(rest, parse.EVENT_REMOVE_USAGE), now=turn.now
        )
        told = notify.removed(turn.session, event, zone=settings.zone, now=turn.now)
        if event.starts_at > turn.now:  # a day already past is no longer on anyone's Home
            _refresh_cohort_homes(turn, event)
        return Reply(
            f":wastebasket: Removed event #{event.id} *{escape(event.title)}*; "
            f"{cancelled} pending reminder{'s' if cancelled != 1 else ''} cancelled."
            f"{_where(told)}{_dms(told.attendees)}"
        )
    raise UsageError("Use `event add`, `event move` or `event remove`.", usage=parse.EVENT_USAGE)


def events_command(turn: Turn, rest: str) -> Reply:
    return _events_page(turn, parse.parse_events(rest), 0)


def events_next(turn: Turn) -> Reply:
    """The "Next" button of the list: the next page replaces the one pressed."""
    state, start = paging.read_next(paging.action_value(turn.body), usage=parse.EVENTS_USAGE)
    reply = _events_page(turn, parse.events_state(state), start)
    reply.replace_original = True
    return reply


def _events_page(turn: Turn, code: str | None, start: int) -> Reply:
    summaries = service.list_events(turn.session, turn.actor, code)
    zone = turn.deps.settings.zone
    if not summaries:
        scope = f" for {code}" if code else ""
        return Reply(f"No programme days{scope} yet. Add one with `/cba-admin event add`.")
    lines = []
    for s in summaries:
        line = (
            f"{s.cohort.code} · {views.event_line(s.event, zone)}\n"
            f":white_check_mark: {s.yes} attending · :x: {s.no} not attending · :round_pushpin: {s.checked_in} checked in"
        )
        if s.late:
            line += f"\n:warning: Late cancellations ({len(s.late)}): " + ", ".join(escape(n) for n in s.late)
        lines.append(line)
    heading = f"*Programme days{' of ' + code if code else ''}* ({len(summaries)})"
    text, blocks = views.events_list(lines, heading, code=code, start=start, usage=parse.EVENTS_USAGE)
    return Reply(text, blocks=blocks)


def checkin_command(turn: Turn, rest: str) -> Reply:
    event, channel = service.start_checkin(
        turn.session, turn.actor, parse.parse_event_id(rest, parse.CHECKIN_USAGE), now=turn.now
    )
    notify.checkin_button(turn.session, event, channel, zone=turn.deps.settings.zone, now=turn.now)
    return Reply(f":round_pushpin: Posting a check-in button for event #{event.id} in <#{channel}>.")


# --- buttons and the decline form ---------------------------------------------------------------------


def _event_id(turn: Turn) -> int:
    actions = turn.body.get("actions") or [{}]
    return parse_id(str(actions[0].get("value") or ""), "event", "")


def rsvp_yes(turn: Turn) -> Reply:
    outcome = service.answer(turn.session, turn.actor, _event_id(turn), "yes", now=turn.now)
    if outcome.changed:
        _refresh_home(turn, turn.actor.member)
    zone = turn.zone()
    prefix = "You're attending" if outcome.changed else "You had already said you're attending"
    return Reply(f":white_check_mark: {prefix} {views.event_line(outcome.event, zone)}")


def rsvp_no(turn: Turn) -> Reply | None:
    event = service.check_answerable(turn.session, turn.actor, _event_id(turn), turn.now)
    late = service.is_late_decline(event, turn.now)
    view = views.decline_modal(event, turn.zone(), channel_id=turn.channel_id, late=late)
    client, trigger_id = turn.client, turn.trigger_id

    def open_form() -> None:
        try:
            client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            log.warning("could not open the decline form: %s", exc.response.get("error"))

    turn.later(open_form)
    return None


def decline_submitted(turn: Turn) -> ViewResult:
    meta = private_metadata(turn.body)
    values = ((turn.body.get("view") or {}).get("state") or {}).get("values") or {}
    reason = str(((values.get(views.REASON_BLOCK) or {}).get(views.REASON_ACTION) or {}).get("value") or "").strip()
    if not reason:
        raise FieldErrors({views.REASON_BLOCK: "Please tell the organisers why."})
    event_id = int(meta.get("event_id") or 0)
    outcome = service.answer(turn.session, turn.actor, event_id, "no", now=turn.now, reason=reason[:500])
    if outcome.changed:
        _refresh_home(turn, turn.actor.member)
    text = f":x: Noted: you can't attend {views.event_line(outcome.event, turn.zone())}"
    if not outcome.changed:
        text = f":x: Already noted: you can't attend event #{outcome.event.id}."
    if outcome.rsvp.late_cancellation:
        text += "\n:warning: Recorded as a late cancellation (less than 14 days before an in-person day)."
    # The form closes; the answer follows where the button was pressed, through the outbox.
    notify.follow_up(turn.session, turn.user_id, meta.get("channel_id"), text, now=turn.now)
    return ViewResult()


def check_in(turn: Turn) -> Reply:
    outcome = service.check_in(turn.session, turn.actor, _event_id(turn), now=turn.now)
    if outcome.new:
        return Reply(f":round_pushpin: You're checked in to event #{outcome.event.id} *{escape(outcome.event.title)}*.")
    return Reply(f":round_pushpin: You were already checked in to event #{outcome.event.id}.")


def register(registry: Registry) -> None:
    registry.admin_subcommand(cohort_command, "cohort")
    registry.admin_subcommand(event_command, "event")
    registry.admin_subcommand(events_command, "events")
    registry.admin_subcommand(checkin_command, "checkin")
    registry.action(views.RSVP_YES, rsvp_yes)
    registry.action(views.RSVP_NO, rsvp_no)
    registry.action(views.CHECKIN, check_in)
    registry.action(views.LIST_NEXT, events_next)
    registry.view(views.DECLINE_CALLBACK, decline_submitted)
