"""Property-based fuzzing (Hypothesis) of everything a user can send: every slash command's text, every
registered button's value, every form's fields and the texts events carry, on SQLite and PostgreSQL.

Whatever comes in: an answer, never the apology for an internal error, no exception logged by the kernel,
and a refusal changes nothing (every row of every table compared before and after).

Each example starts from the same small world (a cohort with an organiser, a participant, a coach and an
alumnus, a slot, a booking, an assignment, a submission, a question, a programme day), rebuilt after an
example that changed it (most are refusals, which must change nothing anyway). Every caller holds a role.
Runs are derandomised, so CI sees the same examples every time; `CBA_FUZZ_SCALE=10` hunts ten times longer
(a crash it finds gets fixed, and its input becomes an `@example` here). Slack's one-post-a-second pacing
is switched off here: it is not under test, and would make a booking cost a second.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from bot.console.driver import Dispatched, SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.features import build_registry
from bot.kernel import delivery
from bot.kernel import request as kernel_request
from bot.kernel.commands import COMMANDS
from bot.kernel.registry import Registry
from commands.common.errors import CbaError
from storage.models import Base
from tests.conftest import ORGANISER, Clock, _empty_all_tables
from tests.factories import database_snapshot, make_cohort, make_member
from tests.factories_coaching import make_booking, make_slot
from tests.factories_events import make_event
from tests.factories_homework import make_assignment, make_submission
from tests.factories_questions import make_answer, make_question, make_routing

APOLOGY = "Sorry, something went wrong"
SCALE = float(os.environ.get("CBA_FUZZ_SCALE", "1"))
QUESTIONS_CHANNEL = "C0QUESTIONS"
QUESTION_TS = "1764000000.000100"
Snapshot = dict[str, list[tuple[Any, ...]]]


def fuzz(examples: int) -> settings:
    """Deterministic (the same examples on every run), no example database, no deadline (CI is slow)."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        derandomize=True,
        database=None,
        deadline=None,
        # The fixtures (bot, fake Slack, database) live for the whole test; each example resets the data.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- the world every example starts from ---------------------------------------------------------

PARTICIPANT, COACH, ALUMNUS, ORGANISER2 = "U0PART1", "U0COACH1", "U0ALUM1", "U0ORG2"
# Every caller holds a role: a member with none is refused at the door, which would test nothing else.
CALLERS = (PARTICIPANT, COACH, ALUMNUS, ORGANISER, ORGANISER2)


def populate(session: Session, fake: FakeSlack, now: datetime) -> None:
    cohort = make_cohort(session, "CBA3", channel="C0COHORT3")
    people = {
        PARTICIPANT: make_member(session, PARTICIPANT, "Pat Participant", "participant", cohort=cohort),
        COACH: make_member(session, COACH, "Cora Coach", "coach", cohort=cohort, tz="Europe/Berlin"),
        ALUMNUS: make_member(session, ALUMNUS, "Al Alumnus", "alumni", expertise=["funding"], accepts_questions=True),
        ORGANISER: make_member(session, ORGANISER, "Olga Organiser", "organiser"),
        ORGANISER2: make_member(session, ORGANISER2, "Otto Organiser", "organiser", cohort=cohort),
    }
    for slack_id, member in people.items():
        fake.add_user(slack_id, member.name, tz=member.tz or "Europe/Brussels")
    fake.add_channel("C0COHORT3", "cba3")
    fake.add_channel(QUESTIONS_CHANNEL, "cba-questions")
    day = now.replace(hour=9, minute=0) + timedelta(days=10)
    make_slot(session, people[COACH], day)  # slot #1, open
    booked = make_slot(session, people[COACH], day + timedelta(days=1))  # slot #2, booking #1
    make_booking(session, booked, people[PARTICIPANT])
    assignment = make_assignment(session, cohort, day + timedelta(days=5), created_by=people[ORGANISER2])
    make_submission(session, assignment, people[PARTICIPANT], now - timedelta(hours=1))  # submission #1
    question = make_question(
        session, people[PARTICIPANT], "How do you fund a cluster?", created_at=now, message_ts=QUESTION_TS
    )
    make_routing(session, question, people[ALUMNUS], at=now)
    make_answer(session, question, people[COACH], "Ask the region.", at=now)
    make_event(session, cohort, day + timedelta(days=2), now=now)  # event #1


