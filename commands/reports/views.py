"""The engagement report as Block Kit (a page of the table), CSV rows and a chart with its legend."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from commands.common.text import escape, truncate
from commands.reports.chart import Segment, bar_chart
from commands.reports.service import Engagement, Report

PAGE_ACTION = "report_page"
PAGE_SIZE = 25
NAME_WIDTH = 22
LEGEND_NAMES_SHOWN = 60

CSV_HEADER = (
    "cohort",
    "slack_id",
    "name",
    "rsvp_yes",
    "rsvp_no",
    "rsvp_none",
    "rsvp_late_cancellations",
    "check_ins",
    "homework_on_time",
    "homework_late",
    "homework_missing",
    "homework_not_due",
    "coaching_booked",
    "coaching_late_cancelled",
    "questions",
    "questions_anonymous",
    # Added with the grace window (at the end, so existing columns keep their place): of homework_late, how many
    # came in within the assignment's grace window.
    "homework_late_within_grace",
)

# Chart segments: what each colour counts, its colour and the Slack emoji that names it in the legend.
SEGMENTS: tuple[tuple[str, str, str], ...] = (
    ("check-ins", "#3178c6", ":large_blue_square:"),
    ("homework handed in", "#2ea043", ":large_green_square:"),
    ("coaching sessions booked", "#f08c14", ":large_orange_square:"),
    ("questions asked", "#8957e5", ":large_purple_square:"),
)


def csv_rows(report: Report) -> Iterator[tuple[object, ...]]:
    for row in report.rows:
        yield (report.cohort_code, row.slack_id, row.name, *(getattr(row, name) for name in CSV_HEADER[3:]))


# --- the message ------------------------------------------------------------------------------------


def _summary(report: Report) -> str:
    t = report.total
    people = len(report.rows)
    return (
        f"*{people} participant{'s' if people != 1 else ''}* · {report.events} programme "
        f"day{'s' if report.events != 1 else ''} · {report.assignments} assignment"
        f"{'s' if report.assignments != 1 else ''} ({report.assignments_due} due so far)\n"
        f"• *RSVPs:* {t('rsvp_yes')} yes, {t('rsvp_no')} no ({t('rsvp_late_cancellations')} late cancellations), "
        f"{t('rsvp_none')} unanswered · *check-ins:* {t('check_ins')}\n"
        f"• *Homework:* {t('homework_on_time')} on time, {t('homework_late')} late "
        f"({t('homework_late_within_grace')} within grace), "
        f"{t('homework_missing')} missing, {t('homework_not_due')} not due yet\n"
        f"• *Coaching:* {t('coaching_booked')} sessions booked, {t('coaching_late_cancelled')} cancelled late · "
        f"*waitlist:* {waitlist_text(report.waitlist)}\n"
        f"• *Questions:* {t('questions')} asked ({t('questions_anonymous')} anonymously)"
    )


def waitlist_text(by_coach: list[tuple[str, int]]) -> str:
    """`3 waiting (any coach 2, Clara Coach 1)`, or `nobody waiting`."""
    total = sum(count for _name, count in by_coach)
    if not total:
        return "nobody waiting"
    parts = ", ".join(f"{escape(name)} {count}" for name, count in by_coach)
    return f"{total} waiting ({parts})"


TABLE_HEAD = f"{'Name':<{NAME_WIDTH}} RSVP y/n/- late  in  HW ok/late/miss  coach bk/late  Q (anon)"


def table_line(row: Engagement) -> str:
    name = escape(truncate(row.name.replace("`", "'"), NAME_WIDTH))
    pad = " " * max(0, NAME_WIDTH - len(truncate(row.name, NAME_WIDTH)))
    rsvp = f"{row.rsvp_yes}/{row.rsvp_no}/{row.rsvp_none}"
    homework = f"{row.homework_on_time}/{row.homework_late}/{row.homework_missing}"
    coaching = f"{row.coaching_booked}/{row.coaching_late_cancelled}"
    questions = f"{row.questions} ({row.questions_anonymous})"
    return (
        f"{name}{pad} {rsvp:>10} {row.rsvp_late_cancellations:>4} {row.check_ins:>3} {homework:>15}"
        f" {coaching:>14}  {questions}"
    )


def pages(report: Report) -> int:
    return max(1, -(-len(report.rows) // PAGE_SIZE))


def report_message(report: Report, page: int = 0, *, files_coming: bool = True) -> tuple[str, list[Block]]:
    """Summary totals and one page of the per-participant table (≤ 5 blocks, whatever the cohort size)."""
    last = pages(report) - 1
    page = min(max(0, page), last)
    title = f"Engagement report: {report.cohort_code}"
    text = f"{title} ({len(report.rows)} participants)"
    blocks: list[Block] = [
        HeaderBlock(text=truncate(title, 150)),
        SectionBlock(text=MarkdownTextObject(text=_summary(report))),
    ]
    shown = report.rows[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    if shown:
        table = "\n".join([TABLE_HEAD, *(table_line(row) for row in shown)])
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"```{table}```")))
    else:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="No participants in this cohort yet.")))
    notes = []
    if last > 0:
        notes.append(f"Page {page + 1} of {last + 1}")
    notes.append("RSVP y/n/- = yes / no / unanswered · late = late cancellations · in = check-ins")
    if files_coming:
        notes.append("the CSV and a chart follow by direct message")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(notes))]))
    if last > 0:
        buttons = []
        if page > 0:
            buttons.append(_page_button("Previous", report.cohort_code, page - 1))
        if page < last:
            buttons.append(_page_button("Next", report.cohort_code, page + 1))
        blocks.append(ActionsBlock(block_id="report-pages", elements=buttons))
    return text, blocks


def _page_button(label: str, code: str, page: int) -> ButtonElement:
    return ButtonElement(
        text=label, action_id=f"{PAGE_ACTION}_{label.lower()}", value=json.dumps({"c": code, "p": page})
    )


# --- the chart ---------------------------------------------------------------------------------------


def chart_values(row: Engagement) -> Sequence[int]:
    return (row.check_ins, row.homework_submitted, row.coaching_booked, row.questions)


def chart_png(report: Report) -> bytes:
    """The chart (drawn with matplotlib, loaded on first use): names on the left, one bar each."""
    return bar_chart(
        [row.name for row in report.rows],
        [chart_values(row) for row in report.rows],
        [Segment(label, colour) for label, colour, _e in SEGMENTS],
        title=f"Engagement in {report.cohort_code}",
    )


def chart_legend(report: Report) -> str:
    """What the bars mean: the colours, then the participants top to bottom."""
    colours = "  ".join(f"{emoji} {name}" for name, _c, emoji in SEGMENTS)
    names = [f"{index}. {escape(row.name)}" for index, row in enumerate(report.rows[:LEGEND_NAMES_SHOWN], start=1)]
    if len(report.rows) > LEGEND_NAMES_SHOWN:
        names.append(f"… and {len(report.rows) - LEGEND_NAMES_SHOWN} more (see the CSV)")
    return f"Engagement in {report.cohort_code}, one bar per participant: {colours}\nTop to bottom: " + ", ".join(names)
