"""Bolt glue for /cba-profile, /cba-directory, /cba-admin role and team_join (thin: parse, call, render)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.kernel import outbox
from bot.kernel.registry import Registry
from bot.kernel.request import Reply, Turn, ViewResult
from commands.common.actors import get_or_create_member, member_by_slack_id, organisers_to_ask, persisted
from commands.common.availability import DEFAULT_CAPACITY
from commands.common.errors import FieldErrors, NotFound, not_registered_text
from commands.common.parsing import button_number
from commands.common.text import truncate
from commands.common.timefmt import zone_name
from commands.members import parse, search, service, views
from commands.members.fields import FIELDS, MAX_NAME, check_field
from storage.models import Member, Reminder

EXPORT_FILENAME = "cba-profile-export.json"


# --- /cba-profile ------------------------------------------------------------------------------


def _open_modal(turn: Turn) -> None:
    member = turn.actor.member
    view = views.profile_modal(
        member,
        accepts_questions=service.accepts_questions(turn.session, member),
        channel_id=turn.channel_id,
        alumni=turn.actor.has("alumni"),
    )
    trigger = turn.trigger_id
    client = turn.client

    def open_it() -> None:
        client.views_open(trigger_id=trigger, view=view)

    turn.later(open_it)


def profile_command(turn: Turn) -> Reply | None:
    command = parse.parse_profile(turn.text)
    if isinstance(command, parse.EditProfile):
        _open_modal(turn)
        return None
    if isinstance(command, parse.SetField):
        changed = service.set_field(turn.session, turn.actor, command.value, turn.now, turn.zone())
        shown = _shown_value(command.field, command.value.value)
        if not changed:
            label = "absence" if command.field == "away" else command.field
            return Reply(f"Your {label} was already {shown}: nothing changed.")
        if command.value.column in HOME_FIELDS:
            _refresh_home(turn, turn.actor.member)
        if command.field == "away":
            return Reply(views.absence_set_text(command.value.value))
        tip = ""
        if command.field == "capacity":
            tip = " (questions routed to you in any 30 days; 0: none)"
        if command.field == "visible":
            tip = (
                " You now appear in the directory."
                if command.value.value
                else " You no longer appear in the directory."
            )
        return Reply(f":white_check_mark: Your {command.field} is now {shown}.{tip}")
    if isinstance(command, parse.ShowCard):
        member = service.card_member(turn.session, turn.actor, command.slack_id)
        return _card_reply(turn, member)
    if isinstance(command, parse.ExportMine):
        return _export(turn)
    text, blocks = views.erase_confirm_blocks()
    return Reply(text, blocks)


# Of the profile, the Home tab shows the name and the absence: other fields change nothing there.
HOME_FIELDS = frozenset({"name", "away", "away_from", "away_until"})


def _refresh_home(turn: Turn, member: Member) -> None:
    """The member's Home tab shows their name, roles and what their roles bring."""
    outbox.publish_home(turn.session, member, now=turn.now, organisers=turn.deps.settings.organisers)


def _shown_value(field: str, value: object) -> str:
    if field == "capacity":
        return f"{DEFAULT_CAPACITY} (the default)" if value is None else str(value)
    if field == "away":
        return views.absence_text(value) if isinstance(value, tuple) else "off"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return f"“{views.escape(', '.join(value))}”" if value else "empty"
    return f"“{views.escape(str(value))}”" if value else "empty"


def _card_reply(turn: Turn, member: Member) -> Reply:
    roles = service.roles_of_member(turn.session, member)
    own_or_organiser = member.id == turn.actor.member.id or turn.actor.has("organiser")
    questions = service.accepts_questions(turn.session, member) if own_or_organiser else None
    away = views.Away.of(member, turn.now, turn.deps.settings.zone, planned=own_or_organiser)
    blocks = views.card_blocks(member, roles, show_hidden=own_or_organiser, questions=questions, away=away)
    return Reply(views.card_text(member, roles, show_hidden=own_or_organiser, away=away), blocks)


