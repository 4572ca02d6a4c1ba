"""No message text in any log line (SPEC §3, Privacy): a whole scenario, logged at DEBUG for the bot's own
loggers and SQLAlchemy (statements, parameters, rows), with a database error and Slack errors on the way;
then every line the bot's log format would write is searched for the texts people typed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.logging_setup import quiet_libraries
from storage.models import Assignment, Event, Feedback, Member, Question, Rsvp, Submission
from tests.conftest import ORGANISER, Clock
from tests.factories import make_cohort, make_member
from tests.factories_events import make_event
from tests.factories_homework import make_assignment
from tests.factories_questions import QUESTIONS_CHANNEL, make_alumni, make_person

PARTICIPANT, ALUMNA, COACH = "U0PRIVATE", "U0ALUMNA", "U0COACHP"
CHANNEL = "C0COHORT3"
# What people type; each carries a word found nowhere else, so that a quote of any part of it shows.
BIO = "Quillfeather bio: I run hydrogen pilots in Graz"
QUESTION = "Marzipanthrope question: how do we find funding for cluster travel?"
ANSWER = "Obsidianwick answer: ask the managing authority for ERDF funding"
THREAD_REPLY = "Thistlemarrow reply: the regional fund also pays travel"
HOMEWORK = "Velvetquandary homework: our plan is to grow exports to Chile"
FEEDBACK = "Saffronquibble feedback: clear priorities, tighten the intro"
FAILED_FEEDBACK = "Lanternwhisk feedback that meets a database error"
REASON = "Gossamertrunk reason: a medical appointment that day"
TYPED = (BIO, QUESTION, ANSWER, THREAD_REPLY, HOMEWORK, FEEDBACK, FAILED_FEEDBACK, REASON)
OWN_LOGGERS = ("bot", "commands", "storage", "sqlalchemy")


class Lines(logging.Handler):
    """Every record as the bot's log format writes it, traceback included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []
        self.names: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.names.add(record.name)


@pytest.fixture(autouse=True)
def logs() -> Iterator[Lines]:
    """Set up before the bot is built (Bolt's loggers copy their level then), as `cba-bot run` does."""
    names = ("", "slack_sdk", "slack_bolt", "alembic", "waitress.queue", *OWN_LOGGERS)
    levels = {name: logging.getLogger(name).level for name in names}
    handler = Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    quiet_libraries("DEBUG")  # what CBA_LOG_LEVEL=DEBUG gives
    for name in OWN_LOGGERS:  # and more: SQLAlchemy's statements and rows, which the bot leaves off
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def world(sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock) -> dict[str, int]:
    fake_slack.add_channel(QUESTIONS_CHANNEL, "ask-alumni")
    fake_slack.add_channel(CHANNEL, "cba3")
    with sessions.begin() as session:
        cohort = make_cohort(session, "CBA3", channel=CHANNEL)
        participant = make_person(session, fake_slack, PARTICIPANT, "Petra Private", "participant", cohort=cohort)
        session.flush()
        make_alumni(session, fake_slack, ALUMNA, "Alma Alumna", expertise=["funding", "travel"])
        make_person(session, fake_slack, COACH, "Carl Coach", "coach")
        make_member(session, ORGANISER, "Olga Organiser")
        assignment = make_assignment(session, cohort, clock.now + timedelta(days=7), "Action plan")
        event = make_event(session, cohort, clock.now + timedelta(days=5), now=clock.now)
        return {"participant": participant.id, "assignment": assignment.id, "event": event.id}


def _force_a_database_error(session: Session, dialect: str) -> None:
    """Feedback that mentions a lantern cannot be stored: a constraint PostgreSQL reports with the whole
    row ("DETAIL: Failing row contains …"), a trigger on SQLite."""
    if dialect == "postgresql":
        session.execute(text("ALTER TABLE feedback ADD CONSTRAINT no_lanterns CHECK (text NOT LIKE '%Lantern%')"))
    else:
        session.execute(
            text(
                "CREATE TRIGGER no_lanterns BEFORE INSERT ON feedback WHEN NEW.text LIKE '%Lantern%' "
                "BEGIN SELECT RAISE(ABORT, 'no lanterns'); END"
            )
        )


