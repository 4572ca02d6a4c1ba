"""The role matrix (SPEC 3 Permissions and Membership, SPEC 5 Security), generated from the registry.

Every slash-command usage in COMMANDS, every registered button and every registered form is called by
each role and by two people the Academy does not know (no member row; a row without a role):
- a refusal names the role it needs, or says the caller is not registered and whom to ask, and every row
  of every table is as it was (the refusal's own answer in the outbox aside);
- an allowed call is answered without an apology; calls that write changed a row, buttons that open a
  form opened it.
The cases come from `COMMANDS` and the `Registry`; a button or form added without a case here fails
`test_every_registered_listener_has_a_case`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.console.driver import Dispatched, SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.features import build_registry
from bot.kernel.admin import COMMAND as ADMIN
from bot.kernel.commands import COMMANDS, EVERYONE, Usage
from bot.kernel.reminders import DELIVERIES_NEXT
from commands.coaching import views as coaching_views
from commands.events import views as event_views
from commands.home import views as home_views
from commands.homework import views as homework_views
from commands.members import views as member_views
from commands.questions import views as question_views
from tests.conftest import ORGANISER, Clock
from tests.factories import database_snapshot, make_cohort, make_member
from tests.factories_coaching import make_booking, make_offer, make_slot, make_waiting
from tests.factories_events import make_event
from tests.factories_homework import make_assignment, make_submission
from tests.factories_members import make_profile
from tests.factories_questions import make_question

ROLES = {"participant": "U0PART1", "alumni": "U0ALUM1", "coach": "U0COACH1", "organiser": "U0ORG2"}
# Not in the Academy: nobody has ever seen them, or they have a member row (joined Slack) but no role.
NON_MEMBERS = {"stranger": "U0STRANGER", "unregistered": "U0NOROLE"}
MARIA = "U0MARIA"  # whom `@member` usages name: an alumna who coaches, visible in the directory
COHORT = "CBA2"
COHORT_CHANNEL = "C0CBA2"
ALL = frozenset(EVERYONE)
NOBODY: frozenset[str] = frozenset()
REFUSED = re.compile(r"You need to be (an? )?(?P<roles>[a-z ]+?) to ")
APOLOGY = "Sorry, something went wrong"


@dataclass(frozen=True)
class World:
    """IDs of what the calls act on: the participant's booking, submission and question; the coach's slots."""

    event: int
    open_slot: int
    booking: int
    assignment: int
    submission: int
    question: int
    maria: int
    offer: int


@pytest.fixture
def world(sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock) -> World:
    now = clock.now
    fake_slack.add_channel(COHORT_CHANNEL, "cba2")
    fake_slack.add_channel("C0QUESTIONS", "ask-alumni")
    with sessions.begin() as session:
        cohort = make_cohort(session, COHORT, "CBA two", COHORT_CHANNEL)
        people = {
            role: make_member(session, slack_id, role.title(), role, cohort=cohort if role == "participant" else None)
            for role, slack_id in ROLES.items()
        }
        for slack_id in ROLES.values():
            fake_slack.add_user(slack_id, slack_id)
        make_member(session, NON_MEMBERS["unregistered"], "Una Registered")
        maria = make_profile(session, MARIA, "Maria Rossi", "alumni", "coach", expertise=["Funding"])
        pia, coach = people["participant"], people["coach"]
        # Starts in 20 minutes: answers are still open, and check-in already is.
        event = make_event(session, cohort, now + timedelta(minutes=20), now=now)
        open_slot = make_slot(session, coach, now + timedelta(days=6))
        booking = make_booking(session, make_slot(session, coach, now + timedelta(days=7)), pia)
        assignment = make_assignment(session, cohort, now + timedelta(days=15))
        submission = make_submission(session, assignment, pia, now - timedelta(hours=1))
        question = make_question(session, pia, "How do you fund a cluster strategy?", created_at=now)
        # The participant waits for the coach's next slot, and one is held for them now.
        waiting = make_waiting(session, pia, coach, joined_at=now - timedelta(days=1))
        offer = make_offer(
            session, make_slot(session, coach, now + timedelta(days=9)), waiting, now, timedelta(hours=2)
        )
        return World(event.id, open_slot.id, booking.id, assignment.id, submission.id, question.id, maria.id, offer.id)


# --- the cases ------------------------------------------------------------------------------------

Send = Callable[[SlackDriver, World, str], Dispatched]


@dataclass(frozen=True)
class Case:
    kind: str  # command, button or form
    name: str
    send: Send
    allowed: frozenset[str]
    writes: frozenset[str] = NOBODY  # allowed roles whose call must change a row
    opens: frozenset[str] = NOBODY  # allowed roles whose press must open a form
    open_to_all: bool = False  # /cba-help: non-members are answered too

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


# Grammar placeholders filled with the world's objects (the examples' own numbers name nothing here).
ID_FIELDS = {
    "SLOT-ID": "open_slot",
    "BOOKING-ID": "booking",
    "ASSIGNMENT-ID": "assignment",
    "SUBMISSION-ID": "submission",
    "QUESTION-ID": "question",
    "EVENT-ID": "event",
}
# Usages that change the database when allowed (by the grammar's start).
WRITING_USAGES = (
    "/cba-profile set",
    "/cba-profile export",
    "/cba-slots add",
    "/cba-slots remove",
    "/cba-book SLOT-ID",
    "/cba-book cancel",
    "/cba-book waitlist",  # joining (for another coach: the entry changes) and leaving
    "/cba-homework submit",
    "/cba-homework new",
    "/cba-homework due",
    "/cba-homework grace",
    "/cba-homework withdraw",
    "/cba-homework review",
    "/cba-ask QUESTION",
    "/cba-ask anon",
    "/cba-ask resolve",
    f"{ADMIN} role",
    f"{ADMIN} cohort",
    f"{ADMIN} event add",
    f"{ADMIN} event remove",
    f"{ADMIN} event move",
    f"{ADMIN} checkin",
)
# Usages that answer with a form.
FORM_USAGES = frozenset({"/cba-profile"})
# Usages open to a role in COMMANDS where the object decides: only its asker (the participant) or an
# organiser resolves a question.
OWNERS = {"/cba-ask resolve": frozenset({"participant", "organiser"})}


def concrete_text(usage: Usage, world: World) -> str:
    """The usage's example with its IDs, member and channel replaced by the world's."""
    words = usage.example.split()
    for index, token in enumerate(usage.grammar.split()[: len(words)]):
        if token in ID_FIELDS:
            words[index] = str(getattr(world, ID_FIELDS[token]))
        elif token in ("@member", "[@coach]"):
            words[index] = f"<@{MARIA}|maria>"
        elif token == "#channel":
            words[index] = "<#C0CBA2NEW|cba2-new>"
    return " ".join(words[1:])


def _command_case(name: str, usage: Usage, open_to_all: bool) -> Case:
    def send(slack: SlackDriver, world: World, user: str) -> Dispatched:
        return slack.command(user, name, concrete_text(usage, world))

    allowed = next((roles for start, roles in OWNERS.items() if usage.grammar.startswith(start)), None)
    allowed = allowed if allowed is not None else frozenset(usage.roles)
    writes = allowed if usage.grammar.startswith(WRITING_USAGES) else NOBODY
    opens = allowed if usage.grammar in FORM_USAGES else NOBODY
    return Case("command", usage.grammar, send, allowed, writes, opens, open_to_all=open_to_all)


def _button(action_id: str, value: Callable[[World], str], allowed: frozenset[str], **kwargs: Any) -> Case:
    def send(slack: SlackDriver, world: World, user: str) -> Dispatched:
        return slack.action(user, action_id, value=value(world), channel_id=COHORT_CHANNEL)

    return Case("button", action_id, send, allowed, **kwargs)


def _form(
    callback_id: str,
    meta: Callable[[World], dict[str, Any]],
    values: dict[str, Any],
    allowed: frozenset[str],
    **kw: Any,
) -> Case:
    def send(slack: SlackDriver, world: World, user: str) -> Dispatched:
        view = {"type": "modal", "callback_id": callback_id, "private_metadata": json.dumps(meta(world))}
        return slack.submit(user, view, values)

    return Case("form", callback_id, send, allowed, **kw)


def _text(block: str, action: str, value: str) -> dict[str, Any]:
    return {block: {action: {"type": "plain_text_input", "value": value}}}


PARTICIPANT = frozenset({"participant"})
STAFF_AND_PARTICIPANT = frozenset({"participant", "coach", "organiser"})
STAFF = frozenset({"coach", "organiser"})
ORGANISER_ONLY = frozenset({"organiser"})
ANSWERERS = frozenset({"alumni", "coach", "organiser"})  # the participant asked the question: no answer of theirs

COMMAND_CASES = [
    _command_case(command.name, usage, not command.members_only) for command in COMMANDS for usage in command.usages
]
BUTTON_CASES = [
    _button(member_views.OPEN_PROFILE, lambda w: "home", ALL, opens=ALL),
    _button(member_views.ERASE_CONFIRM, lambda w: "erase", ALL, writes=ALL),
    _button(member_views.ERASE_CANCEL, lambda w: "cancel", ALL),
    _button(member_views.VIEW_PROFILE, lambda w: str(w.maria), ALL),
    _button("cba_directory_next", lambda w: json.dumps({"q": "funding", "p": 1}), ALL),
    _button("cba_directory_previous", lambda w: json.dumps({"q": "funding", "p": 0}), ALL),
    _button(event_views.RSVP_YES, lambda w: str(w.event), PARTICIPANT, writes=PARTICIPANT),
    _button(event_views.RSVP_NO, lambda w: str(w.event), PARTICIPANT, opens=PARTICIPANT),
    _button(event_views.CHECKIN, lambda w: str(w.event), PARTICIPANT, writes=PARTICIPANT),
    _button(f"{coaching_views.BOOK_ACTION}_1", lambda w: str(w.open_slot), PARTICIPANT, writes=PARTICIPANT),
    _button(f"{coaching_views.PAGE_ACTION}_next", lambda w: "1", PARTICIPANT),
    _button(coaching_views.JOIN_WAITLIST_ACTION, lambda w: "any", PARTICIPANT, writes=PARTICIPANT),
    _button(coaching_views.DECLINE_OFFER_ACTION, lambda w: str(w.offer), PARTICIPANT, writes=PARTICIPANT),
    _button(
        f"{coaching_views.CANCEL_ACTION}_1",
        lambda w: str(w.booking),
        STAFF_AND_PARTICIPANT,
        writes=STAFF_AND_PARTICIPANT,
    ),
    _button(
        f"{coaching_views.FOLD_ACTION}_0",
        lambda w: json.dumps({"d": "2026-12-03", "t": "10:00", "m": 45, "n": 1, "f": 0}),
        frozenset({"coach"}),
        writes=frozenset({"coach"}),
    ),
    _button(homework_views.SUBMIT_ACTION, lambda w: str(w.assignment), PARTICIPANT, opens=PARTICIPANT),
    _button(f"{homework_views.PAGE_ACTION}_next", lambda w: "1", STAFF_AND_PARTICIPANT),
    _button(question_views.ANSWER_ACTION, lambda w: str(w.question), ALL, opens=ANSWERERS),
    _button(
        question_views.RESOLVE_ACTION,
        lambda w: str(w.question),
        OWNERS["/cba-ask resolve"],
        writes=OWNERS["/cba-ask resolve"],
    ),
    _button(question_views.PAGE_NEXT_ACTION, lambda w: json.dumps({"v": "list", "p": 1, "q": ""}), ALL),
    _button(question_views.PAGE_PREVIOUS_ACTION, lambda w: json.dumps({"v": "list", "p": 0, "q": ""}), ALL),
    _button("report_page_next", lambda w: json.dumps({"c": COHORT, "p": 1}), frozenset({"organiser"})),
    _button(home_views.BOOK_ACTION, lambda w: "0", PARTICIPANT),
    _button(event_views.LIST_NEXT, lambda w: json.dumps({"c": COHORT, "o": 0}), ORGANISER_ONLY),
    _button(homework_views.STATUS_NEXT, lambda w: json.dumps({"a": w.assignment, "o": 0}), STAFF),
    _button(homework_views.OVERVIEW_NEXT, lambda w: json.dumps({"o": 0}), STAFF),
    _button(DELIVERIES_NEXT, lambda w: json.dumps({"o": 0}), ORGANISER_ONLY),
    _button(coaching_views.SLOTS_NEXT, lambda w: json.dumps({"o": 0}), frozenset({"coach"})),
    _button(coaching_views.MINE_NEXT, lambda w: json.dumps({"o": 0}), frozenset({"participant", "coach"})),
    _button(homework_views.FEEDBACK_NEXT, lambda w: json.dumps({"s": w.submission, "o": 0}), STAFF_AND_PARTICIPANT),
    _button(home_views.ASK_ACTION, lambda w: "home", ALL, opens=ALL),
]
FORM_CASES = [
    _form(
        member_views.PROFILE_MODAL,
        lambda w: {"channel_id": COHORT_CHANNEL},
        _text("region", member_views.VALUE, "Piedmont"),
        ALL,
        writes=ALL,
    ),
    _form(
        event_views.DECLINE_CALLBACK,
        lambda w: {"event_id": w.event, "channel_id": COHORT_CHANNEL},
        _text(event_views.REASON_BLOCK, event_views.REASON_ACTION, "A board meeting"),
        PARTICIPANT,
        writes=PARTICIPANT,
    ),
    _form(
        homework_views.MODAL_CALLBACK,
        lambda w: {"assignment_id": w.assignment, "channel_id": COHORT_CHANNEL},
        _text(homework_views.TEXT_BLOCK, homework_views.TEXT_ACTION, "Version two of my plan"),
        PARTICIPANT,
        writes=PARTICIPANT,
    ),
    _form(
        question_views.ANSWER_VIEW,
        lambda w: {"question_id": w.question, "channel_id": COHORT_CHANNEL},
        _text(question_views.ANSWER_BLOCK, question_views.ANSWER_INPUT, "Regional funds and membership fees."),
        ALL,
        writes=ANSWERERS,
    ),
    _form(
        home_views.ASK_MODAL,
        lambda w: {},
        _text(home_views.QUESTION_BLOCK, home_views.QUESTION_INPUT, "How do clusters share staff between them?"),
        ALL,
        writes=ALL,
    ),
]
CASES = COMMAND_CASES + BUTTON_CASES + FORM_CASES
ALLOWED = [(case, role) for case in CASES for role in sorted(case.allowed)]


# --- what the caller was told -----------------------------------------------------------------------


def told(fake: FakeSlack, answer: Dispatched, since: int) -> str:
    """The acknowledgement's text, and what the outbox sent the caller after it (a button's or form's answer)."""
    texts = [answer.text]
    for call in fake.calls[since:]:
        if call.method in ("response_url", "chat.postEphemeral", "chat.postMessage") and call.args.get("text"):
            texts.append(str(call.args["text"]))
    return "\n".join(texts)