def _export(turn: Turn) -> Reply:
    """A summary DM and the JSON file, both through the outbox: sent after the commit, retried, once."""
    member = turn.actor.member
    data = service.personal_data(turn.session, member, turn.now, turn.deps.registry.export_sections)
    outbox.tell(turn.session, member, views.export_summary(data), now=turn.now, subject=("member", member.id))
    outbox.upload(
        turn.session,
        member,
        filename=EXPORT_FILENAME,
        content=json.dumps(data, indent=2, ensure_ascii=False),
        now=turn.now,
        title="Your data in CBA Bot",
        comment="Your data, as JSON.",
    )
    return Reply(
        ":package: I am sending you everything I store about you by direct message (a summary and a JSON file)."
    )


def profile_submitted(turn: Turn) -> ViewResult:
    typed = views.modal_values(turn.body.get("view") or {})
    if not turn.actor.has("alumni"):
        typed.pop("capacity", None)  # (the form shows it to alumni only)
    values, errors = [], {}
    for field in FIELDS:
        if field not in typed:
            continue
        try:
            value = check_field(field, typed[field])
            service.check_absence_ahead(turn.actor.member, value, turn.now, turn.zone())
            values.append(value)
        except ValueError as exc:
            message = str(exc)
            errors[views.ERROR_BLOCK.get(field, field)] = message[:1].upper() + message[1:] + "."
    if errors:
        raise FieldErrors(errors)
    changed = service.apply_fields(turn.session, turn.actor.member, values, turn.now)
    if HOME_FIELDS.intersection(changed):
        _refresh_home(turn, turn.actor.member)
    text = ":white_check_mark: Your profile is saved." if changed else "Your profile is unchanged."
    if changed and turn.actor.member.visible:
        text += " It appears in the directory (`/cba-profile set visible no` hides it)."
    elif changed:
        text += " It is hidden from the directory until you tick “Show my profile in the directory”."
    return ViewResult(reply=Reply(text))


def open_profile_action(turn: Turn) -> Reply | None:
    _open_modal(turn)
    return None


def erase_action(turn: Turn) -> Reply:
    member = service.erase(turn.session, turn.actor, turn.now, turn.deps.registry.erasure_steps, turn.deps.settings)
    return Reply(
        f":wastebasket: Your personal data was erased (member #{member.id} now shows as “{service.ERASED_NAME}”).",
        replace_original=True,
    )


def erase_cancel_action(turn: Turn) -> Reply:
    return Reply("Nothing was erased: your profile is as it was.", replace_original=True)


# --- /cba-directory ----------------------------------------------------------------------------


def _directory_reply(turn: Turn, query: parse.DirectoryQuery, page: int) -> Reply:
    viewer = service.viewer_of(turn.actor)
    if query.is_empty:
        text, blocks = views.counts_blocks(search.counts(turn.session, viewer), organiser=viewer.organiser)
        return Reply(text, blocks)
    result = search.search(turn.session, query, viewer, page=page)
    header, cards = views.directory_blocks(
        query, result, organiser=viewer.organiser, now=turn.now, zone=turn.deps.settings.zone
    )
    return Reply(header, cards)


def directory_command(turn: Turn) -> Reply:
    return _directory_reply(turn, parse.parse_directory(turn.text), 0)


def _action_value(turn: Turn) -> str:
    actions = turn.body.get("actions") or [{}]
    return str(actions[0].get("value") or "")


def page_action(turn: Turn) -> Reply:
    text, page = views.read_page_value(_action_value(turn))
    reply = _directory_reply(turn, parse.parse_directory(text), page)
    reply.replace_original = True
    return reply


def view_profile_action(turn: Turn) -> Reply:
    value = _action_value(turn)
    member_id = button_number(value)
    if member_id is None:
        raise NotFound("member", value or "?")
    member = service.card_member_by_id(turn.session, turn.actor, member_id)
    return _card_reply(turn, member)


# --- /cba-admin role ---------------------------------------------------------------------------