def reset(engine: Engine) -> None:
    """Empty every table and restart the IDs, so each example meets the same world with the same numbers."""
    if engine.dialect.name == "postgresql":
        _empty_all_tables(engine)
        return
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        if connection.execute(text("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")).first():
            connection.execute(text("DELETE FROM sqlite_sequence"))


# --- watching the kernel: refusals and logged failures --------------------------------------------


@dataclass
class Watch:
    refusals: list[CbaError] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.refusals.clear()
        self.failures.clear()


class _Failures(logging.Handler):
    def __init__(self, watch: Watch) -> None:
        super().__init__(logging.ERROR)
        self.watch = watch

    def emit(self, record: logging.LogRecord) -> None:
        self.watch.failures.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Watch]:
    """Records what the kernel refused (a CbaError out of a request's transaction) and every error it logs."""
    seen = Watch()
    real = kernel_request.transact

    def observed(deps: Any, work: Callable[[Session], Any], **options: Any) -> Any:
        try:
            return real(deps, work, **options)
        except CbaError as refusal:
            seen.refusals.append(refusal)
            raise

    monkeypatch.setattr(kernel_request, "transact", observed)
    unpaced = delivery.Pacer  # no one-post-a-second pacing (see the module's docstring)
    monkeypatch.setattr(delivery, "Pacer", lambda: unpaced(interval=0))
    handler = _Failures(seen)
    loggers = [logging.getLogger(name) for name in ("bot", "commands", "storage")]
    for logger in loggers:
        logger.addHandler(handler)
    yield seen
    for logger in loggers:
        logger.removeHandler(handler)


@dataclass
class World:
    slack: SlackDriver
    fake: FakeSlack
    sessions: sessionmaker[Session]
    engine: Engine
    clock: Clock
    watch: Watch
    start: datetime
    pristine: Snapshot | None = None  # the world's rows, while the database still holds just them

    def fresh(self) -> Snapshot:
        """The world as populated; rebuilt only when the previous example changed it."""
        self.watch.clear()
        if self.pristine is None:
            self.clock.set(self.start)
            reset(self.engine)
            with self.sessions.begin() as session:
                populate(session, self.fake, self.start)
            self.pristine = database_snapshot(self.sessions)
        return self.pristine

    def check(self, what: str, send: Callable[[], Dispatched]) -> Dispatched:
        """Send one request from the fresh world and check the properties every answer must have."""
        before = self.fresh()
        calls_before = len(self.fake.calls)
        answer = send()
        self.slack.settle()
        assert answer.status == 200, f"{what}: HTTP {answer.status} {answer.body[:300]}"
        assert APOLOGY not in answer.body, f"{what}: crashed: {answer.body[:300]}"
        for call in self.fake.calls[calls_before:]:
            said = json.dumps(call.args, ensure_ascii=False)
            assert APOLOGY not in said, f"{what}: crashed, the apology went out by {call.method}"
        assert not self.watch.failures, f"{what}: the kernel logged {self.watch.failures}"
        after = database_snapshot(self.sessions)
        changed = [table for table in before if before[table] != after[table]]
        if changed:
            self.pristine = None  # the next example starts from a rebuilt world
        if self.watch.refusals:
            assert not changed, f"{what}: refused ({self.watch.refusals[0].message[:120]}) but changed {changed}"
        return answer


@pytest.fixture
def world(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    sessions: sessionmaker[Session],
    engine: Engine,
    clock: Clock,
    watch: Watch,
) -> World:
    return World(slack, fake_slack, sessions, engine, clock, watch, clock.now)