def test_no_typed_text_reaches_the_logs(
    logs: Lines,
    slack: SlackDriver,
    fake_slack: FakeSlack,
    sessions: sessionmaker[Session],
    world: dict[str, int],
) -> None:
    # Profile, question (posted to the channel, routed to the alumna), her answer through the form and one
    # in the thread, homework, feedback, a decline with its reason.
    assert "bio" in slack.command(PARTICIPANT, "/cba-profile", f"set bio {BIO}").text.lower()
    slack.command(PARTICIPANT, "/cba-ask", QUESTION)
    with sessions() as session:
        question = session.scalars(select(Question)).one()
    slack.action(ALUMNA, "question_answer", value=str(question.id), channel_id=QUESTIONS_CHANNEL)
    view = fake_slack.calls_to("views.open")[-1].args["view"]
    slack.submit(ALUMNA, view, {"answer": {"text": {"type": "plain_text_input", "value": ANSWER}}})
    reply = fake_slack.add_message(QUESTIONS_CHANNEL, THREAD_REPLY, user=ALUMNA, thread_ts=question.message_ts)
    slack.event(
        {
            "type": "message",
            "channel": QUESTIONS_CHANNEL,
            "user": ALUMNA,
            "text": THREAD_REPLY,
            "ts": reply.ts,
            "thread_ts": question.message_ts,
            "channel_type": "channel",
        }
    )
    # Slack fails the next DM once (retried) and then for good once (recorded as failed).
    fake_slack.fail("chat.postMessage", "internal_error", times=1)
    slack.command(PARTICIPANT, "/cba-homework", f"submit {world['assignment']} {HOMEWORK}")
    with sessions() as session:
        submission = session.scalars(select(Submission)).one()
    fake_slack.fail("chat.postMessage", "is_archived", times=1)
    slack.command(COACH, "/cba-homework", f"review {submission.id} {FEEDBACK}")
    slack.action(PARTICIPANT, "event_rsvp_no", value=str(world["event"]), channel_id=fake_slack.dm_channel(PARTICIPANT))
    view = fake_slack.calls_to("views.open")[-1].args["view"]
    slack.submit(PARTICIPANT, view, {"reason": {"reason": {"type": "plain_text_input", "value": REASON}}})

    # A database error while the typed text is being stored: the apology, and a traceback in the log.
    with sessions.begin() as session:
        _force_a_database_error(session, session.get_bind().dialect.name)
    failed = slack.command(COACH, "/cba-homework", f"review {submission.id} {FAILED_FEEDBACK}")
    assert "ref" in failed.text.lower()
    slack.settle()

    # The scenario did what it says (so the texts went through the code that logs).
    with sessions() as session:
        assert session.scalars(select(Member.bio).where(Member.slack_id == PARTICIPANT)).one() == BIO
        assert session.scalar(select(Submission.text)) == HOMEWORK
        assert list(session.scalars(select(Feedback.text))) == [FEEDBACK]
        assert session.scalars(select(Rsvp.reason)).one() == REASON
        assert len(session.scalars(select(Question)).one().answers) == 2
        assert session.get(Assignment, world["assignment"]) is not None
        assert session.get(Event, world["event"]) is not None
    assert any(text_ in str(call.args) for call in fake_slack.calls for text_ in (QUESTION, ANSWER))

    # The logs were on, at DEBUG, with statements, a traceback and Slack's errors in them.
    joined = "\n".join(logs.lines)
    assert "Traceback" in joined
    assert "SQL parameters hidden" in joined
    assert "Row [hidden]" in joined
    assert {"sqlalchemy.engine.Engine", "bot.kernel.request"} <= logs.names
    for typed in TYPED:
        word = typed.split()[0]
        leaks = [line for line in logs.lines if word in line]
        assert leaks == [], f"{word} in the logs:\n" + "\n".join(leak[:600] for leak in leaks)