def call(slack: SlackDriver, fake: FakeSlack, case: Case, world: World, user: str) -> tuple[Dispatched, str, int]:
    since = len(fake.calls)
    answer = case.send(slack, world, user)
    slack.settle()
    assert answer.status == 200, f"{case} by {user}: HTTP {answer.status}"
    return answer, told(fake, answer, since), since


def assert_not_registered(text: str) -> None:
    assert "You are not registered in the Cluster Booster Academy yet" in text
    # Whom to ask: the organisers by configuration and by role grant, by mention.
    assert f"<@{ORGANISER}>" in text
    assert f"<@{ROLES['organiser']}>" in text


# --- the matrix -----------------------------------------------------------------------------------


def test_every_registered_listener_has_a_case() -> None:
    registry = build_registry()
    assert {command.name for command in COMMANDS} == set(registry.commands) | {ADMIN}
    buttons = [case.name for case in BUTTON_CASES]
    for matcher, _handler in registry.actions:
        pattern = matcher if isinstance(matcher, re.Pattern) else re.compile(re.escape(matcher) + "$")
        assert any(pattern.match(name) for name in buttons), f"no matrix case for the button {matcher}"
    for name in buttons:
        assert any(
            matcher.match(name) if isinstance(matcher, re.Pattern) else matcher == name
            for matcher, _h in registry.actions
        ), f"{name} is not a registered button"
    assert sorted(case.name for case in FORM_CASES) == sorted(callback for callback, _h in registry.views)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_refusals_name_the_role_or_whom_to_ask_and_change_nothing(
    slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: World, case: Case
) -> None:
    """Each caller who may not: non-members first, then each role the call is not for, in one world."""
    callers = [(who, slack_id, True) for who, slack_id in NON_MEMBERS.items()]
    callers += [(role, ROLES[role], False) for role in sorted(set(ROLES) - case.allowed)]
    before = database_snapshot(sessions)
    for who, user, non_member in callers:
        answer, text, since = call(slack, fake_slack, case, world, user)
        assert APOLOGY not in text, f"{case} by {who}: {text}"
        if non_member and case.open_to_all:
            assert_not_registered(text)
            assert answer.json.get("response_type") == "ephemeral"
        elif non_member:
            assert_not_registered(text)
            assert "You need to be" not in text
        else:
            refused = REFUSED.search(text)
            assert refused, f"{case} must be refused to {who}, who was told: {text}"
            assert set(refused["roles"].split(" or ")) & case.allowed, f"{case}: the refusal names {refused['roles']}"
        if case.kind != "command":  # a refused button or form opens nothing
            assert not [c for c in fake_slack.calls[since:] if c.method in ("views.open", "views.push")]
        assert database_snapshot(sessions) == before, f"{case} by {who} changed the database"