# --- what users type -------------------------------------------------------------------------------

HOSTILE = [
    "",
    " ",
    "\x00",
    "bio\x00with NUL",
    "\x1b[2J\x07\x08\x7f\x85",
    "line\r\nbreaks\rand\ttabs",
    "\u202eevil\u202c",
    "💥 ünïcödé 漢字 ²³ ٣",
    "x" * 201,
    "long " * 1200,
    "<!channel> <!here> <@U0NOBODY|ghost> <#C0NOWHERE|void>",
    "<https://example.com|click>",
    "'unbalanced \"quotes",
    '=HYPERLINK("https://evil.example")',
    "0001-01-01",
    "9999-12-31",
    "9999-12-31 23:59",
    "0001-01-01 00:00",
    "2026-02-30 25:61",
    "2026-03-29 02:30",
    "-1",
    "0",
    "²",
    "99999999999999999999",
    "#999999999",
]
free_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x9F), max_size=30),
    st.builds(
        lambda piece, count: piece * count, st.sampled_from(["x", "漢", "\x00", "word ", "a,"]), st.integers(1, 5000)
    ),
)
day_text = st.one_of(
    st.sampled_from(["0001-01-01", "9999-12-31", "1999-12-31", "2100-01-01", "2026-02-30", "2026-03-29", "2026-10-25"]),
    st.dates(min_value=date(2026, 11, 20), max_value=date(2027, 3, 31)).map(date.isoformat),
    st.dates().map(date.isoformat),
)
time_text = st.one_of(
    st.sampled_from(["00:00", "23:59", "02:30", "24:00", "9:5", "12:60"]),
    st.times().map(lambda at: at.strftime("%H:%M")),
)
id_text = st.one_of(
    st.integers(0, 4).map(str),
    st.integers(0, 4).map(lambda n: f"#{n}"),
    st.sampled_from(["999999999", "99999999999", "-1", "²", "1.5", "0x1"]),
)
PLACEHOLDERS: dict[str, st.SearchStrategy[str]] = {
    "YYYY-MM-DD": day_text,
    "HH:MM": time_text,
    "HH:MM-HH:MM": st.builds(lambda a, b: f"{a}-{b}", time_text, time_text),
    "MINUTESm": st.one_of(st.integers(0, 100_000).map(lambda n: f"{n}m"), st.just("45m")),
    "xCOUNT": st.one_of(st.integers(0, 10_000).map(lambda n: f"x{n}"), st.just("x3")),
    "MEETING-URL": st.sampled_from(["https://meet.example.com/abc", "<https://x.example/a|x>", "javascript:alert(1)"]),
    "TEXT-OR-LINK": st.one_of(
        free_text, st.just("https://docs.example.com/plan"), st.just("https://" + "a" * 1200 + ".com")
    ),
    "LOCATION-OR-LINK": st.one_of(free_text, st.just("https://meet.example.com/k")),
    "@member": st.sampled_from([f"<@{PARTICIPANT}|pat>", f"<@{ALUMNUS}>", "<@U0NOBODY|ghost>", "@maria", "U0COACH1"]),
    "#channel": st.sampled_from(["<#C0COHORT3|cba3>", "<#C0NEW|new>", "#cba2", "C0" + "X" * 40]),
    "COHORT": st.sampled_from(["CBA3", "CBA2", "cba3", "X" * 40, ""]),
    "CODE": st.sampled_from(["CBA3", "CBA9", "X" * 40, "ÄÖ"]),
    "ROLE": st.sampled_from(["participant", "alumni", "coach", "organiser", "wizard"]),
    "FIELD": st.sampled_from(
        [
            "name",
            "organisation",
            "country",
            "region",
            "sectors",
            "expertise",
            "bio",
            "linkedin",
            "eccp",
            "visible",
            "questions",
            "capacity",
            "away",
        ]
    ),
    "online|in-person": st.sampled_from(["online", "in-person", "hybrid"]),
    "XX": st.sampled_from(["IT", "ZZ", "it", ""]),
    "PAGE": id_text,
    "HOURS": st.sampled_from(["0", "24", "-5", "100000", "1e9"]),
}


