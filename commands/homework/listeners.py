"""The Bolt-facing side of /cba-homework: unpack, call the service, render. No rules here."""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.models.blocks import Block

from bot.kernel import outbox
from bot.kernel.request import Reply, Turn, ViewResult, private_metadata
from commands.common import paging
from commands.common.errors import FieldErrors, NotPermitted, UsageError
from commands.common.parsing import button_number, button_page, parse_url
from commands.homework import parse, service, views

PAGE_ACTIONS = re.compile(rf"^{views.PAGE_ACTION}_(prev|next)$")


def _tell_each(turn: Turn, targets: list[str | None], text: str, blocks: list[Block]) -> None:
    """A notice to each channel or member (a DM), queued in this transaction: sent after the commit."""
    for target in dict.fromkeys(t for t in targets if t):
        outbox.tell(turn.session, target, text, blocks, now=turn.now)


def _refresh_homes(turn: Turn, slack_ids: list[str]) -> None:
    """Their Home tabs list their homework with its status."""
    for slack_id in dict.fromkeys(slack_ids):
        outbox.publish_home(turn.session, slack_id, now=turn.now, organisers=turn.deps.settings.organisers)


def handle_command(turn: Turn) -> Reply | None:
    command = parse.parse_command(turn.text, turn.actor.roles)
    shown = turn.deps.settings.zone  # fallback zone of <!date> tokens
    now = turn.now
    actor = turn.actor
    session = turn.session
    offsets = turn.deps.settings.homework_reminders

    if isinstance(command, parse.ListMine):
        return _list(turn, 0)

    if isinstance(command, parse.NewAssignment):
        announced = service.create_assignment(
            session,
            actor,
            cohort_code=command.cohort,
            due=command.due,
            title=command.title,
            description=command.description,
            zone=turn.zone(),
            now=now,
            offsets=offsets,
            grace=turn.deps.settings.homework_grace,
        )
        text, blocks = views.announcement(announced.assignment, announced.cohort.code, shown)
        _tell_each(turn, [announced.cohort.channel_id, *announced.participant_ids], text, blocks)
        _refresh_homes(turn, announced.participant_ids)
        return Reply(views.created(announced.assignment, announced.cohort.code, len(announced.participant_ids), shown))

    if isinstance(command, parse.ChangeDue):
        announced = service.change_due(
            session, actor, command.assignment_id, command.due, zone=turn.zone(), now=now, offsets=offsets
        )
        text, blocks = views.due_changed(announced.assignment, shown)
        _tell_each(turn, [announced.cohort.channel_id, *announced.participant_ids], text, blocks)
        _refresh_homes(turn, announced.participant_ids)
        return Reply(text + " The cohort is being told; reminders were re-planned.")

    if isinstance(command, parse.SetGrace):
        assignment = service.set_grace(session, actor, command.assignment_id, command.minutes)
        return Reply(views.grace_set(assignment, shown))

    if isinstance(command, parse.Withdraw):
        announced = service.withdraw(session, actor, command.assignment_id, now=now)
        text, blocks = views.withdrawn(announced.assignment)
        _tell_each(turn, [announced.cohort.channel_id, *announced.participant_ids], text, blocks)
        _refresh_homes(turn, announced.participant_ids)
        return Reply(text + " The cohort is being told; its reminders were cancelled.")

    if isinstance(command, parse.Status):
        report = service.status(session, actor, command.assignment_id)
        text, blocks = views.status_blocks(report, shown)
        return Reply(text, blocks)

    if isinstance(command, parse.Submit):
        if command.empty:
            assignment = service.open_for_submission(session, actor, command.assignment_id)
            _open_modal(turn, views.submit_modal(assignment, shown, turn.channel_id))
            return None
        submission = service.submit(
            session, actor, command.assignment_id, text=command.text, link=command.link, now=now
        )
        _refresh_homes(turn, [actor.slack_id])
        return Reply(views.submitted(submission, submission.assignment, shown))

    if isinstance(command, parse.Review):
        done = service.review(session, actor, command.submission_id, command.feedback, now=now)
        text, blocks = views.feedback_dm(
            done.submission, done.assignment, actor.member.display_name, done.feedback.text, shown
        )
        _tell_each(turn, [done.participant.slack_id], text, blocks)
        _refresh_homes(turn, [done.participant.slack_id] if done.participant.slack_id else [])
        return Reply(views.reviewed(done.submission, done.participant.display_name))

    detail = service.submission_detail(session, actor, command.submission_id)
    text, blocks = views.submission_blocks(detail, shown)
    return Reply(text, blocks)