@pytest.mark.parametrize(("case", "role"), ALLOWED, ids=[f"{case} as {role}" for case, role in ALLOWED])
def test_allowed_calls_do_what_they_say(
    slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: World, case: Case, role: str
) -> None:
    before = database_snapshot(sessions)
    _answer, text, since = call(slack, fake_slack, case, world, ROLES[role])
    assert APOLOGY not in text, f"{case} as {role}: {text}"
    assert "You need to be" not in text, f"{case} is for {role}, who was told: {text}"
    assert "not registered" not in text
    if role in case.writes:
        assert database_snapshot(sessions) != before, f"{case} as {role} changed nothing: {text}"
    if role in case.opens:
        assert [c for c in fake_slack.calls[since:] if c.method == "views.open"], f"{case} as {role}: no form"


def test_a_non_member_asking_any_command_for_help_is_told_whom_to_ask(
    slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], world: World
) -> None:
    before = database_snapshot(sessions)
    for command in COMMANDS:
        for user in NON_MEMBERS.values():
            text = slack.command(user, command.name, "help").text
            assert_not_registered(text)
            assert "Usage of" not in text
    assert database_snapshot(sessions) == before


def test_a_configured_organiser_without_a_member_row_is_served_and_stored_once(
    slack: SlackDriver, sessions: sessionmaker[Session], world: World
) -> None:
    """CBA_ORGANISERS bootstraps the first organiser: no role grant, no row, yet everything is theirs."""
    assert "CBA2" in slack.command(ORGANISER, ADMIN, "events").text
    slack.command(ORGANISER, "/cba-profile", "set region Flanders")
    snapshot = database_snapshot(sessions)
    organisers = [row for row in snapshot["members"] if ORGANISER in row]
    assert len(organisers) == 1
    assert "Flanders" in organisers[0]