def _token(word: str) -> st.SearchStrategy[str]:
    if word in PLACEHOLDERS:
        return PLACEHOLDERS[word]
    if word.endswith("ID"):
        return id_text
    if ":" in word and word.split(":")[0].islower():  # directory filters: country:XX, role:ROLE…
        name, _, placeholder = word.partition(":")
        return _token(placeholder).map(lambda value: f"{name}:{value}")
    if word.islower() or word in ("|",):  # a subcommand word, kept as typed
        return st.just(word)
    return free_text  # TITLE, NAME, QUESTION, WORDS, FEEDBACK, VALUE, DESCRIPTION…


def _grammar(grammar: str) -> st.SearchStrategy[str]:
    """Text following one usage line: placeholders filled, optional parts sometimes left out."""
    parts: list[st.SearchStrategy[str]] = []
    for raw in grammar.split()[1:]:
        optional = raw.startswith("[") or raw.endswith("]")
        word = raw.strip("[]")
        token = _token(word)
        parts.append(st.one_of(st.just(""), token) if optional else token)
    if not parts:
        return st.just("")
    return st.tuples(*parts).map(lambda words: " ".join(w for w in words if w))


def _mangled(grammar: str) -> st.SearchStrategy[str]:
    """A usage with one word swapped for hostile text, or hostile text appended."""
    return st.tuples(_grammar(grammar), free_text, st.booleans()).map(
        lambda parts: f"{parts[0]} {parts[1]}" if parts[2] else " ".join([parts[1], *parts[0].split()[1:]])
    )


def command_text(name: str) -> st.SearchStrategy[str]:
    usages = next(command.usages for command in COMMANDS if command.name == name)
    return st.one_of(
        *[_grammar(usage.grammar) for usage in usages],
        *[_mangled(usage.grammar) for usage in usages],
        free_text,
    )


COMMAND_NAMES = [command.name for command in COMMANDS]


@pytest.mark.parametrize("command", COMMAND_NAMES)
def test_every_command_answers_any_text(world: World, command: str) -> None:
    @fuzz(30)
    @given(caller=st.sampled_from(CALLERS), typed=command_text(command))
    @example(caller=PARTICIPANT, typed="set bio \x00")
    @example(caller=PARTICIPANT, typed="submit 1 my answer \x00 with NUL")
    @example(caller=COACH, typed="add 9999-12-31 23:59 480m x12")
    @example(caller=COACH, typed="add 0001-01-01 00:00")
    @example(caller=ORGANISER, typed="new CBA3 9999-12-31 Far away")
    @example(caller=ORGANISER, typed="event add CBA3 online 9999-12-31 22:00-23:59 Late")
    @example(caller=ORGANISER, typed="event move 1 0001-01-01 00:00-01:00")
    @example(caller=ORGANISER, typed="due 1 0001-01-01")
    @example(caller=ORGANISER, typed="deliveries ²")
    def run(caller: str, typed: str) -> None:
        what = f"{command} {typed!r} as {caller}"
        modals = len(world.fake.calls_to("views.open"))
        answer = world.check(what, lambda: world.slack.command(caller, command, typed, wait=False))
        opened_a_modal = len(world.fake.calls_to("views.open")) > modals
        assert answer.text.strip() or opened_a_modal, f"{what}: no answer"
        assert answer.json.get("response_type") in ("ephemeral", None) or command == "/cba-ask", what

    run()


def test_the_fuzzer_knows_every_command(registry: Registry) -> None:
    assert set(COMMAND_NAMES) == set(registry.commands) | ({"/cba-admin"} if registry.admin else set())


# --- buttons ---------------------------------------------------------------------------------------