def _list(turn: Turn, page: int) -> Reply:
    actor, shown = turn.actor, turn.deps.settings.zone
    if actor.has("participant"):
        text, blocks = views.my_list(service.my_assignments(turn.session, actor), shown, turn.now, page)
        return Reply(text, blocks)
    if actor.has(*service.STAFF):
        text, blocks = views.overview_blocks(service.overview(turn.session, actor), shown)
        return Reply(text, blocks)
    error = NotPermitted("participant", "coach", "organiser", action="see homework")
    error.usage = parse.usage(actor.roles)
    raise error


def _open_modal(turn: Turn, view: Any) -> None:
    """Right after the commit: the trigger expires 3 s after the click or command."""
    client, trigger = turn.client, turn.trigger_id or ""
    turn.later(lambda: client.views_open(trigger_id=trigger, view=view))


def _action_value(turn: Turn) -> str:
    actions = turn.body.get("actions") or [{}]
    return str(actions[0].get("value") or "")


def handle_submit_button(turn: Turn) -> Reply | None:
    use = parse.usage(turn.actor.roles)
    assignment_id = parse_id_or_usage(_action_value(turn), use)
    assignment = service.open_for_submission(turn.session, turn.actor, assignment_id)
    _open_modal(turn, views.submit_modal(assignment, turn.deps.settings.zone, turn.channel_id))
    return None


def parse_id_or_usage(value: str, use: str) -> int:
    number = button_number(value)
    if number is None:
        raise UsageError("That button is out of date.", usage=use)
    return number


def handle_page(turn: Turn) -> Reply:
    page = button_page(_action_value(turn)) or 0
    reply = _list(turn, page)
    reply.replace_original = True
    return reply


def handle_status_next(turn: Turn) -> Reply:
    """The "Next" button under `/cba-homework status ID`: the next participants replace the page pressed."""
    use = parse.usage(turn.actor.roles)
    assignment_id, start = paging.read_next_id(paging.action_value(turn.body), "a", usage=use)
    report = service.status(turn.session, turn.actor, assignment_id)
    text, blocks = views.status_blocks(report, turn.deps.settings.zone, start, usage=use)
    return Reply(text, blocks, replace_original=True)


def handle_feedback_next(turn: Turn) -> Reply:
    """The "Next" button under `/cba-homework show SUBMISSION-ID`: the next feedback replaces the page pressed."""
    use = parse.usage(turn.actor.roles)
    submission_id, start = paging.read_next_id(paging.action_value(turn.body), "s", usage=use)
    detail = service.submission_detail(turn.session, turn.actor, submission_id)
    text, blocks = views.submission_blocks(detail, turn.deps.settings.zone, start, usage=use)
    return Reply(text, blocks, replace_original=True)


def handle_overview_next(turn: Turn) -> Reply:
    """The "Next" button under the staff's list of open assignments."""
    use = parse.usage(turn.actor.roles)
    state, start = paging.read_next(paging.action_value(turn.body), usage=use)
    if state:
        raise UsageError(paging.STALE, usage=use)
    items = service.overview(turn.session, turn.actor)
    text, blocks = views.overview_blocks(items, turn.deps.settings.zone, start, usage=use)
    return Reply(text, blocks, replace_original=True)


def _input_value(values: dict[str, Any], block_id: str, action_id: str) -> str:
    return str(((values.get(block_id) or {}).get(action_id) or {}).get("value") or "").strip()


def handle_modal(turn: Turn) -> ViewResult:
    values = ((turn.body.get("view") or {}).get("state") or {}).get("values") or {}
    text = _input_value(values, views.TEXT_BLOCK, views.TEXT_ACTION)
    raw_link = _input_value(values, views.LINK_BLOCK, views.LINK_ACTION)
    if not text and not raw_link:
        raise FieldErrors({views.TEXT_BLOCK: "Write your answer or give a link."})
    link = None
    if raw_link:
        try:
            link = parse_url(raw_link, "")
        except UsageError:
            raise FieldErrors({views.LINK_BLOCK: "Give a web link starting with https://."}) from None
        if len(link) > parse.LINK_MAX:
            raise FieldErrors({views.LINK_BLOCK: f"At most {parse.LINK_MAX} characters."})
    assignment_id = private_metadata(turn.body).get("assignment_id")
    if not isinstance(assignment_id, int):
        raise UsageError("That form is out of date; use `/cba-homework` again.")
    submission = service.submit(turn.session, turn.actor, assignment_id, text=text, link=link, now=turn.now)
    _refresh_homes(turn, [turn.actor.slack_id])
    return ViewResult(reply=Reply(views.submitted(submission, submission.assignment, turn.deps.settings.zone)))
