"""Block Kit for homework: pure builders (slack_sdk.models), each with its plain-text fallback."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from commands.common import paging
from commands.common.text import escape, truncate
from commands.common.timefmt import slack_date
from commands.homework.service import (
    IN_GRACE,
    LATE,
    MISSING,
    ON_TIME,
    Detail,
    Mine,
    Overview,
    Progress,
    StatusReport,
    grace_ends,
    submission_status,
)
from storage.models import Assignment, Feedback, Submission

SUBMIT_ACTION = "homework_submit"
PAGE_ACTION = "homework_page"
MODAL_CALLBACK = "homework_submit_modal"
TEXT_BLOCK, TEXT_ACTION = "text", "text"
LINK_BLOCK, LINK_ACTION = "link", "link"
PAGE_SIZE = 10
# Long staff lists page with "Next" (commands.common.paging). Even if every line needed a section of its
# own, a page stays within 50 blocks: 2 head blocks, 40 lines + 3 group headings, where we are, "Next".
STATUS_PAGE_SIZE = 40
STATUS_NEXT = "homework_status_next"
OVERVIEW_PAGE_SIZE = 40
OVERVIEW_NEXT = "homework_overview_next"
# A submission's feedback, oldest first: at most 5 head blocks, 20 sections, where we are, "Next".
FEEDBACK_PAGE_SIZE = 20
FEEDBACK_NEXT = "homework_feedback_next"
SECTION_LIMIT = 2900  # under Slack's 3000 characters per section text
STATE_ICONS = {ON_TIME: ":white_check_mark:", IN_GRACE: ":hourglass_flowing_sand:", LATE: ":hourglass:", MISSING: ":x:"}


def grace_text(minutes: int) -> str:
    """A grace window as people say it: 2h, 1h30m, 45m; 0 is "no grace"."""
    if minutes <= 0:
        return "no grace"
    hours, rest = divmod(minutes, 60)
    return "".join(part for part in (f"{hours}h" if hours else "", f"{rest}m" if rest else "") if part) + " grace"


def due_text(assignment: Assignment, zone: ZoneInfo) -> str:
    """`<date>`, plus its grace window when it has one."""
    due = slack_date(assignment.due_at, zone)
    if not assignment.grace_minutes:
        return due
    return f"{due} ({grace_text(assignment.grace_minutes)}, until {slack_date(grace_ends(assignment), zone)})"


def _flag(submission: Submission, assignment: Assignment | None) -> str:
    """` (late)` / ` (late (within grace))` after a version; nothing when on time."""
    state = submission_status(submission, assignment)
    return "" if state == ON_TIME else f" ({state})"


def label(assignment: Assignment) -> str:
    return f"assignment #{assignment.id} — *{escape(truncate(assignment.title, 150))}*"


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT)))


def _chunks(lines: Sequence[str], limit: int = SECTION_LIMIT) -> list[str]:
    """Lines grouped into section-sized texts."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = truncate(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def submit_button(assignment_id: int) -> ButtonElement:
    return ButtonElement(text="Submit", action_id=SUBMIT_ACTION, value=str(assignment_id), style="primary")


def _versions_line(row: Progress, zone: ZoneInfo) -> str:
    latest = row.latest
    if latest is None:
        return "not submitted yet"
    late = _flag(latest, row.assignment)
    feedback = f" · {row.feedback_count} feedback" if row.feedback_count else " · no feedback yet"
    return f"submission #{latest.id}, version {latest.version}{late}, {slack_date(latest.submitted_at, zone)}{feedback}"


# --- participants -------------------------------------------------------------------------------