json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.integers(-2, 5),
    st.floats(allow_nan=False),
    day_text,
    time_text,
    id_text,
    free_text,
)
JSON_KEYS = ["d", "t", "m", "n", "u", "f", "c", "p", "q", "page", "id"]
json_value = st.one_of(
    st.dictionaries(st.sampled_from(JSON_KEYS), json_scalar, max_size=7),
    # The shapes the bot's own buttons carry, with every part arbitrary.
    st.fixed_dictionaries(
        {
            "d": day_text,
            "t": time_text,
            "m": st.one_of(st.integers(-5, 10**12), json_scalar),
            "n": st.one_of(st.integers(-1, 20), json_scalar),
            "u": st.one_of(st.none(), PLACEHOLDERS["MEETING-URL"], free_text),
            "f": st.one_of(st.integers(-1, 2), json_scalar),
        }
    ),
    st.fixed_dictionaries({"c": PLACEHOLDERS["COHORT"], "p": st.one_of(st.integers(-(2**40), 2**40), json_scalar)}),
    st.fixed_dictionaries({"q": free_text, "p": st.one_of(st.integers(-(2**40), 2**40), json_scalar)}),
    st.lists(json_scalar, max_size=3),
    json_scalar,
).map(json.dumps)
# JSON payloads (buttons, forms, events) can also carry lone surrogates, which no form body can.
LONE_SURROGATES = st.sampled_from(["lone \ud800 surrogate", "\udfff", "1\udc00"])
button_value = st.one_of(
    id_text, st.integers(-(2**40), 2**70).map(str), json_value, free_text, LONE_SURROGATES, st.none()
)


def action_ids(matcher: str | re.Pattern[str]) -> st.SearchStrategy[str]:
    if isinstance(matcher, str):
        return st.just(matcher)
    pattern = matcher.pattern if matcher.pattern.endswith("$") else matcher.pattern + r"\w{0,12}$"
    return st.from_regex(pattern, fullmatch=True)


def _registered_actions() -> list[tuple[str, str | re.Pattern[str]]]:
    return [(m if isinstance(m, str) else m.pattern, m) for m, _ in build_registry().actions]


ACTIONS = _registered_actions()


@pytest.mark.parametrize("matcher", [m for _, m in ACTIONS], ids=[name for name, _ in ACTIONS])
def test_every_button_answers_any_value(world: World, matcher: str | re.Pattern[str]) -> None:
    @fuzz(12)
    @given(
        caller=st.sampled_from(CALLERS),
        action_id=action_ids(matcher),
        value=button_value,
        on_home=st.booleans(),
    )
    @example(caller=PARTICIPANT, action_id="", value="²", on_home=False)
    @example(caller=PARTICIPANT, action_id="", value="99999999999999999999", on_home=False)
    @example(caller=PARTICIPANT, action_id="", value="999999999", on_home=False)
    @example(caller=PARTICIPANT, action_id="", value='{"q": "\\u0000", "p": 0}', on_home=False)
    @example(caller=ORGANISER, action_id="", value='{"c": "CBA3", "p": -1}', on_home=False)
    @example(caller=ORGANISER, action_id="", value='{"q": "", "p": 99999999999999}', on_home=False)
    @example(
        caller=COACH,
        action_id="",
        value='{"d": "9999-12-31", "t": "23:59", "m": 480, "n": 12, "u": null, "f": 0}',
        on_home=False,
    )
    def run(caller: str, action_id: str, value: str | None, on_home: bool) -> None:
        action_id = action_id or (matcher if isinstance(matcher, str) else _any_match(matcher))
        where: dict[str, Any] = (
            {"view": {"id": "VHOME", "type": "home", "blocks": [], "private_metadata": ""}}
            if on_home
            else {"channel_id": QUESTIONS_CHANNEL, "message": {"ts": QUESTION_TS, "blocks": []}}
        )
        world.check(
            f"button {action_id} value={value!r} as {caller}",
            lambda: world.slack.action(caller, action_id, value=value, **where),
        )

    run()


