"""`/cba-admin report [COHORT]` and its page buttons: the only Bolt-aware file of the reports feature."""

from __future__ import annotations

import json
import logging
import re

from slack_sdk.errors import SlackApiError

from bot.kernel.registry import Registry
from bot.kernel.request import Reply, Turn
from commands.common.csv_text import to_csv
from commands.common.errors import UsageError
from commands.reports import parse, service, views

log = logging.getLogger(__name__)


def report_command(turn: Turn, rest: str) -> Reply:
    report = service.engagement_report(turn.session, turn.actor, parse.parse_report(rest), turn.now)
    text, blocks = views.report_message(report)
    client, user = turn.client, turn.user_id

    def send_files() -> None:
        # After the commit and the answer: the CSV and the chart go to the organiser's DM.
        try:
            channel = client.conversations_open(users=user)["channel"]["id"]
            client.files_upload_v2(
                channel=channel,
                initial_comment=views.chart_legend(report),
                file_uploads=[
                    {
                        "content": to_csv([views.CSV_HEADER, *views.csv_rows(report)]),
                        "filename": f"cba-report-{report.cohort_code}.csv",
                        "title": f"Engagement report {report.cohort_code} (CSV)",
                    },
                    {
                        "content": views.chart_png(report),
                        "filename": f"cba-report-{report.cohort_code}.png",
                        "title": f"Engagement in {report.cohort_code}",
                    },
                ],
            )
        except SlackApiError as exc:
            log.warning("report files not delivered: %s", exc.response.get("error"))

    turn.later(send_files)
    return Reply(text, blocks)


def page_button(turn: Turn) -> Reply:
    actions = turn.body.get("actions") or [{}]
    try:
        value = json.loads(str(actions[0].get("value") or ""))
        code, page = str(value["c"]), int(value["p"])
    except (ValueError, TypeError, KeyError, AttributeError):
        raise UsageError("That page is no longer available.", usage=parse.usage()) from None
    report = service.engagement_report(turn.session, turn.actor, code, turn.now)
    text, blocks = views.report_message(report, page, files_coming=False)
    return Reply(text, blocks, replace_original=True)


def register(registry: Registry) -> None:
    registry.admin_subcommand(report_command, "report")
    registry.action(re.compile(f"^{views.PAGE_ACTION}_"), page_button)
