"""The request pipeline end to end: signature check, help, errors, transactions, event dedupe."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from bot.app import Bot
from bot.console import slack_payloads as payloads
from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.kernel import request
from bot.kernel.commands import COMMANDS
from bot.kernel.request import Reply, Turn, on_command, on_event
from commands.common.errors import UsageError
from storage.models import AuditEntry, Member, ProcessedEvent
from tests.conftest import ORGANISER


class TestSignatures:
    def _help_body(self) -> str:
        return payloads.form_body(payloads.slash_command("U0ANYONE", "/cba-help"))

    def test_unsigned_request_is_refused(self, bot: Bot, sessions: sessionmaker[Session]) -> None:
        from slack_bolt.request import BoltRequest

        response = bot.app.dispatch(BoltRequest(body=self._help_body(), headers={"content-type": payloads.FORM}))
        assert response.status == 401
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Member)) == 0

    def test_wrong_secret_is_refused(self, bot: Bot, fake_slack: FakeSlack) -> None:
        forged = SlackDriver(bot.app, bot.deps, "not-the-secret", fake=fake_slack)
        assert forged.command("U0ANYONE", "/cba-help").status == 401

    def test_stale_timestamp_is_refused(self, slack: SlackDriver) -> None:
        stale = int(time.time()) - 6 * 60
        assert slack.dispatch(self._help_body(), payloads.FORM, timestamp=stale).status == 401

    def test_signed_request_is_answered(self, slack: SlackDriver) -> None:
        assert slack.command("U0ANYONE", "/cba-help").status == 200


class TestHelp:
    def test_lists_commands_for_the_callers_roles(self, slack: SlackDriver) -> None:
        answer = slack.command(ORGANISER, "/cba-help")
        assert answer.json["response_type"] == "ephemeral"
        assert "/cba-admin role" in answer.text
        assert "Your roles: organiser." in answer.text
        assert answer.json["blocks"]

    def test_a_newcomer_is_told_whom_to_ask_and_what_the_bot_does_and_is_not_stored(
        self, slack: SlackDriver, sessions: sessionmaker[Session]
    ) -> None:
        answer = slack.command("U0NEWBIE", "/cba-help")
        assert answer.json["response_type"] == "ephemeral"
        assert "You are not registered in the Cluster Booster Academy yet" in answer.text
        assert f"<@{ORGANISER}>" in answer.text
        assert "`/cba-book` — Book a coaching session" in answer.text
        assert "/cba-admin" not in answer.text
        assert answer.json["blocks"]
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Member)) == 0

    @pytest.mark.parametrize("command", [c.name for c in COMMANDS])
    def test_every_command_answers_help(self, slack: SlackDriver, command: str) -> None:
        answer = slack.command(ORGANISER, command, "help")
        assert answer.status == 200
        assert answer.json["response_type"] == "ephemeral"
        assert f"Usage of `{command}`" in answer.text


def _register_probe(bot: Bot, calls: list[str]) -> None:
    """A test-only command that writes, then fails in the way the text asks."""

    def probe(turn: Turn) -> Reply:
        turn.session.add(AuditEntry(action="probe", subject=turn.text))
        turn.session.flush()
        turn.later(lambda: calls.append("after-commit"))
        if turn.text == "usage":
            raise UsageError("That is not how it works.", usage="Usage: /cba-help probe")
        if turn.text == "crash":
            raise RuntimeError("boom")
        return Reply(f"stored {turn.text}")

    from bot.kernel import commands as registry

    # A test command name, known to the registry so that `help` and usage work as for real ones.
    registry.BY_NAME.setdefault("/cba-probe", registry.CommandSpec("/cba-probe", "probe", ""))
    on_command(bot.app, bot.deps, "/cba-probe", probe)


class TestTransactions:
    def test_success_commits_then_runs_follow_ups(
        self, bot: Bot, slack: SlackDriver, sessions: sessionmaker[Session]
    ) -> None:
        calls: list[str] = []
        _register_probe(bot, calls)
        answer = slack.command(ORGANISER, "/cba-probe", "ok")
        assert answer.text == "stored ok"
        assert calls == ["after-commit"]
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1

    def test_usage_error_answers_with_usage_and_changes_nothing(
        self, bot: Bot, slack: SlackDriver, sessions: sessionmaker[Session]
    ) -> None:
        calls: list[str] = []
        _register_probe(bot, calls)
        answer = slack.command(ORGANISER, "/cba-probe", "usage")
        assert answer.status == 200
        assert answer.json["response_type"] == "ephemeral"
        assert "That is not how it works." in answer.text
        assert "Usage: /cba-help probe" in answer.text
        assert calls == []
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
            # Not even the caller's member row: the whole request rolled back.
            assert session.scalar(select(func.count()).select_from(Member)) == 0

    def test_crash_answers_an_apology_with_a_reference_never_a_traceback(
        self, bot: Bot, slack: SlackDriver, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
    ) -> None:
        _register_probe(bot, [])
        answer = slack.command(ORGANISER, "/cba-probe", "crash")
        assert answer.status == 200
        assert "Sorry, something went wrong" in answer.text
        assert "Traceback" not in answer.text
        assert "boom" not in answer.text
        assert "RuntimeError: boom" in caplog.text
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def _end_every_connection_but_ours(db_url: str) -> None:
    outside = create_engine(db_url, poolclass=NullPool)  # not the bot's pool: its connections are the target
    with outside.connect() as connection:
        ended = connection.execute(
            sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    outside.dispose()
    assert ended >= 1  # the bot's pooled connections


class TestLostDatabaseConnection:
    """PostgreSQL closed every connection (a restart, a failover): no request is lost to it."""

    def test_the_request_runs_again_on_a_new_connection_and_the_courier_recovers(
        self, db_url: str, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        if not db_url.startswith("postgresql"):
            pytest.skip("SQLite has no server to lose")
        assert "now" in slack.command(ORGANISER, "/cba-profile", "set region Northland").text
        slack.settle()
        _end_every_connection_but_ours(db_url)

        answer = slack.command(ORGANISER, "/cba-profile", "set region Southland")  # ORM statements
        assert "Your region is now “Southland”" in answer.text
        _end_every_connection_but_ours(db_url)
        assert "Your roles: organiser." in slack.command(ORGANISER, "/cba-help").text  # a hot select first
        slack.command(ORGANISER, "/cba-profile", "export")
        slack.settle()
        assert fake_slack.calls_to("files.completeUploadExternal")  # delivered by the courier, after the loss
        with sessions() as session:
            assert session.scalar(select(Member.region).where(Member.slack_id == ORGANISER)) == "Southland"


class TestEvents:
    def test_retried_event_is_handled_once(self, bot: Bot, slack: SlackDriver, sessions: sessionmaker[Session]) -> None:
        seen: list[str] = []

        def on_reaction(turn: Turn, event: dict[str, Any]) -> None:
            seen.append(event["reaction"])

        on_event(bot.app, bot.deps, "reaction_added", on_reaction)
        event = {"type": "reaction_added", "user": "U0ANYONE", "reaction": "tada", "event_ts": "1.2"}
        for retry in (None, 1, 2, 3):
            assert slack.event(event, event_id="Ev0DUPLICATE", retry_num=retry).status == 200
        assert seen == ["tada"]
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1

    def test_failed_event_leaves_no_mark_so_the_retry_can_succeed(
        self, bot: Bot, slack: SlackDriver, sessions: sessionmaker[Session]
    ) -> None:
        attempts: list[int] = []

        def flaky(turn: Turn, event: dict[str, Any]) -> None:
            attempts.append(1)
            if len(attempts) == 1:
                raise RuntimeError("database hiccup")

        on_event(bot.app, bot.deps, "reaction_added", flaky)
        event = {"type": "reaction_added", "user": "U0ANYONE", "reaction": "tada", "event_ts": "1.2"}
        slack.event(event, event_id="Ev0FLAKY")
        slack.event(event, event_id="Ev0FLAKY", retry_num=1)
        slack.event(event, event_id="Ev0FLAKY", retry_num=2)
        assert len(attempts) == 2


class TestAcknowledgement:
    def test_a_fresh_bot_answers_its_first_commands_without_calling_slack(
        self, slack: SlackDriver, fake_slack: FakeSlack
    ) -> None:
        """No auth.test on the first request, no users.info for the caller's zone: the answer is the ack."""
        fake_slack.reset_calls()
        for command, text in (("/cba-help", ""), ("/cba-book", "help"), ("/cba-directory", "")):
            answer = slack.command(ORGANISER, command, text)
            assert answer.status == 200
            assert answer.text
        assert fake_slack.calls == []

    def test_an_answer_too_late_for_the_acknowledgement_goes_to_the_response_url(
        self, slack: SlackDriver, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # As if the work had taken longer than Slack waits for an acknowledgement.
        monkeypatch.setattr(request, "ACK_BUDGET_SECONDS", -1.0)
        answer = slack.command(ORGANISER, "/cba-help")
        assert answer.status == 200
        assert answer.body == ""  # an empty acknowledgement…
        [late] = fake_slack.calls_to("response_url")  # …and the answer where the user still sees it
        assert "/cba-help" in str(late.args.get("text", ""))
        assert late.args.get("response_type") == "ephemeral"
