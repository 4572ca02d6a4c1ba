"""`/cba-admin report [COHORT]` and its page buttons: the only Bolt-aware file of the reports feature."""

from __future__ import annotations

import re

from bot.kernel import outbox
from bot.kernel.registry import Registry
from bot.kernel.request import Reply, Turn
from commands.common.csv_text import to_csv
from commands.common.errors import UsageError
from commands.common.parsing import button_data, button_page
from commands.reports import parse, service, views


def report_command(turn: Turn, rest: str) -> Reply:
    report = service.engagement_report(turn.session, turn.actor, parse.parse_report(rest), turn.now)
    text, blocks = views.report_message(report)
    # Drawn before this request writes anything: on SQLite no write lock is held while matplotlib works.
    chart = views.chart_png(report)
    # The CSV and the chart go to the organiser's DM through the outbox: sent after the commit, retried.
    code = report.cohort_code
    outbox.upload(
        turn.session,
        turn.actor.member,
        filename=f"cba-report-{code}.csv",
        content=to_csv([views.CSV_HEADER, *views.csv_rows(report)]),
        title=f"Engagement report {code} (CSV)",
        now=turn.now,
    )
    outbox.upload(
        turn.session,
        turn.actor.member,
        filename=f"cba-report-{code}.png",
        content=chart,
        title=f"Engagement in {code}",
        comment=views.chart_legend(report),
        now=turn.now,
    )
    return Reply(text, blocks)


def page_button(turn: Turn) -> Reply:
    actions = turn.body.get("actions") or [{}]
    try:
        value = button_data(str(actions[0].get("value") or ""))
        code, page = str(value["c"]), button_page(value["p"])
        if page is None:
            raise ValueError("not a page")
    except (ValueError, TypeError, KeyError, AttributeError):
        raise UsageError("That page is no longer available.", usage=parse.usage()) from None
    report = service.engagement_report(turn.session, turn.actor, code, turn.now)
    text, blocks = views.report_message(report, page, files_coming=False)
    return Reply(text, blocks, replace_original=True)


def register(registry: Registry) -> None:
    registry.admin_subcommand(report_command, "report")
    registry.action(re.compile(f"^{views.PAGE_ACTION}_"), page_button)