def my_list(items: Sequence[Mine], zone: ZoneInfo, now: datetime, page: int = 0) -> tuple[str, list[Block]]:
    if not items:
        text = "Your cohort has no open assignments."
        return text, [_section(text)]
    pages = (len(items) + PAGE_SIZE - 1) // PAGE_SIZE
    page = max(0, min(page, pages - 1))
    shown = items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    blocks: list[Block] = [HeaderBlock(text="Your homework")]
    lines = []
    for item in shown:
        assignment, row = item.assignment, item.progress
        passed = ""
        if assignment.due_at < now:
            passed = (
                " (passed: a submission now is marked late (within grace))"
                if now <= grace_ends(assignment)
                else " (passed: a submission now is marked late)"
            )
        status = f"{STATE_ICONS[row.state]} {row.state}" if row.state != MISSING else ":x: not submitted"
        text = f"{label(assignment)}\nDue {due_text(assignment, zone)}{passed}\n{status} — {_versions_line(row, zone)}"
        lines.append(f"assignment #{assignment.id} {escape(assignment.title)}: {row.state}")
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT)), accessory=submit_button(assignment.id)
            )
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Submit with the button or `/cba-homework submit ASSIGNMENT-ID TEXT-OR-LINK`; "
                    "see a submission and its feedback with `/cba-homework show SUBMISSION-ID`."
                )
            ]
        )
    )
    if pages > 1:
        buttons = []
        if page > 0:
            buttons.append(ButtonElement(text="Previous", action_id=f"{PAGE_ACTION}_prev", value=str(page - 1)))
        if page < pages - 1:
            buttons.append(ButtonElement(text="Next", action_id=f"{PAGE_ACTION}_next", value=str(page + 1)))
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Page {page + 1} of {pages}")]))
        blocks.append(ActionsBlock(elements=buttons))
    return "Your homework: " + "; ".join(lines), blocks


def submitted(submission: Submission, assignment: Assignment, zone: ZoneInfo) -> str:
    when = submission_status(submission, assignment)
    return (
        f":inbox_tray: Submitted {label(assignment)} as submission #{submission.id} "
        f"(version {submission.version}, {when}; due {due_text(assignment, zone)})."
    )


def submit_modal(assignment: Assignment, zone: ZoneInfo, channel_id: str | None) -> View:
    return View(
        type="modal",
        callback_id=MODAL_CALLBACK,
        title="Submit homework",
        submit="Submit",
        close="Cancel",
        private_metadata=json.dumps({"assignment_id": assignment.id, "channel_id": channel_id}),
        blocks=[
            _section(f"{label(assignment)}\nDue {slack_date(assignment.due_at, zone)}"),
            InputBlock(
                block_id=TEXT_BLOCK,
                label="Your answer",
                optional=True,
                element=PlainTextInputElement(action_id=TEXT_ACTION, multiline=True, max_length=3000),
            ),
            InputBlock(
                block_id=LINK_BLOCK,
                label="Or a link (a document, or a file shared in Slack)",
                optional=True,
                element=PlainTextInputElement(action_id=LINK_ACTION, placeholder="https://…", max_length=1000),
            ),
        ],
    )


# --- organisers ---------------------------------------------------------------------------------


def announcement(assignment: Assignment, cohort_code: str, zone: ZoneInfo) -> tuple[str, list[Block]]:
    """What the cohort channel and each participant are told about a new assignment."""
    head = f":memo: New homework for {escape(cohort_code)}: {label(assignment)}"
    due = f"Due {slack_date(assignment.due_at, zone)}."
    body = f"{head}\n{due}"
    if assignment.description:
        body += f"\n>{escape(truncate(assignment.description, 2500))}"
    hint = f"Submit with the button or `/cba-homework submit {assignment.id} TEXT-OR-LINK`."
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(text=truncate(body, SECTION_LIMIT)), accessory=submit_button(assignment.id)
        ),
        ContextBlock(elements=[MarkdownTextObject(text=hint)]),
    ]
    return (
        f"New homework for {escape(cohort_code)}: assignment #{assignment.id} {escape(assignment.title)}. {due}",
        blocks,
    )


def created(assignment: Assignment, cohort_code: str, told: int, zone: ZoneInfo) -> str:
    return (
        f":white_check_mark: Created {label(assignment)} for {escape(cohort_code)}, "
        f"due {slack_date(assignment.due_at, zone)}. The cohort channel and {told} participant(s) are being told."
    )