def _any_match(matcher: re.Pattern[str]) -> str:
    """A plain action ID the pattern matches (for the regression examples)."""
    stem = re.split(r"[(\[]", matcher.pattern)[0].strip("^$")
    for candidate in ("", "0", "1", "next", "prev", "_0", "_1", "_next", "_prev", "_12"):
        if matcher.search(stem + candidate):
            return stem + candidate
    raise AssertionError(f"no plain match for {matcher.pattern}")


# --- forms -----------------------------------------------------------------------------------------

# How a member opens each form in the world: (who, how, what). A form the registry has and this table
# lacks fails test_the_fuzzer_knows_every_form.
FORM_OPENERS: dict[str, tuple[str, str, str, str]] = {
    "cba_profile_modal": (PARTICIPANT, "command", "/cba-profile", ""),
    "event_decline": (PARTICIPANT, "action", "event_rsvp_no", "1"),
    "homework_submit_modal": (PARTICIPANT, "command", "/cba-homework", "submit 1"),
    "question_answer_submit": (ALUMNUS, "action", "question_answer", "1"),
    "home_ask_modal": (PARTICIPANT, "action", "home_ask", ""),
}


def open_form(world: World, callback_id: str) -> dict[str, Any]:
    caller, how, name, arg = FORM_OPENERS[callback_id]
    world.fresh()
    opened = len(world.fake.calls_to("views.open"))
    if how == "command":
        world.slack.command(caller, name, arg)
    else:
        world.slack.action(caller, name, value=arg, channel_id=QUESTIONS_CHANNEL)
    world.slack.settle()
    calls = world.fake.calls_to("views.open")
    assert len(calls) == opened + 1, f"{callback_id} did not open: {[c.response for c in calls[opened:]]}"
    view: dict[str, Any] = calls[-1].args["view"]
    if isinstance(view, str):
        view = json.loads(view)
    assert view["callback_id"] == callback_id
    world.pristine = None  # opening it may have written (RSVP rows…): the examples start afresh
    return view


