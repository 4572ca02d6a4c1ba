"""The delivery engine under real conditions: Slack's transient errors, leases that run out mid-run,
rows that wait for other rows, order per recipient, channels the bot must join, organisers' view of what
failed, and two real `cba-bot run` processes sharing one PostgreSQL outbox through a slow Slack."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot, build, database_connections
from bot.console.driver import SlackDriver
from bot.console.fakeslack import Call, FakeSlack
from bot.features import build_registry
from bot.kernel import outbox
from bot.kernel.delivery import Pacer, backoff, claim, deliver_due
from bot.kernel.settings import Settings
from bot.scheduler import tick
from storage.db import make_engine, make_sessionmaker
from storage.models import Reminder
from tests.conftest import ORGANISER, Clock, with_settings
from tests.process_helpers import bot_env, free_port, running_bot

LEASE = timedelta(minutes=5)


def _users(fake: FakeSlack, count: int, prefix: str = "U0E") -> list[str]:
    ids = [f"{prefix}{index:05d}" for index in range(count)]
    for user_id in ids:
        fake.add_user(user_id, user_id)
    return ids


def _row(sessions: sessionmaker[Session], row_id: int) -> Reminder:
    with sessions() as session:
        row = session.get(Reminder, row_id)
        assert row is not None
        return row


def _tell(sessions: sessionmaker[Session], clock: Clock, *messages: tuple[str, str]) -> list[int]:
    """Queue (recipient, text) messages in one transaction, as a request would; their row ids."""
    with sessions.begin() as session:
        rows = [outbox.tell(session, to, words, now=clock.now) for to, words in messages]
        return [row.id for row in rows if row is not None]


def _texts(fake: FakeSlack, channel: str) -> list[str]:
    return [message.text for message in fake.messages_in(channel)]


class TestSlackErrors:
    def test_transient_errors_are_retried_then_sent_and_permanent_ones_fail_alone(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        flaky, slow, fine = _users(fake_slack, 3)
        fake_slack.add_user("U0GONE", "Gone", deleted=True)
        ids = _tell(sessions, clock, (flaky, "to flaky"), (slow, "to slow"), ("U0GONE", "to gone"), (fine, "to fine"))
        # Slack's own trouble, answered ok:false with HTTP 200, then a 502.
        fake_slack.fail("chat.postMessage", "internal_error", times=1, when=lambda a: a["channel"] == flaky)
        fake_slack.fail("chat.postMessage", "fatal_error", times=1, when=lambda a: a["channel"] == flaky)
        fake_slack.fail("chat.postMessage", "request_timeout", times=1, when=lambda a: a["channel"] == slow)
        fake_slack.fail(
            "chat.postMessage", "service_unavailable", status=502, times=1, when=lambda a: a["channel"] == slow
        )
        tick(bot.deps)
        assert _texts(fake_slack, fine) == ["to fine"]  # the others' trouble held nobody up
        gone = _row(sessions, ids[2])
        assert (gone.status, gone.last_error, gone.attempts) == ("failed", "account_inactive", 1)
        for row_id, error in ((ids[0], "slack internal_error"), (ids[1], "slack request_timeout")):
            row = _row(sessions, row_id)
            assert (row.status, row.last_error, row.lease_until) == ("pending", error, clock.now + backoff(1))
        clock.advance(backoff(1) - timedelta(seconds=1))
        tick(bot.deps)
        assert _texts(fake_slack, flaky) == _texts(fake_slack, slow) == []  # not before the backoff
        clock.advance(timedelta(seconds=1))
        tick(bot.deps)
        assert (_row(sessions, ids[0]).last_error, _row(sessions, ids[1]).last_error) == (
            "slack fatal_error",
            "slack service_unavailable",
        )
        clock.advance(backoff(2))
        tick(bot.deps)
        assert _texts(fake_slack, flaky) == ["to flaky"]
        assert _texts(fake_slack, slow) == ["to slow"]
        assert [(_row(sessions, i).status, _row(sessions, i).attempts) for i in ids] == [
            ("sent", 3),
            ("sent", 3),
            ("failed", 1),
            ("sent", 1),
        ]
        tick(bot.deps)
        assert len(fake_slack.calls_to("chat.postMessage")) == 8  # 4 failures, 1 permanent, 3 sent: no repeats

    def test_ratelimited_with_http_200_pauses_like_a_429(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        (user,) = _users(fake_slack, 1)
        (row_id,) = _tell(sessions, clock, (user, "hello"))
        fake_slack.fail("chat.postMessage", "ratelimited", times=1, retry_after=7)
        tick(bot.deps)
        row = _row(sessions, row_id)
        assert (row.status, row.lease_until, row.attempts) == ("pending", clock.now + timedelta(seconds=7), 0)
        clock.advance(timedelta(seconds=6))
        tick(bot.deps)
        assert len(fake_slack.calls_to("chat.postMessage")) == 1
        clock.advance(timedelta(seconds=1))
        tick(bot.deps)
        assert _texts(fake_slack, user) == ["hello"]

    def test_the_production_client_does_not_sleep_on_a_429_in_the_courier(
        self, settings: Settings, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        built = build(settings, sessions=sessions, clock=clock, registry=build_registry())  # make_client's retries
        assert built.deps.courier is not None
        try:
            (user,) = _users(fake_slack, 1)
            (row_id,) = _tell(sessions, clock, (user, "hello"))
            fake_slack.rate_limit("chat.postMessage", times=1, retry_after=30)
            started = time.monotonic()
            report = built.deps.courier.deliver_now()
            assert time.monotonic() - started < 5  # the listeners' client would have slept 30 s and retried
            assert (report.rate_limited, report.sent) == (1, 0)
            assert len(fake_slack.calls_to("chat.postMessage")) == 1
            row = _row(sessions, row_id)
            assert (row.status, row.lease_until) == ("pending", clock.now + timedelta(seconds=30))
        finally:
            built.deps.courier.stop()

    def test_several_senders_stop_at_a_rate_limit_and_lose_nothing(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        users = _users(fake_slack, 12)
        ids = _tell(sessions, clock, *((user, f"hello {user}") for user in users))
        fake_slack.rate_limit("chat.postMessage", times=1, retry_after=5)
        fake_slack.delay("chat.postMessage", 0.1)
        tick(bot.deps)
        limited_at = clock.now
        first = len(fake_slack.calls_to("chat.postMessage"))
        assert first < len(users)  # every sender stopped (only calls already in flight went on)
        clock.advance(timedelta(seconds=4))
        tick(bot.deps)
        assert len(fake_slack.calls_to("chat.postMessage")) == first  # paused: not one early call
        clock.advance(timedelta(seconds=1))
        tick(bot.deps)
        assert clock.now - limited_at >= timedelta(seconds=5)
        assert Counter(m.text for m in fake_slack.messages) == Counter(f"hello {user}" for user in users)
        assert {(_row(sessions, i).status, _row(sessions, i).attempts) for i in ids} == {("sent", 1)}

    def test_not_in_a_public_channel_joins_once_a_private_one_fails(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        fake_slack.add_channel("C0PUBLIC", "announcements", bot_must_join=True)
        fake_slack.add_channel("C0SECRET", "organisers", bot_must_join=True, private=True)
        public, secret = _tell(sessions, clock, ("C0PUBLIC", "to public"), ("C0SECRET", "to secret"))
        tick(bot.deps)
        assert _texts(fake_slack, "C0PUBLIC") == ["to public"]
        assert _row(sessions, public).status == "sent"
        row = _row(sessions, secret)
        assert (row.status, row.last_error) == ("failed", "not_in_channel")
        joins = Counter(call.args["channel"] for call in fake_slack.calls_to("conversations.join"))
        assert joins == Counter({"C0PUBLIC": 1, "C0SECRET": 1})
        outbox_posts = Counter(call.args["channel"] for call in fake_slack.calls_to("chat.postMessage"))
        assert outbox_posts == Counter({"C0PUBLIC": 2, "C0SECRET": 1})
        _tell(sessions, clock, ("C0PUBLIC", "again"))
        tick(bot.deps)
        assert _texts(fake_slack, "C0PUBLIC") == ["to public", "again"]
        assert len(fake_slack.calls_to("conversations.join")) == 2  # a member now: no second join


class TestLeases:
    def test_a_lease_that_runs_out_mid_run_is_not_posted_on(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        users = _users(fake_slack, 3)
        ids = _tell(sessions, clock, *((user, f"hi {user}") for user in users))

        def slow_post(call: Call) -> None:
            if call.method == "chat.postMessage":
                clock.advance(LEASE + timedelta(seconds=1))  # this post took longer than the lease

        fake_slack.subscribe(slow_post)
        report = deliver_due(bot.deps, clock=clock, worker_id="slow", lease=LEASE, senders=1, pacer=Pacer(0))
        assert (report.claimed, report.sent, report.lost_lease) == (3, 1, 2)
        assert len(fake_slack.calls_to("chat.postMessage")) == 1  # the fence refused the other two
        left = [_row(sessions, i) for i in ids[1:]]
        assert {(row.status, row.claimed_by) for row in left} == {("claimed", "slow")}
        assert all(row.lease_until is not None and row.lease_until < clock.now for row in left)
        other = deliver_due(bot.deps, now=clock.now, worker_id="other", lease=LEASE, senders=1, pacer=Pacer(0))
        assert other.sent == 2
        assert Counter(m.text for m in fake_slack.messages) == Counter(f"hi {user}" for user in users)
        assert {_row(sessions, i).status for i in ids} == {"sent"}

    def test_a_run_stops_claiming_when_a_batch_could_outlive_its_lease(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        users = _users(fake_slack, 3)
        ids = _tell(sessions, clock, *((user, f"hi {user}") for user in users))

        def slow_post(call: Call) -> None:
            if call.method == "chat.postMessage":
                clock.advance(LEASE * 0.6)  # within the lease, but no second post would fit in half of it

        fake_slack.subscribe(slow_post)
        report = deliver_due(bot.deps, clock=clock, worker_id="w", batch=1, lease=LEASE, senders=1)
        assert (report.claimed, report.sent, report.lost_lease) == (1, 1, 0)
        assert [_row(sessions, i).status for i in ids] == ["sent", "pending", "pending"]  # left unclaimed


class TestOrder:
    def test_rows_that_depend_on_a_row_wait_for_it(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        (user,) = _users(fake_slack, 1)
        fake_slack.add_channel("C0TALK", "talk")
        with sessions.begin() as session:
            parent = outbox.tell(session, "C0TALK", "the question", now=clock.now)
            assert parent is not None
            reply = outbox.tell(session, "C0TALK", "an answer", now=clock.now, thread_of=parent)
            edit = outbox.update(session, "the question (edited)", now=clock.now, of=parent)
            after = outbox.queue(session, user, now=clock.now, text="your question is up", after=parent)
            ids = [parent.id, reply.id if reply else 0, edit.id if edit else 0, after.id]
        fake_slack.fail("chat.postMessage", "internal_error", times=1, when=lambda a: a["channel"] == "C0TALK")
        tick(bot.deps)
        assert [_row(sessions, i).status for i in ids] == ["pending"] * 4
        assert [_row(sessions, i).attempts for i in ids] == [1, 0, 0, 0]  # the others were never claimed
        assert fake_slack.dms_to(user) == []  # another recipient, held back by depends_on alone
        clock.advance(backoff(1))
        tick(bot.deps)
        (question, answer) = fake_slack.messages_in("C0TALK")
        assert (question.text, question.edits, question.thread_ts) == ("the question (edited)", 1, None)
        assert (answer.text, answer.thread_ts) == ("an answer", question.ts)
        assert _texts(fake_slack, user) == ["your question is up"]
        assert [_row(sessions, i).status for i in ids] == ["sent"] * 4

    def test_a_dependent_row_of_a_failed_row_is_skipped(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        fake_slack.add_channel("C0OLD", "old", archived=True)
        with sessions.begin() as session:
            parent = outbox.tell(session, "C0OLD", "the question", now=clock.now)
            reply = outbox.tell(session, "C0OLD", "an answer", now=clock.now, thread_of=parent)
            assert parent is not None
            assert reply is not None
            parent_id, reply_id = parent.id, reply.id
        tick(bot.deps)
        assert _row(sessions, parent_id).status == "failed"
        row = _row(sessions, reply_id)
        assert (row.status, row.last_error) == ("skipped", "the message it depends on was not delivered (failed)")
        assert len(fake_slack.calls_to("chat.postMessage")) == 1

    def test_messages_to_one_channel_keep_their_order_beside_other_senders(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        users = _users(fake_slack, 6)
        fake_slack.add_channel("C0ORDER", "order")
        messages = []
        for index, user in enumerate(users):
            messages += [("C0ORDER", f"order {index}"), (user, f"dm {index}")]
        _tell(sessions, clock, *messages)
        fake_slack.delay("chat.postMessage", 0.02)  # long enough for the senders to overlap
        report = deliver_due(bot.deps, clock=clock, worker_id="w", senders=4, pacer=Pacer(0))
        assert report.sent == 12
        assert _texts(fake_slack, "C0ORDER") == [f"order {index}" for index in range(6)]
        assert all(_texts(fake_slack, user) == [f"dm {index}"] for index, user in enumerate(users))

    def test_a_retried_message_is_not_overtaken_by_the_next_one_to_the_same_person(
        self, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        (user,) = _users(fake_slack, 1)
        first, second = _tell(sessions, clock, (user, "booked"), (user, "cancelled"))
        fake_slack.fail("chat.postMessage", "internal_error", times=1)
        tick(bot.deps)
        assert _texts(fake_slack, user) == []
        assert (_row(sessions, second).status, _row(sessions, second).attempts) == ("pending", 0)
        with sessions.begin() as session:  # another worker cannot take the second one either
            assert claim(session, now=clock.now, worker_id="other", batch=10, lease=LEASE) == []
        clock.advance(backoff(1))
        tick(bot.deps)
        assert _texts(fake_slack, user) == ["booked", "cancelled"]
        assert {_row(sessions, i).status for i in (first, second)} == {"sent"}


class TestFailedDeliveriesForOrganisers:
    def test_organisers_see_the_latest_failed_deliveries_paged(
        self, bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        assert "No failed deliveries" in slack.command(ORGANISER, "/cba-admin", "deliveries").text
        fake_slack.add_user("U0GONE", "Gone", deleted=True)
        fake_slack.add_channel("C0ARCHIVED", "old", archived=True)
        _tell(sessions, clock, ("U0GONE", "to gone"), ("C0ARCHIVED", "to old"))
        clock.advance(timedelta(minutes=1))
        _tell(sessions, clock, *((f"C0NONE{index:02d}", f"nowhere {index}") for index in range(23)))
        tick(bot.deps)
        answer = slack.command(ORGANISER, "/cba-admin", "deliveries").text
        lines = answer.splitlines()
        assert lines[0] == "*Failed deliveries* (1-20 of 25, newest first)"
        assert "`channel_not_found`" in lines[1]
        assert "<#C0NONE22>" in lines[1]
        assert lines[-1] == "More: `/cba-admin deliveries 2`"
        assert len(lines) == 22
        page_two = slack.command(ORGANISER, "/cba-admin", "deliveries 2").text
        assert "*Failed deliveries* (21-25 of 25, newest first)" in page_two
        assert "message to <@U0GONE>: `account_inactive`" in page_two
        assert "message to <#C0ARCHIVED>: `is_archived`" in page_two
        assert "<!date^" in page_two
        assert "1 attempt" in page_two
        assert "More:" not in page_two
        assert "only 2 page(s)" in slack.command(ORGANISER, "/cba-admin", "deliveries 3").text
        fake_slack.add_user("U0MEMBER", "Member")
        refused = slack.command("U0MEMBER", "/cba-admin", "deliveries").text
        assert "organiser" in refused.lower()
        assert "C0NONE" not in refused


class TestPoolSizing:
    def test_the_pool_lets_every_thread_hold_a_connection(self, settings: Settings) -> None:
        sized = with_settings(settings, http_threads=12, senders=3)
        assert database_connections(sized) == 12 + (1 + 2 * 3) + 2
        # Socket Mode's ten message workers count when there are fewer HTTP threads.
        assert database_connections(with_settings(sized, http_threads=4)) == 10 + (1 + 2 * 3) + 2
        engine = make_engine(settings.database_url, connections=database_connections(sized))
        try:
            pool = engine.pool
            assert pool.size() + pool._max_overflow == database_connections(sized)  # type: ignore[attr-defined]
        finally:
            engine.dispose()


# --- two real `cba-bot run` processes, one PostgreSQL outbox, a slow Slack ----------------------------

MESSAGES = 2000
POST_SECONDS = 0.2
SECRET = "outbox-test-secret"


def _worker_of(call: Call) -> str:
    return str(call.headers.get("Authorization", "")).removeprefix("Bearer xoxb-")


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """The run's PostgreSQL database, emptied afterwards (processes write to it: no SQLite twin here)."""
    yield pg_database
    engine = make_engine(pg_database, connections=1)
    try:
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE reminders RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_two_bot_processes_deliver_2000_messages_through_a_slow_slack_exactly_once(
    pg_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    users = _users(fake_slack, MESSAGES, prefix="U0R")
    fake_slack.delay("chat.postMessage", POST_SECONDS)
    sessions = make_sessionmaker(make_engine(pg_url, connections=2))
    with ExitStack() as stack:
        for name in ("A", "B"):
            env = bot_env(
                SLACK_BOT_TOKEN=f"xoxb-{name}",  # the token names the process, for the fake's records
                SLACK_SIGNING_SECRET=SECRET,
                SLACK_API_URL=fake_slack.url,
                DATABASE_URL=pg_url,
                CBA_TICK_SECONDS="2",
                CBA_LOG_LEVEL="WARNING",
            )
            stack.enter_context(running_bot(env, tmp_path, port=free_port(), scheduler=True))
        # Both processes are up; the rows appear as if a request had queued them (no courier is woken:
        # the scheduler's tick finds them).
        now = datetime.now(UTC)
        with sessions.begin() as session:
            for index, user in enumerate(users):
                outbox.queue(session, user, now=now, text=f"outbox {index}")
        started = time.monotonic()
        deadline = started + 180
        while time.monotonic() < deadline:
            with sessions() as session:
                left = session.scalar(
                    select(func.count()).select_from(Reminder).where(Reminder.status.in_(("pending", "claimed")))
                )
            if not left:
                break
            time.sleep(1)
        elapsed = time.monotonic() - started
    posts = fake_slack.calls_to("chat.postMessage")
    delivered = Counter(call.args["text"] for call in posts if call.response.get("ok"))
    missing = {f"outbox {index}" for index in range(MESSAGES)} - set(delivered)
    duplicated = sum(count - 1 for count in delivered.values())
    by_process = Counter(_worker_of(call) for call in posts)
    print(f"\n{MESSAGES} messages in {elapsed:.0f} s; by process {dict(by_process)}")
    assert (len(missing), duplicated) == (0, 0)
    assert len(posts) == MESSAGES  # and not one failed or repeated call
    assert by_process["A"] > MESSAGES / 10
    assert by_process["B"] > MESSAGES / 10
    with sessions() as session:
        assert set(session.scalars(select(Reminder.status).distinct())) == {"sent"}
    sessions.kw["bind"].dispose()