def due_changed(assignment: Assignment, zone: ZoneInfo) -> tuple[str, list[Block]]:
    text = f":calendar: {label(assignment)} is now due {slack_date(assignment.due_at, zone)}."
    return text, [_section(text)]


def grace_set(assignment: Assignment, zone: ZoneInfo) -> str:
    if not assignment.grace_minutes:
        return (
            f":white_check_mark: {label(assignment)} now has no grace window: a submission after "
            f"{slack_date(assignment.due_at, zone)} is late. Reminders are unchanged."
        )
    return (
        f":white_check_mark: {label(assignment)} now has {grace_text(assignment.grace_minutes)}: a submission "
        f"after {slack_date(assignment.due_at, zone)} and by {slack_date(grace_ends(assignment), zone)} is "
        f"late (within grace); later, late. Reminders stay tied to the due time."
    )


def withdrawn(assignment: Assignment) -> tuple[str, list[Block]]:
    text = f":wastebasket: {label(assignment)} was withdrawn; nothing to submit."
    return text, [_section(text)]


def status_blocks(
    report: StatusReport, zone: ZoneInfo, start: int = 0, usage: str | None = None
) -> tuple[str, list[Block]]:
    """Who handed in an assignment, grouped on time / late / missing, a page of participants at a time."""
    assignment = report.assignment
    groups = {state: report.of(state) for state in (ON_TIME, IN_GRACE, LATE, MISSING)}
    # "late (within grace)" only where it can happen: an assignment with no grace keeps its short summary.
    counts = ", ".join(
        f"{len(rows)} {state}"
        for state, rows in groups.items()
        if state != IN_GRACE or rows or assignment.grace_minutes
    )
    withdrawn_note = " (withdrawn)" if assignment.withdrawn_at else ""
    head = (
        f"{label(assignment)}{withdrawn_note} — {escape(report.cohort.code)}, "
        f"due {due_text(assignment, zone)}\n*{counts}*"
    )
    for rows in groups.values():
        rows.sort(key=lambda r: r.member.display_name.lower())
    ordered = [row for rows in groups.values() for row in rows]
    first_of = {id(rows[0]) for rows in groups.values() if rows}  # a page starting mid-group says "continued"

    def render(shown: Sequence[Progress]) -> list[Block]:
        lines: list[str] = []
        state = None
        for row in shown:
            if row.state != state:
                state = row.state
                more = "" if id(row) in first_of else ", continued"
                lines.append(f"{STATE_ICONS[state]} *{state.capitalize()} ({len(groups[state])}{more})*")
            lines.append(_status_line(row, zone))
        return [_section(chunk) for chunk in _chunks(lines)]

    page = paging.page(
        ordered,
        render,
        start=start,
        size=STATUS_PAGE_SIZE,
        action_id=STATUS_NEXT,
        state={"a": assignment.id},
        usage=usage,
        head=[HeaderBlock(text=truncate(f"Homework status: assignment #{assignment.id}", 150)), _section(head)],
        noun="participants",
    )
    text = f"Status of assignment #{assignment.id} {escape(assignment.title)}: {counts}."
    return text, page.blocks


def _status_line(row: Progress, zone: ZoneInfo) -> str:
    name = escape(row.member.display_name)
    if row.first is None:
        return f"• {name}"
    first = row.first
    latest = row.latest or first
    extra = f"; latest: submission #{latest.id}, version {latest.version}" if latest is not first else ""
    return (
        f"• {name} — submission #{first.id} {slack_date(first.submitted_at, zone)}"
        f"{_flag(first, row.assignment)}{extra}"
        f"{'; ' + str(row.feedback_count) + ' feedback' if row.feedback_count else ''}"
    )