def role_subcommand(turn: Turn, rest: str) -> Reply:
    turn.actor.require("organiser", action="change roles")
    command = parse.parse_role(rest)
    if isinstance(command, parse.RemoveRole):
        member = member_by_slack_id(turn.session, command.slack_id)
        if member is None:
            raise NotFound("member", f"<@{command.slack_id}>", usage=parse.admin_usage())
        service.remove_role(turn.session, turn.actor, member, command.role, turn.deps.settings.organisers)
        _refresh_home(turn, member)
        return Reply(f":white_check_mark: <@{command.slack_id}> no longer holds the {command.role} role.")
    member = _member_for_grant(turn, command.slack_id)
    _grant, changed = service.grant_role(turn.session, turn.actor, member, command.role, command.cohort)
    where = f" in {command.cohort}" if command.cohort else ""
    if not changed:
        return Reply(f"<@{command.slack_id}> already holds the {command.role} role{where}: nothing changed.")
    _refresh_home(turn, member)
    return Reply(f":white_check_mark: <@{command.slack_id}> now holds the {command.role} role{where}.")


def _member_for_grant(turn: Turn, slack_id: str) -> Member:
    """A member the bot knows, or a workspace user it knows from now on. Their name and e-mail are
    learned from Slack on the next tick (slack_sync), never while the request is open."""
    member = member_by_slack_id(turn.session, slack_id)
    if member is not None:
        return member
    member = get_or_create_member(turn.session, slack_id)
    search.index_member(turn.session, member)
    return member


# --- onboarding --------------------------------------------------------------------------------


def team_join(turn: Turn, event: dict[str, Any]) -> None:
    """Store the newcomer from what the event carries (no Slack call) and queue the welcome DM, once."""
    user = event.get("user") or {}
    if not isinstance(user, dict) or user.get("is_bot") or not user.get("id"):
        return
    # Events leave unknown authors unsaved (no rows for channel chatter); a workspace newcomer is stored.
    member = persisted(turn.session, turn.actor)
    if member.erased_at is not None:
        return
    profile = user.get("profile") or {}
    if not member.name:
        name = str(user.get("real_name") or profile.get("real_name") or user.get("name") or "")
        member.name = truncate(" ".join(name.split()), MAX_NAME)
    if not member.email:
        email = str(profile.get("email") or "").strip()
        member.email = email if "@" in email and len(email) <= 320 else None
    tz = zone_name(user.get("tz"))
    if tz:
        member.tz = tz
        member.tz_checked_at = turn.now
    search.index_member(turn.session, member)
    key = f"welcome:member:{member.id}"
    if turn.session.scalar(select(Reminder.id).where(Reminder.dedupe_key == key)) is not None:
        return  # welcomed already (Slack sent the join again under another event ID)
    # Someone the roster did not name yet is told whom to ask (SPEC 3, Membership).
    hint = (
        None
        if turn.actor.roles
        else not_registered_text(organisers_to_ask(turn.session, turn.deps.settings.organisers))
    )
    text, blocks = views.welcome_blocks(member.name, hint)
    outbox.queue(
        turn.session, str(user["id"]), now=turn.now, text=text, blocks=blocks, subject=("member", member.id), key=key
    )


def register(registry: Registry) -> None:
    registry.admin_subcommand(role_subcommand, "role")
    # Setting a field, the modal and the export all work on the caller's own row.
    registry.command(parse.PROFILE, profile_command, whole_member=True, writes=parse.profile_writes)
    registry.command(parse.DIRECTORY, directory_command)
    registry.view(views.PROFILE_MODAL, profile_submitted)
    registry.action(views.OPEN_PROFILE, open_profile_action)
    registry.action(views.ERASE_CONFIRM, erase_action)
    registry.action(views.ERASE_CANCEL, erase_cancel_action)
    registry.action(views.VIEW_PROFILE, view_profile_action)
    registry.action(views.PAGE_NEXT, page_action)
    registry.action(views.PAGE_PREVIOUS, page_action)
    registry.event("team_join", team_join)