def _field_value(element: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    kind = element.get("type")
    if kind == "checkboxes":
        options = element.get("options") or []
        forged = st.fixed_dictionaries({"text": st.just({"type": "plain_text", "text": "x"}), "value": free_text})
        chosen = st.lists(st.one_of(st.sampled_from(options), forged) if options else forged, max_size=2)
        return chosen.map(lambda picked: {"type": "checkboxes", "selected_options": picked})
    text_value = st.one_of(st.none(), free_text, PLACEHOLDERS["TEXT-OR-LINK"], day_text, id_text, LONE_SURROGATES)
    return text_value.map(lambda value: {"type": kind or "plain_text_input", "value": value})


def form_values(view: dict[str, Any]) -> st.SearchStrategy[dict[str, dict[str, dict[str, Any]]]]:
    """Arbitrary values for every input of the view (sometimes a field left out, as Slack never does)."""
    fields = {
        block["block_id"]: (block["element"]["action_id"], _field_value(block["element"]))
        for block in view.get("blocks") or []
        if block.get("type") == "input"
    }
    parts = {
        block_id: st.one_of(value.map(lambda v, a=action_id: {a: v}), st.just({}))
        for block_id, (action_id, value) in fields.items()
    }
    return st.fixed_dictionaries(parts).map(lambda values: {k: v for k, v in values.items() if v})


def stale_metadata(view: dict[str, Any]) -> st.SearchStrategy[str]:
    """The form's own metadata, or with its numbers pointing at nothing (the object went meanwhile)."""
    raw = view.get("private_metadata") or ""
    try:
        meta = json.loads(raw) if raw else {}
    except ValueError:
        meta = {}
    if not isinstance(meta, dict) or not meta:
        return st.just(raw)
    numbers = [key for key, value in meta.items() if isinstance(value, int)]
    stale = st.fixed_dictionaries(
        {key: st.one_of(st.just(meta[key]), st.sampled_from([0, 2, 999999999])) for key in numbers}
    ).map(lambda changed: json.dumps({**meta, **changed}))
    return st.one_of(st.just(raw), stale)


FORMS = [callback_id for callback_id, _ in build_registry().views]


@pytest.mark.parametrize("callback_id", FORMS)
def test_every_form_answers_any_values(world: World, callback_id: str) -> None:
    view = open_form(world, callback_id)
    opener = FORM_OPENERS[callback_id][0]

    @fuzz(20)
    # Mostly the member who opened it; sometimes someone else submits it (a form passed on, or forged).
    @given(
        values=form_values(view),
        metadata=stale_metadata(view),
        submitter=st.one_of(st.just(opener), st.just(opener), st.sampled_from(CALLERS)),
    )
    def run(values: dict[str, dict[str, dict[str, Any]]], metadata: str, submitter: str) -> None:
        submitted = {**view, "private_metadata": metadata}
        world.check(
            f"form {callback_id} values={values!r} metadata={metadata!r} by {submitter}",
            lambda: world.slack.submit(submitter, submitted, values),
        )

    run()


def test_the_fuzzer_knows_every_form() -> None:
    assert set(FORMS) == set(FORM_OPENERS)


# --- events ----------------------------------------------------------------------------------------

message_event = st.fixed_dictionaries(
    {
        "type": st.just("message"),
        "channel": st.sampled_from([QUESTIONS_CHANNEL, "C0COHORT3", "D0DM"]),
        "channel_type": st.sampled_from(["channel", "im"]),
        "user": st.sampled_from(CALLERS),
        "text": st.one_of(free_text, LONE_SURROGATES),
        "ts": st.sampled_from(["1764000100.000200", "1764000200.000300"]),
        "thread_ts": st.sampled_from([QUESTION_TS, "1764000000.999999", "x"]),
    },
    optional={"subtype": st.sampled_from(["message_changed", "message_deleted", "bot_message", "thread_broadcast"])},
)
user_event = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["team_join", "user_change"]),
        "user": st.fixed_dictionaries(
            {
                "id": st.sampled_from([*CALLERS, "U0NEWBIE"]),
                "name": free_text,
                "real_name": free_text,
                "tz": st.one_of(st.sampled_from(["Europe/Rome", "Mars/Olympus", "../../etc/passwd", ""]), free_text),
                "deleted": st.booleans(),
                "is_bot": st.booleans(),
                "profile": st.fixed_dictionaries(
                    {"real_name": free_text, "display_name": free_text, "email": free_text}
                ),
            }
        ),
    }
)
home_event = st.fixed_dictionaries(
    {
        "type": st.just("app_home_opened"),
        "user": st.sampled_from([*CALLERS, "U0NEWBIE"]),
        "tab": st.one_of(st.sampled_from(["home", "messages", "about"]), free_text),
    }
)


@pytest.mark.parametrize("kind", ["message", "user", "app_home_opened"])
def test_every_event_is_handled_whatever_it_carries(world: World, kind: str) -> None:
    events = {"message": message_event, "user": user_event, "app_home_opened": home_event}[kind]

    @fuzz(20)
    @given(event=events)
    @example(
        event={
            "type": "message",
            "channel": QUESTIONS_CHANNEL,
            "channel_type": "channel",
            "user": ALUMNUS,
            "text": "an answer \x00 with NUL",
            "ts": "1764000100.000200",
            "thread_ts": QUESTION_TS,
        }
    )
    @example(
        event={
            "type": "team_join",
            "user": {
                "id": "U0NEWBIE",
                "name": "n" * 300,
                "real_name": "",
                "tz": "x" * 65,
                "deleted": False,
                "is_bot": False,
                "profile": {"real_name": "", "display_name": "", "email": "e" * 400},
            },
        }
    )
    @example(event={"type": "user_change", "user": {"id": PARTICIPANT, "tz": "Mars/Olympus" + "x" * 60}})
    def run(event: dict[str, Any]) -> None:
        world.check(f"event {event!r}", lambda: world.slack.event(event))

    run()