def overview_blocks(
    items: Sequence[Overview], zone: ZoneInfo, start: int = 0, usage: str | None = None
) -> tuple[str, list[Block]]:
    """Open assignments of every cohort with their counts, a page at a time."""
    if not items:
        text = "No open assignments. Create one with `/cba-homework new COHORT YYYY-MM-DD TITLE`."
        return text, [_section(text)]

    def line(item: Overview) -> str:
        grace = f"{item.in_grace} late (within grace), " if item.in_grace or item.assignment.grace_minutes else ""
        return (
            f"{label(item.assignment)} — {escape(item.cohort_code)}, due {slack_date(item.assignment.due_at, zone)}: "
            f"{item.on_time} on time, {grace}{item.late} late, {item.missing} missing"
        )

    def render(shown: Sequence[Overview]) -> list[Block]:
        blocks: list[Block] = [_section(chunk) for chunk in _chunks([line(item) for item in shown])]
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text="Details: `/cba-homework status ASSIGNMENT-ID`.")])
        )
        return blocks

    page = paging.page(
        items,
        render,
        start=start,
        size=OVERVIEW_PAGE_SIZE,
        action_id=OVERVIEW_NEXT,
        state={},
        usage=usage,
        head=[HeaderBlock(text="Open assignments")],
        noun="open assignments",
    )
    return f"{len(items)} open assignment(s).", page.blocks


# --- submissions and feedback -------------------------------------------------------------------


def submission_blocks(
    detail: Detail, zone: ZoneInfo, start: int = 0, usage: str | None = None
) -> tuple[str, list[Block]]:
    """A submission and its feedback, oldest first, a page of feedback at a time with "Next"."""
    sub, assignment = detail.submission, detail.assignment
    when = submission_status(sub, assignment)
    head = (
        f"submission #{sub.id} — {label(assignment)}\n"
        f"By {escape(detail.participant.display_name)}, version {sub.version} of {len(detail.versions)}, "
        f"{slack_date(sub.submitted_at, zone)} ({when})"
    )
    blocks: list[Block] = [_section(head)]
    if sub.text:
        blocks.append(_section(escape(sub.text)))
    if sub.link:
        blocks.append(_section(f"Link: {escape(sub.link)}"))
    others = [v for v in detail.versions if v.id != sub.id]
    if others:
        versions = ", ".join(f"version {v.version}: submission #{v.id}{_flag(v, assignment)}" for v in others)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(f"Other versions — {versions}", 2900))]))
    blocks.append(DividerBlock())
    if not detail.feedback:
        blocks.append(_section("_No feedback yet._"))

    def render(shown: Sequence[tuple[Feedback, str]]) -> list[Block]:
        lines = [
            f"*{escape(author)}*, {slack_date(row.created_at, zone)}:\n{escape(row.text)}" for row, author in shown
        ]
        return [_section(chunk) for chunk in _chunks(lines)]

    page = paging.page(
        detail.feedback,
        render,
        start=start,
        size=FEEDBACK_PAGE_SIZE,
        action_id=FEEDBACK_NEXT,
        state={"s": sub.id},
        usage=usage,
        head=blocks,
        noun="feedback",
    )
    text = f"submission #{sub.id} (version {sub.version}, {when}) with {len(detail.feedback)} feedback."
    return text, page.blocks


def feedback_dm(
    submission: Submission, assignment: Assignment, author: str, feedback: str, zone: ZoneInfo
) -> tuple[str, list[Block]]:
    head = (
        f":speech_balloon: Feedback from {escape(author)} on your submission #{submission.id} "
        f"(version {submission.version}) for {label(assignment)}:"
    )
    blocks: list[Block] = [
        _section(head),
        _section(escape(feedback)),
        ContextBlock(elements=[MarkdownTextObject(text=f"All feedback: `/cba-homework show {submission.id}`.")]),
    ]
    return f"Feedback on your submission #{submission.id}: {escape(truncate(feedback, 200))}", blocks


def reviewed(submission: Submission, participant: str) -> str:
    return f":speech_balloon: Feedback on submission #{submission.id} saved; {escape(participant)} is told by DM."


def reminder(assignment: Assignment, zone: ZoneInfo) -> tuple[str, list[Block]]:
    text = (
        f":alarm_clock: Reminder: {label(assignment)} is due {slack_date(assignment.due_at, zone)} "
        "and you have not submitted yet."
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text), accessory=submit_button(assignment.id)),
    ]
    return f"Reminder: assignment #{assignment.id} {escape(assignment.title)} is due soon.", blocks
