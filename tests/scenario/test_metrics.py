"""GET /metrics (SPEC 4.10): scraped over HTTP from the bot's WSGI app after a scenario, and parsed."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot
from bot.console import slack_payloads as payloads
from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.kernel import outbox
from bot.kernel.metrics import Metrics
from bot.scheduler import tick
from bot.server import SlackWsgiApp
from storage.models import Member
from tests.conftest import ORGANISER, SIGNING_SECRET, Clock
from tests.factories import make_member
from tests.http_server import RunningServer
from tests.process_helpers import bot_env, free_port, running_bot

SECRET = "metrics-test-secret"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def metrics_url(bot: Bot) -> Iterator[str]:
    """The bot's WSGI app on a real waitress server (an ephemeral port), as `cba-bot run` serves it."""
    served = RunningServer(
        SlackWsgiApp(bot.app, bot.deps.sessions, signing_secret=SIGNING_SECRET, metrics=bot.deps.metrics), threads=2
    )
    yield f"http://127.0.0.1:{served.port}/metrics"
    served.stop()


def scrape(url: str) -> tuple[str, Samples]:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        content_type = response.headers["Content-Type"]
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return content_type, samples


def value(samples: Samples, metric: str, /, **labels: str) -> float:
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every sample of `name` whose labels include `labels`."""
    return sum(
        number for (sample, found), number in samples.items() if sample == name and set(labels.items()) <= set(found)
    )


def tell(sessions: sessionmaker[Session], clock: Clock, to: str, text: str) -> None:
    with sessions.begin() as session:
        outbox.tell(session, to, text, now=clock.now)


class TestMetrics:
    def test_a_scenario_shows_in_the_request_delivery_error_and_backlog_numbers(
        self,
        bot: Bot,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
        metrics_url: str,
    ) -> None:
        for user, name in (("U0FINE", "Fiona Fine"), ("U0GONE", "Gus Gone"), ("U0LATER", "Lea Later")):
            fake_slack.add_user(user, name)
        with sessions.begin() as session:
            make_member(session, "U0FINE", "Fiona Fine", "participant")
        assert "/cba-help" in slack.command(ORGANISER, "/cba-help").text
        assert "/cba-help" in slack.command(ORGANISER, "/cba-help", "help").text
        assert "participant" in slack.command(ORGANISER, "/cba-book", "999").text  # refused: not a participant
        slack.event({"type": "app_home_opened", "user": "U0FINE", "tab": "home"}, event_id="Ev1")
        slack.event({"type": "app_home_opened", "user": "U0FINE", "tab": "home"}, event_id="Ev1", retry_num=1)
        fake_slack.fail("views.open", "expired_trigger_id", times=1)
        slack.command("U0FINE", "/cba-profile")  # the modal could not open (right after the commit)

        fake_slack.fail("chat.postMessage", "account_inactive", when=lambda args: args.get("channel") == "U0GONE")
        tell(sessions, clock, "U0FINE", "A DM that arrives")
        tell(sessions, clock, "U0GONE", "A DM to a deactivated account")
        tick(bot.deps)
        assert [m.text for m in fake_slack.dms_to("U0FINE") if m.text == "A DM that arrives"]
        tell(sessions, clock, "U0LATER", "Waiting in the outbox")
        clock.advance(timedelta(seconds=90))

        content_type, samples = scrape(metrics_url)

        assert content_type.startswith("text/plain")
        assert value(samples, "cba_requests_total", kind="command", name="/cba-help", outcome="answered") == 2
        assert value(samples, "cba_requests_total", kind="command", name="/cba-book", outcome="refused") == 1
        assert value(samples, "cba_requests_total", kind="command", name="/cba-profile", outcome="answered") == 1
        assert value(samples, "cba_requests_total", kind="event", name="app_home_opened", outcome="answered") == 1
        assert value(samples, "cba_requests_total", kind="event", name="app_home_opened", outcome="duplicate") == 1
        assert value(samples, "cba_ack_latency_seconds_count", kind="command") == 4
        assert value(samples, "cba_ack_latency_seconds_bucket", kind="command", le="+Inf") == 4
        assert value(samples, "cba_ack_latency_seconds_count", kind="event") == 2
        assert value(samples, "cba_deliveries_total", outcome="sent") >= 1
        assert value(samples, "cba_deliveries_total", outcome="failed") == 1
        assert value(samples, "cba_slack_errors_total", method="chat.postMessage", code="account_inactive") == 1
        assert value(samples, "cba_slack_errors_total", method="views.open", code="expired_trigger_id") == 1
        assert value(samples, "cba_outbox_backlog") == 1
        assert value(samples, "cba_outbox_oldest_due_age_seconds") == pytest.approx(90)

    def test_requests_refused_before_bolt_are_counted_by_status_and_reason(self, metrics_url: str) -> None:
        slack_url = metrics_url.replace("/metrics", "/slack/events")
        stamp = str(int(time.time()))

        def post(body: bytes, headers: dict[str, str]) -> int:
            request = urllib.request.Request(slack_url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return int(response.status)
            except urllib.error.HTTPError as error:
                return error.code

        form = {"Content-Type": payloads.FORM}
        assert post(b"command=/cba-help", {**form, "X-Slack-Request-Timestamp": stamp}) == 401  # unsigned
        assert post(b"command=/cba-help", {**form, "X-Slack-Request-Timestamp": stamp}) == 401
        malformed = b"payload=x"
        assert (
            post(malformed, payloads.signed_headers(SIGNING_SECRET, malformed.decode(), content_type=payloads.FORM))
            == 400
        )

        _content_type, samples = scrape(metrics_url)

        assert value(samples, "cba_http_refusals_total", status="401", reason="unsigned") == 2
        assert value(samples, "cba_http_refusals_total", status="400", reason="malformed") == 1
        assert total(samples, "cba_requests_total") == 0  # Bolt saw none of them

    def test_a_retried_delivery_and_an_error_by_http_status_are_counted(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock, metrics_url: str
    ) -> None:
        fake_slack.add_user("U0FLAKY", "Fred Flaky")
        fake_slack.fail("chat.postMessage", "internal_error", status=500, times=1)
        tell(sessions, clock, "U0FLAKY", "Second time lucky")
        tick(bot.deps)
        _type, samples = scrape(metrics_url)
        assert value(samples, "cba_deliveries_total", outcome="retried") == 1
        assert value(samples, "cba_deliveries_total", outcome="sent") == 0
        assert total(samples, "cba_slack_errors_total", method="chat.postMessage") == 1
        assert value(samples, "cba_outbox_backlog") == 1  # due, waiting out its back-off
        assert value(samples, "cba_outbox_scheduled") == 0

        clock.advance(timedelta(minutes=5))
        tick(bot.deps)
        _type, samples = scrape(metrics_url)
        assert value(samples, "cba_deliveries_total", outcome="sent") == 1
        assert value(samples, "cba_outbox_backlog") == 0
        assert value(samples, "cba_outbox_oldest_due_age_seconds") == 0

    def test_a_scrape_reads_the_backlog_while_a_writer_holds_the_database(
        self, bot: Bot, sessions: sessionmaker[Session], clock: Clock, metrics_url: str
    ) -> None:
        tell(sessions, clock, "U0SOMEONE", "Queued")
        with sessions.begin() as session:
            make_member(session, "U0WRITER", "Will Writer", "participant")
        with sessions.begin() as session:
            # An open write transaction (on SQLite: the write lock and the process's writer gate).
            session.execute(update(Member).where(Member.slack_id == "U0WRITER").values(name="Still Writing"))
            started = time.monotonic()
            _type, samples = scrape(metrics_url)
            assert time.monotonic() - started < 5
        assert value(samples, "cba_outbox_backlog") == 1


@pytest.mark.slow
def test_cba_bot_run_serves_metrics_next_to_slack_events(tmp_path: Path, db_url: str) -> None:
    fake = FakeSlack().start()
    try:
        env = bot_env(
            SLACK_BOT_TOKEN="xoxb-metrics-test",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake.url,
            DATABASE_URL=db_url,
        )
        with running_bot(env, tmp_path, port=free_port()) as base:
            fields = payloads.slash_command("U0VISITOR", "/cba-help", response_url=fake.new_response_url())
            body = payloads.form_body(fields)
            headers = payloads.signed_headers(SECRET, body, content_type=payloads.FORM)
            request = urllib.request.Request(base + "/slack/events", data=body.encode(), headers=headers)
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
            _type, samples = scrape(base + "/metrics")
    finally:
        fake.stop()
    assert value(samples, "cba_requests_total", kind="command", name="/cba-help", outcome="answered") == 1
    assert value(samples, "cba_outbox_backlog") == 0


def test_each_bot_counts_in_a_registry_of_its_own() -> None:
    first, second = Metrics(), Metrics()
    first.request("command", "/cba-help", "answered", time.monotonic())
    first.slack_error("chat.postMessage", "is_archived")
    assert b'cba_requests_total{kind="command",name="/cba-help",outcome="answered"} 1.0' in first.exposition()
    assert b"cba_requests_total{" not in second.exposition()
    assert b"cba_slack_errors_total{" not in second.exposition()
