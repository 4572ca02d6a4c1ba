"""`cba-bot console`: a make-believe Slack in the terminal, to try the bot without a Slack account.

The real app (middleware, listeners, signature check) runs against an in-process FakeSlack. The
console plays the Slack client: it signs and dispatches what typing and clicking would send, then
prints what the user would see: acknowledgements, ephemeral answers, messages, modals, App Home.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import build
from bot.console.driver import Dispatched, SlackDriver
from bot.console.fakeslack import Call, FakeSlack
from bot.console.render import (
    Choice,
    JsonDict,
    Style,
    initial_text,
    options_of,
    render_message,
    render_view,
    text_of,
)
from bot.kernel.deps import Deps
from bot.kernel.settings import Settings
from commands.common.demo_cast import ALUMNI_COHORT, CURRENT_COHORT, QUESTIONS_CHANNEL
from storage.db import make_engine, make_sessionmaker
from storage.models import Cohort, Member, RoleGrant

GENERAL = "C0GENERAL"
TOKEN = "xoxb-console"
BOT_NAME = "CBA Bot"
CONSOLE_USER = ("U0CONSOLE1", "Console User")
# Typed IDs look like U0DEMOPA01: upper case with a digit, so a name such as "Ulrich" is never taken for one.
_USER_ID = re.compile(r"^[UW](?=[A-Z0-9]*\d)[A-Z0-9]{4,}$")

Extend = Callable[[App, Deps], None]

HELP = """\
Console commands:
  /cba-COMMAND [TEXT]   send a slash command to the bot, e.g. /cba-help
  1, 2, ...             press a numbered button of the latest answer
  /home                 open your App Home tab
  /as NAME              become someone else (a name, part of one, or a Slack ID)
  /who                  list the people you can be
  /help-console         this help
  /quit                 leave (Ctrl-D works too)
In a modal, answer each field in turn: Enter keeps the value shown, - clears an optional field,
/cancel closes the modal.
"only you see this" marks private answers; "#channel" posts are seen by everyone in the channel."""


# --- the console's entry point -----------------------------------------------------------------


def run_console(
    settings: Settings,
    *,
    as_name: str | None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    extend: Extend | None = None,
) -> int:
    """Run the console until /quit or end of input; returns the exit status.

    `extend(app, deps)` runs right after the app is built: the seam where tests (and local
    experiments) add their own listeners to the very app the console drives.
    """
    secret = secrets.token_hex(16)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    fake = FakeSlack().start()
    bolt_log = logging.getLogger("slack_bolt")
    bolt_level = bolt_log.level
    # Bolt explains unhandled requests with code samples on stderr; the console says it in one line.
    bolt_log.setLevel(logging.ERROR)
    bot = None
    try:
        people = load_people(sessions, settings.organisers)
        channels = load_channels(sessions, settings)
        seed_fake(fake, people, channels)
        organisers = settings.organisers
        if not any("organiser" in person.roles for person in people):
            # Nobody organises yet (no demo loaded): the console's own user does, by configuration, since
            # without a role every command but /cba-help is refused (SPEC 3, Membership).
            organisers = organisers | {CONSOLE_USER[0]}
        console_settings = replace(
            settings,
            organisers=organisers,
            slack_api_url=fake.url,
            slack_bot_token=TOKEN,
            slack_signing_secret=secret,
            # The demo's ask-alumni channel, unless one is configured.
            questions_channel=settings.questions_channel or QUESTIONS_CHANNEL,
        )
        bot = build(console_settings, client=WebClient(token=TOKEN, base_url=fake.url), sessions=sessions)
        if extend is not None:
            extend(bot.app, bot.deps)
        driver = SlackDriver(bot.app, bot.deps, secret, fake=fake)
        terminal = Terminal.over(stdin, stdout)
        return Console(fake, driver, sessions, console_settings, terminal, people, channels).run(as_name)
    finally:
        if bot is not None and bot.deps.courier is not None:
            bot.deps.courier.stop()
        fake.stop()
        engine.dispose()
        bolt_log.setLevel(bolt_level)


# --- people and channels -----------------------------------------------------------------------


@dataclass
class Person:
    slack_id: str
    name: str
    roles: frozenset[str] = frozenset()
    email: str | None = None
    tz: str | None = None

    @property
    def handle(self) -> str:
        """The prompt's name: `anna.berg`."""
        return ".".join(self.name.lower().split()) or self.slack_id.lower()


def load_people(sessions: sessionmaker[Session], organisers: frozenset[str]) -> list[Person]:
    """Every member with a Slack ID, oldest first, with their roles."""
    with sessions() as session:
        rows = session.execute(
            select(Member.id, Member.slack_id, Member.name, Member.email, Member.tz)
            .where(Member.slack_id.is_not(None))
            .order_by(Member.id)
        ).all()
        grants = session.execute(select(RoleGrant.member_id, RoleGrant.role)).all()
    roles: dict[int, set[str]] = {}
    for member_id, role in grants:
        roles.setdefault(member_id, set()).add(role)
    people = []
    for member_id, slack_id, name, email, tz in rows:
        slack_id = str(slack_id)
        held = roles.get(member_id, set()) | ({"organiser"} if slack_id in organisers else set())
        people.append(Person(slack_id, str(name or slack_id), frozenset(held), email, tz))
    return people


def load_channels(sessions: sessionmaker[Session], settings: Settings) -> dict[str, str]:
    """Channel ID -> name: #general, the demo's channels, and every cohort's channel."""
    channels = {
        GENERAL: "general",
        CURRENT_COHORT[2]: CURRENT_COHORT[0].lower(),
        ALUMNI_COHORT[2]: ALUMNI_COHORT[0].lower(),
        QUESTIONS_CHANNEL: "ask-alumni",
    }
    if settings.questions_channel:
        channels.setdefault(settings.questions_channel, "questions")
    with sessions() as session:
        for code, channel_id in session.execute(select(Cohort.code, Cohort.channel_id)):
            if channel_id:
                channels.setdefault(channel_id, str(code).lower())
    return channels


def seed_fake(fake: FakeSlack, people: Iterable[Person], channels: Mapping[str, str]) -> None:
    for person in people:
        register(fake, person)
    for channel_id, name in channels.items():
        fake.add_channel(channel_id, name)


def register(fake: FakeSlack, person: Person) -> None:
    fake.add_user(person.slack_id, person.name, email=person.email, tz=person.tz or "Europe/Brussels")


def match_ids(query: str, names: Mapping[str, str]) -> list[str]:
    """IDs whose ID or name fits `query`: exact ID, exact name, a word's prefix, then any substring."""
    wanted = query.strip().lstrip("@#").lower()
    if not wanted:
        return []
    for ident in names:
        if ident.lower() == wanted:
            return [ident]
    lowered = {ident: name.lower() for ident, name in names.items()}
    tests: tuple[Callable[[str], bool], ...] = (
        lambda name: name == wanted,
        lambda name: any(word.startswith(wanted) for word in (name, *name.split())),
        lambda name: wanted in name,
    )
    for test in tests:
        found = [ident for ident, name in lowered.items() if test(name)]
        if found:
            return found
    return []


# --- modal fields ------------------------------------------------------------------------------

# Where each input element keeps its value in a view_submission's state.
STATE_KEYS = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
    "rich_text_input": "rich_text_value",
    "static_select": "selected_option",
    "radio_buttons": "selected_option",
    "external_select": "selected_option",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "checkboxes": "selected_options",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
}
# These need Slack to fetch options or files from elsewhere: sent as left empty.
UNFILLABLE = frozenset({"external_select", "multi_external_select", "file_input"})
ONE_OPTION = frozenset({"static_select", "radio_buttons"})
MANY_OPTIONS = frozenset({"multi_static_select", "checkboxes"})
FORMATS = {
    "plain_text_input": "text",
    "email_text_input": "an email address",
    "url_text_input": "a URL",
    "number_input": "a number",
    "rich_text_input": "text",
    "static_select": "a number",
    "radio_buttons": "a number",
    "multi_static_select": "numbers, comma-separated",
    "checkboxes": "numbers, comma-separated",
    "datepicker": "YYYY-MM-DD",
    "timepicker": "HH:MM",
    "datetimepicker": "YYYY-MM-DD HH:MM",
    "users_select": "a name or Slack ID",
    "multi_users_select": "names or Slack IDs, comma-separated",
    "conversations_select": "a channel",
    "multi_conversations_select": "channels, comma-separated",
    "channels_select": "a channel",
    "multi_channels_select": "channels, comma-separated",
}


@dataclass(frozen=True)
class Field:
    """One input block of a modal."""

    block_id: str
    action_id: str
    element: JsonDict
    label: str
    hint: str
    optional: bool

    @property
    def kind(self) -> str:
        return str(self.element.get("type"))

    @property
    def key(self) -> tuple[str, str]:
        return (self.block_id, self.action_id)


@dataclass(frozen=True)
class Lookup:
    """What typed names resolve against."""

    users: Mapping[str, str]
    channels: Mapping[str, str]
    zone: ZoneInfo


Answers = dict[tuple[str, str], JsonDict]


def form_fields(view: JsonDict, names: Mapping[str, str]) -> list[Field]:
    fields = []
    for index, block in enumerate(view.get("blocks") or []):
        if not isinstance(block, dict) or block.get("type") != "input" or not isinstance(block.get("element"), dict):
            continue
        element = block["element"]
        fields.append(
            Field(
                # Slack makes up IDs that were left out; stable ones keep re-asked fields apart.
                block_id=str(block.get("block_id") or f"block{index}"),
                action_id=str(element.get("action_id") or f"action{index}"),
                element=element,
                label=text_of(block.get("label"), names) or "Field",
                hint=text_of(block.get("hint"), names),
                optional=bool(block.get("optional")),
            )
        )
    return fields


def empty_entry(item: Field) -> JsonDict:
    """A field's state as Slack sends it when nothing was entered."""
    entry: JsonDict = {"type": item.kind}
    key = STATE_KEYS.get(item.kind)
    if key is not None:
        entry[key] = [] if key.endswith("s") else None
    return entry


def initial_entry(item: Field) -> JsonDict:
    entry = empty_entry(item)
    key = STATE_KEYS.get(item.kind)
    if key is None:
        return entry
    initial_key = "initial_value" if key in ("value", "rich_text_value") else key.replace("selected_", "initial_")
    if item.element.get(initial_key) not in (None, "", []):
        entry[key] = item.element[initial_key]
    return entry


def is_empty(entry: JsonDict) -> bool:
    return all(value in (None, "", []) for name, value in entry.items() if name != "type")


def state_values(fields: Sequence[Field], answers: Answers) -> dict[str, dict[str, JsonDict]]:
    """`values[block_id][action_id]`, exactly as in Slack's view.state."""
    values: dict[str, dict[str, JsonDict]] = {}
    for item in fields:
        values.setdefault(item.block_id, {})[item.action_id] = answers.get(item.key) or empty_entry(item)
    return values


def describe(entry: JsonDict, names: Mapping[str, str]) -> str:
    """An entered value as words, to show as the default."""
    parts: list[str] = []
    for name, value in entry.items():
        if name == "type" or value in (None, "", []):
            continue
        items = value if isinstance(value, list) else [value]
        parts += [_describe_one(name, item, names) for item in items]
    return ", ".join(parts)


def _describe_one(name: str, value: Any, names: Mapping[str, str]) -> str:
    if isinstance(value, dict) and "text" in value:
        return text_of(value.get("text"), names)
    if name == "rich_text_value":
        return _rich_plain(value)
    if name == "selected_date_time":
        return datetime.fromtimestamp(int(value)).strftime("%Y-%m-%d %H:%M")
    return names.get(str(value), str(value))


def answer_field(item: Field, current: JsonDict, text: str, lookup: Lookup) -> JsonDict:
    """The field's new state from what was typed; ValueError says what is wrong with it."""
    if text == "":
        if is_empty(current) and not item.optional:
            raise ValueError("This field is required.")
        return current
    if text == "-":
        if not item.optional:
            raise ValueError("This field is required; it cannot be cleared.")
        return empty_entry(item)
    key = STATE_KEYS.get(item.kind)
    parse = _PARSERS.get(item.kind)
    if key is None or parse is None:
        raise ValueError(f"The console cannot fill a {item.kind}.")
    return {**empty_entry(item), key: parse(item.element, text, lookup)}


def _text(element: JsonDict, text: str, _lookup: Lookup) -> str:
    value = text.replace("\\n", "\n") if element.get("multiline") else text
    low, high = element.get("min_length"), element.get("max_length")
    if isinstance(low, int) and len(value) < low:
        raise ValueError(f"At least {low} characters, please.")
    if isinstance(high, int) and len(value) > high:
        raise ValueError(f"At most {high} characters, please.")
    return value


def _email(element: JsonDict, text: str, lookup: Lookup) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
        raise ValueError("That is not an email address.")
    return text


def _url(element: JsonDict, text: str, lookup: Lookup) -> str:
    if not re.match(r"^https?://\S+$", text):
        raise ValueError("A URL starts with http:// or https://.")
    return text


def _number(element: JsonDict, text: str, _lookup: Lookup) -> str:
    decimal = bool(element.get("is_decimal_allowed"))
    try:
        number = float(text) if decimal else float(int(text))
    except ValueError:
        raise ValueError(f"Enter {'a number' if decimal else 'a whole number'}.") from None
    low, high = element.get("min_value"), element.get("max_value")
    if low not in (None, "") and number < float(low):
        raise ValueError(f"At least {low}, please.")
    if high not in (None, "") and number > float(high):
        raise ValueError(f"At most {high}, please.")
    return text


def _pick(options: Sequence[JsonDict], part: str) -> JsonDict:
    part = part.strip()
    if part.isdecimal() and 1 <= int(part) <= len(options):
        return options[int(part) - 1]
    for option in options:
        if str((option.get("text") or {}).get("text", "")).lower() == part.lower():
            return option
    raise ValueError(f"Choose a number from 1 to {len(options)}.")


def _one_option(element: JsonDict, text: str, _lookup: Lookup) -> JsonDict:
    return _pick(options_of(element), text)


def _many_options(element: JsonDict, text: str, _lookup: Lookup) -> list[JsonDict]:
    picked = [_pick(options_of(element), part) for part in text.split(",") if part.strip()]
    limit = element.get("max_selected_items")
    if isinstance(limit, int) and len(picked) > limit:
        raise ValueError(f"Choose at most {limit}.")
    return list({id(option): option for option in picked}.values())


def _date(_element: JsonDict, text: str, _lookup: Lookup) -> str:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError("Enter a date as YYYY-MM-DD, e.g. 2026-12-03.") from None


def _time(_element: JsonDict, text: str, _lookup: Lookup) -> str:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError("Enter a time as HH:MM, e.g. 09:30.")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _date_time(_element: JsonDict, text: str, lookup: Lookup) -> int:
    day, _, clock = text.partition(" ")
    parsed_day, parsed_time = _date(_element, day, lookup), _time(_element, clock.strip(), lookup)
    moment = datetime.fromisoformat(f"{parsed_day}T{parsed_time}").replace(tzinfo=lookup.zone)
    return int(moment.timestamp())


def _one_id(query: str, names: Mapping[str, str], what: str) -> str:
    found = match_ids(query, names)
    if len(found) == 1:
        return found[0]
    if found:
        raise ValueError(f"'{query}' could be {', '.join(names[i] for i in found[:5])}: be more specific.")
    raise ValueError(f"No {what} called '{query}'.")


def _user(_element: JsonDict, text: str, lookup: Lookup) -> str:
    return _one_id(text, lookup.users, "one")


def _users(_element: JsonDict, text: str, lookup: Lookup) -> list[str]:
    return [_one_id(part, lookup.users, "one") for part in text.split(",") if part.strip()]


def _channel(_element: JsonDict, text: str, lookup: Lookup) -> str:
    return _one_id(text, lookup.channels, "channel")


def _channels(_element: JsonDict, text: str, lookup: Lookup) -> list[str]:
    return [_one_id(part, lookup.channels, "channel") for part in text.split(",") if part.strip()]


def _rich(_element: JsonDict, text: str, _lookup: Lookup) -> JsonDict:
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return {"type": "rich_text", "elements": [section]}


def _rich_plain(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("text") or "") + "".join(_rich_plain(e) for e in value.get("elements") or [])
    return ""


_PARSERS: dict[str, Callable[[JsonDict, str, Lookup], Any]] = {
    "plain_text_input": _text,
    "email_text_input": _email,
    "url_text_input": _url,
    "number_input": _number,
    "rich_text_input": _rich,
    "static_select": _one_option,
    "radio_buttons": _one_option,
    "multi_static_select": _many_options,
    "checkboxes": _many_options,
    "datepicker": _date,
    "timepicker": _time,
    "datetimepicker": _date_time,
    "users_select": _user,
    "multi_users_select": _users,
    "conversations_select": _channel,
    "multi_conversations_select": _channels,
    "channels_select": _channel,
    "multi_channels_select": _channels,
}


# --- the terminal ------------------------------------------------------------------------------


class EndOfInput(Exception):
    """Ctrl-D, or the end of piped input."""


class Cancelled(Exception):
    """`/cancel` typed while filling a modal: like pressing its Cancel button."""


@dataclass
class Terminal:
    stdin: TextIO
    stdout: TextIO
    style: Style
    # Piped input is not echoed by a terminal; writing it back keeps transcripts readable.
    echo: bool

    @classmethod
    def over(cls, stdin: TextIO, stdout: TextIO) -> Terminal:
        color = _isatty(stdout) and not os.environ.get("NO_COLOR")
        return cls(stdin, stdout, Style(color=color), echo=not _isatty(stdin))

    def say(self, *lines: str) -> None:
        for line in lines:
            self.stdout.write(line + "\n")
        self.stdout.flush()

    def ask(self, prompt: str) -> str:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            self.say("")
            raise EndOfInput
        line = line.rstrip("\r\n")
        if self.echo:
            self.say(line)
        return line


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# --- what is on screen -------------------------------------------------------------------------


@dataclass
class Target:
    """Where a numbered choice was shown: a message (channel, ts) or a view (modal, App Home)."""

    channel: str | None = None
    ts: str = ""
    text: str = ""
    blocks: list[JsonDict] = field(default_factory=list)
    ephemeral: bool = False
    view: JsonDict | None = None


@dataclass
class Surface:
    """Something the bot made appear. Without a target it is someone else's: shown, not pressable."""

    heading: str
    text: str = ""
    blocks: list[JsonDict] = field(default_factory=list)
    view: JsonDict | None = None
    target: Target | None = None


def _blocks(value: Any) -> list[JsonDict]:
    return [block for block in value if isinstance(block, dict)] if isinstance(value, list) else []


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _made_up_ts() -> str:
    # Ephemeral answers have no ts of their own in the console; Slack's are time based too.
    return f"{time.time():.6f}"


# --- the console -------------------------------------------------------------------------------


class Console:
    def __init__(
        self,
        fake: FakeSlack,
        driver: SlackDriver,
        sessions: sessionmaker[Session],
        settings: Settings,
        terminal: Terminal,
        people: list[Person],
        channels: dict[str, str],
    ) -> None:
        self.fake = fake
        self.driver = driver
        self.sessions = sessions
        self.settings = settings
        self.term = terminal
        self.style = terminal.style
        self.people = {person.slack_id: person for person in people}
        self.channels = channels
        self.user = Person(*CONSOLE_USER)
        self.seen = len(fake.calls)
        self.choices: dict[int, tuple[Choice, Target]] = {}
        self.step: dict[int, tuple[Choice, Target]] = {}
        self.modals: list[JsonDict] = []
        self.answers: dict[str, Answers] = {}
        self.response_channels: dict[str, str] = {}
        self.home_mode = False
        self.pushed_ids = itertools.count(1)
        self.commands: dict[str, Callable[[str], None]] = {
            "/as": self.become,
            "/who": self.who,
            "/home": self.open_home,
            "/help-console": lambda _arg: self.term.say(HELP),
        }

    # ---- the loop ----

    def run(self, as_name: str | None) -> int:
        self.user = self.starting_user(as_name)
        self.term.say(
            "CBA Bot console: a make-believe Slack workspace in your terminal; nothing reaches real Slack.",
            f"You are {self.describe_person(self.user)}. Try /cba-help, or /help-console for the console.",
        )
        while True:
            try:
                line = self.term.ask(f"{self.user.handle}> ")
                if not self.handle(line.strip()):
                    return 0
            except EndOfInput:
                return 0

    def handle(self, line: str) -> bool:
        """One line typed at the prompt; False to leave."""
        if line in ("/quit", "/exit"):
            return False
        self.step = {}
        try:
            self.interpret(line)
            while self.modals:
                self.modal_round()
        except EndOfInput:
            raise
        except Exception as exc:  # a console bug must not end the session
            logging.getLogger(__name__).debug("console step failed", exc_info=exc)
            self.term.say(f"(the console stumbled: {type(exc).__name__}: {exc})")
        if self.step:
            self.choices = self.step
        return True

    def interpret(self, line: str) -> None:
        word, _, rest = line.partition(" ")
        if not line:
            return
        if word in self.commands:
            self.commands[word](rest.strip())
        elif word.lower().startswith("/cba-"):
            self.slash(word.lower(), rest.strip())
        elif line.isdecimal():
            self.press_number(int(line))
        elif word.startswith("/"):
            self.term.say(f"{word} is not a command here: bot commands start with /cba-; see /help-console.")
        else:
            self.term.say("Type a /cba- command, a button number, or /help-console (chat is not simulated).")

    # ---- people ----

    def starting_user(self, as_name: str | None) -> Person:
        if as_name:
            found = self.find_person(as_name)
            if found is not None:
                return found
        organiser = next((p for p in self.people.values() if "organiser" in p.roles), None)
        if organiser is not None:
            return organiser
        roles = frozenset({"organiser"}) if CONSOLE_USER[0] in self.settings.organisers else frozenset()
        person = Person(*CONSOLE_USER, roles=roles)
        self.add_person(person)
        return person

    def find_person(self, query: str) -> Person | None:
        """The one person `query` names, else None after saying why."""
        self.refresh_people()
        found = match_ids(query, {p.slack_id: p.name for p in self.people.values()})
        if len(found) == 1:
            return self.people[found[0]]
        if found:
            names = ", ".join(self.people[i].name for i in found[:6])
            self.term.say(f"'{query}' could be {names}: be more specific.")
            return None
        if _USER_ID.match(query):
            person = Person(query, query)
            self.add_person(person)
            return person
        self.term.say(f"No one called '{query}'; /who lists the people you can be.")
        return None

    def refresh_people(self) -> None:
        """The bot adds members as they show up; pick them up, and tell the fake about them."""
        for person in load_people(self.sessions, self.settings.organisers):
            if person.slack_id not in self.people:
                self.add_person(person)
            else:
                known = self.people[person.slack_id]
                if person.name == person.slack_id:  # stored without a name yet (Slack's name comes on a tick)
                    person = replace(person, name=known.name)
                self.people[person.slack_id] = person

    def add_person(self, person: Person) -> None:
        self.people[person.slack_id] = person
        register(self.fake, person)

    def become(self, query: str) -> None:
        if not query:
            self.term.say("Usage: /as NAME (see /who).")
            return
        found = self.find_person(query)
        if found is not None:
            self.user = found
            self.choices = {}
            self.term.say(f"You are now {self.describe_person(found)}.")

    def who(self, _arg: str) -> None:
        self.refresh_people()
        width = max((len(p.name) for p in self.people.values()), default=0)
        self.term.say("People you can be (/as NAME):")
        for person in self.people.values():
            mark = "*" if person.slack_id == self.user.slack_id else " "
            roles = ", ".join(sorted(person.roles)) or "no role"
            self.term.say(f" {mark} {person.name:<{width}}  {person.slack_id:<11}  {roles}")

    def describe_person(self, person: Person) -> str:
        return f"{person.name} ({person.slack_id}; {', '.join(sorted(person.roles)) or 'no role'})"

    @property
    def names(self) -> dict[str, str]:
        """IDs to names, for rendering mentions."""
        users = {ident: person.name for ident, person in self.people.items()}
        return {**self.channels, **users, self.fake.bot_user_id: BOT_NAME}

    def lookup(self) -> Lookup:
        try:
            zone = ZoneInfo(self.user.tz) if self.user.tz else self.settings.zone
        except (ZoneInfoNotFoundError, ValueError):
            zone = self.settings.zone
        return Lookup({i: p.name for i, p in self.people.items()}, self.channels, zone)

    # ---- sending ----

    def slash(self, command: str, text: str) -> None:
        response_url = self.response_url(GENERAL)
        dispatched = self.driver.command(
            self.user.slack_id, command, text, response_url=response_url, user_name=self.user.handle
        )
        if self.accepted(dispatched, command):
            self.show_ack(dispatched, command)
        self.show_calls()

    def press_number(self, number: int) -> None:
        if number not in self.choices:
            self.term.say(f"There is no button [{number}] on screen.")
            return
        choice, target = self.choices[number]
        self.press(choice, target)

    def press(self, choice: Choice, target: Target) -> None:
        if choice.url:
            self.term.say(f"(opens {choice.url} in your browser)")
            return
        if choice.confirm and not self.confirm(choice.confirm):
            self.term.say("(cancelled)")
            return
        self.term.say(self.style.dim(f"(you pressed {choice.label})"))
        kwargs: JsonDict = {"block_id": choice.block_id, "extra_action": choice.extra}
        if choice.value is not None:
            kwargs["value"] = choice.value
        if target.view is not None:
            kwargs["view"] = target.view
        else:
            message = {"type": "message", "ts": target.ts, "text": target.text, "blocks": target.blocks}
            kwargs["message"] = {**message, "is_ephemeral": target.ephemeral}
            kwargs["channel_id"] = target.channel
            kwargs["response_url"] = self.response_url(target.channel or GENERAL, message_ts=target.ts)
        dispatched = self.driver.action(self.user.slack_id, choice.action_id, **kwargs)
        self.accepted(dispatched, f"the button '{choice.label}'")
        self.show_calls()

    def confirm(self, dialog: JsonDict) -> bool:
        names = self.names
        title = text_of(dialog.get("title"), names) or "Are you sure?"
        self.term.say(title, text_of(dialog.get("text"), names))
        answer = self.term.ask(f"{text_of(dialog.get('confirm'), names) or 'Confirm'}? [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    def open_home(self, _arg: str) -> None:
        me = self.user.slack_id
        event: JsonDict = {
            "type": "app_home_opened",
            "user": me,
            "channel": self.fake.dm_channel(me),
            "tab": "home",
            "event_ts": _made_up_ts(),
        }
        if me in self.fake.home:
            event["view"] = self.fake.home[me]
        handled = self.driver.event(event).status != 404
        self.home_mode = True
        try:
            self.show_calls()
        finally:
            self.home_mode = False
        self.pushed_ids = itertools.count(1)
        view = self.fake.home.get(me)
        if view is None:
            why = "has not published one for you" if handled else "does not handle app_home_opened"
            self.term.say(f"(no App Home: the bot {why})")
            return
        self.show(Surface("your App Home (only you see it)", view=view, target=Target(view=view)))

    def response_url(self, channel: str, *, message_ts: str | None = None) -> str:
        url = self.fake.new_response_url(channel=channel, user=self.user.slack_id, message_ts=message_ts)
        self.response_channels[url.rsplit("/", 1)[-1]] = channel
        return url

    def accepted(self, dispatched: Dispatched, what: str) -> bool:
        """Whether the app took the request; says so when it did not."""
        if dispatched.status == 404:
            self.term.say(f"(the app does not handle {what})")
        elif dispatched.status >= 400:
            self.term.say(f"(the app answered {what} with HTTP {dispatched.status})")
        return dispatched.status < 400

    # ---- showing ----

    def show_ack(self, dispatched: Dispatched, command: str) -> None:
        """A slash command's immediate answer, from Bolt's HTTP response."""
        if dispatched.body.startswith("{"):
            data = dispatched.json
            text, blocks = str(data.get("text") or ""), _blocks(data.get("blocks"))
            in_channel = data.get("response_type") == "in_channel"
        else:
            text, blocks, in_channel = dispatched.body, [], False
        if not text and not blocks:
            return
        heading = self.where(GENERAL, in_channel=in_channel) + f" (answer to {command})"
        target = Target(GENERAL, _made_up_ts(), text, blocks, ephemeral=not in_channel)
        self.show(Surface(heading, text, blocks, target=target))

    def show(self, surface: Surface) -> None:
        start = len(self.step) + 1
        names = self.names
        if surface.view is not None:
            lines, choices = render_view(surface.view, names, start=start, style=self.style)
        else:
            numbered = surface.target is not None
            lines, choices = render_message(
                surface.text, surface.blocks, names, start=start, numbered=numbered, style=self.style
            )
        self.term.say(self.style.bold(f"-- {surface.heading} --"), *lines)
        for choice in choices:
            if surface.target is not None:
                self.step[choice.number] = (choice, surface.target)

    def where(self, channel: str, *, in_channel: bool = True, to: str | None = None) -> str:
        """Who sees a post: the whole channel, one person, or a DM."""
        me = self.user.slack_id
        if channel.startswith("D") and channel[1:] in self.people | {me: self.user}:
            return "DM to you" if channel[1:] == me else f"DM to {self.name_of(channel[1:])} (only they see it)"
        place = "#" + self.channels.get(channel, channel)
        if to is not None or not in_channel:
            who = to or me
            return f"only you see this, in {place}" if who == me else f"only {self.name_of(who)} sees this, in {place}"
        return f"{place} (everyone in the channel sees it)"

    def name_of(self, user_id: str) -> str:
        person = self.people.get(user_id)
        return person.name if person else user_id

    def show_calls(self) -> None:
        """Everything the bot did in Slack since the last look, in order."""
        calls = self.fake.calls
        fresh, self.seen = calls[self.seen :], len(calls)
        for call in fresh:
            if call.status != 200 or call.response.get("ok") is False:
                error = call.response.get("error") or f"HTTP {call.status}"
                self.term.say(self.style.dim(f"(Slack refused {call.method}: {error})"))
                continue
            shower = self.call_shows.get(call.method)
            if shower is not None:
                shower(call)

    @property
    def call_shows(self) -> dict[str, Callable[[Call], None]]:
        return {
            "response_url": self.show_response_url,
            "chat.postMessage": self.show_post,
            "chat.postEphemeral": self.show_ephemeral,
            "chat.update": self.show_update,
            "chat.delete": self.show_delete,
            "views.open": self.track_view,
            "views.push": self.track_view,
            "views.update": self.track_view,
            "views.publish": self.show_publish,
            "files.completeUploadExternal": self.show_files,
            "reactions.add": self.show_reaction,
        }

    def show_response_url(self, call: Call) -> None:
        args = call.args
        channel = self.response_channels.get(str(args.get("url_id")), GENERAL)
        if _truthy(args.get("delete_original")):
            self.term.say(self.style.dim("(the original message was deleted)"))
            return
        in_channel = args.get("response_type") == "in_channel"
        heading = self.where(channel, in_channel=in_channel)
        if _truthy(args.get("replace_original")):
            heading += ", replacing the message"
        text, blocks = str(args.get("text") or ""), _blocks(args.get("blocks"))
        target = Target(channel, _made_up_ts(), text, blocks, ephemeral=not in_channel)
        self.show(Surface(heading, text, blocks, target=target))

    def show_post(self, call: Call) -> None:
        channel, ts = str(call.response.get("channel")), str(call.response.get("ts"))
        text, blocks = str(call.args.get("text") or ""), _blocks(call.args.get("blocks"))
        heading = self.where(channel) + (" (in a thread)" if call.args.get("thread_ts") else "")
        mine = not channel.startswith("D") or channel[1:] == self.user.slack_id
        target = Target(channel, ts, text, blocks) if mine else None
        self.show(Surface(heading, text, blocks, target=target))

    def show_ephemeral(self, call: Call) -> None:
        channel, user = str(call.args.get("channel")), str(call.args.get("user"))
        text, blocks = str(call.args.get("text") or ""), _blocks(call.args.get("blocks"))
        ts = str(call.response.get("message_ts") or _made_up_ts())
        mine = user == self.user.slack_id
        target = Target(channel, ts, text, blocks, ephemeral=True) if mine else None
        self.show(Surface(self.where(channel, to=user), text, blocks, target=target))

    def show_update(self, call: Call) -> None:
        channel, ts = str(call.response.get("channel")), str(call.response.get("ts"))
        text, blocks = str(call.args.get("text") or ""), _blocks(call.args.get("blocks"))
        mine = not channel.startswith("D") or channel[1:] == self.user.slack_id
        target = Target(channel, ts, text, blocks) if mine else None
        self.show(Surface(f"message updated: {self.where(channel)}", text, blocks, target=target))

    def show_delete(self, call: Call) -> None:
        channel = str(call.response.get("channel"))
        self.term.say(self.style.dim(f"(a message was deleted: {self.where(channel)})"))

    def show_reaction(self, call: Call) -> None:
        where = self.where(str(call.args.get("channel")))
        self.term.say(self.style.dim(f"(the bot reacted :{call.args.get('name')}: to a message: {where})"))

    def show_files(self, call: Call) -> None:
        comment = str(call.args.get("initial_comment") or "")
        for item in call.response.get("files") or []:
            channels = item.get("channels") or []
            where = self.where(str(channels[0])) if channels else "not shared"
            self.term.say(f"[file] {item.get('name')} ({item.get('size')} bytes), {where}")
        if comment:
            self.term.say(*render_message(comment, None, self.names, style=self.style)[0])

    def show_publish(self, call: Call) -> None:
        view = call.response.get("view") or {}
        user = str(call.args.get("user_id"))
        if user != self.user.slack_id:
            self.term.say(self.style.dim(f"(the App Home of {self.name_of(user)} was updated)"))
        elif not self.home_mode:
            self.show(Surface("your App Home was updated (only you see it)", view=view, target=Target(view=view)))

    def track_view(self, call: Call) -> None:
        """Modals are shown by `modal_round`; here the stack of open modals follows Slack's calls."""
        view = call.response.get("view") or {}
        if view.get("type") == "home":
            if self.fake.home.get(self.user.slack_id, {}).get("id") == view.get("id") and not self.home_mode:
                self.show(Surface("your App Home was updated", view=view, target=Target(view=view)))
            return
        if call.method == "views.open":
            self.modals = [view]
        elif call.method == "views.push":
            self.modals.append(view)
        else:
            self.modals = [view if open_view.get("id") == view.get("id") else open_view for open_view in self.modals]

    # ---- modals ----

    def modal_round(self) -> None:
        """Show the top modal, fill its fields, then submit, cancel or press one of its buttons."""
        view = self.modals[-1]
        lines, choices = render_view(view, self.names, style=self.style)
        self.term.say(self.style.bold("-- a modal is open (only you see it; /cancel closes it) --"), *lines)
        fields = form_fields(view, self.names)
        answers = self.answers.setdefault(str(view.get("id")), {})
        for item in fields:
            answers.setdefault(item.key, initial_entry(item))
        try:
            self.fill(fields, answers, {})
            self.decide(view, fields, answers, {choice.number: choice for choice in choices})
        except Cancelled:
            self.close_modal(view)
            self.term.say(self.style.dim("(modal closed)"))

    def decide(self, view: JsonDict, fields: list[Field], answers: Answers, choices: dict[int, Choice]) -> None:
        while True:
            reply = self.ask_submit(view, choices)
            if reply == "cancel":
                raise Cancelled
            if isinstance(reply, Choice):
                state = {**view, "state": {"values": state_values(fields, answers)}}
                self.press(reply, Target(view=state))
                return
            errors = self.submit(view, fields, answers)
            if not errors:
                return
            self.fill(fields, answers, errors)

    def ask_submit(self, view: JsonDict, choices: dict[int, Choice]) -> Choice | str:
        can_submit = bool(view.get("submit"))
        question = "Submit? [Y/n]" if can_submit else "Close? [Y]"
        if choices:
            question += f" (or a button number, 1-{max(choices)})"
        while True:
            reply = self.term.ask(question + " ").strip().lower()
            if reply.isdecimal() and int(reply) in choices:
                return choices[int(reply)]
            if reply in ("", "y", "yes"):
                return "submit" if can_submit else "cancel"
            if reply in ("n", "no", "/cancel"):
                return "cancel"
            self.term.say("Answer y or n" + (", or a button number." if choices else "."))

    def fill(self, fields: list[Field], answers: Answers, errors: Mapping[str, str]) -> None:
        """Ask each field (or, after a refusal, the refused ones) until its answer is acceptable."""
        asked = [item for item in fields if not errors or item.block_id in errors]
        for block_id, message in errors.items():
            if all(item.block_id != block_id for item in fields):
                self.term.say(f"! {message}")
        for item in asked:
            answers[item.key] = self.ask_field(item, answers[item.key], errors.get(item.block_id))

    def ask_field(self, item: Field, current: JsonDict, error: str | None) -> JsonDict:
        names = self.names
        self.term.say(self.style.bold(item.label) + (" (optional)" if item.optional else ""))
        if item.hint:
            self.term.say("  " + self.style.dim(item.hint))
        if error:
            self.term.say(f"  ! {error}")
        if item.kind in UNFILLABLE or item.kind not in STATE_KEYS:
            self.term.say(f"  (the console cannot fill a {item.kind}; it is sent as is)")
            return current
        if item.kind in ONE_OPTION | MANY_OPTIONS:
            for number, option in enumerate(options_of(item.element), 1):
                self.term.say(f"    {number}) {text_of(option.get('text'), names)}")
        prompt = self.field_prompt(item, current)
        while True:
            typed = self.term.ask(prompt).strip()
            if typed == "/cancel":
                raise Cancelled
            try:
                return answer_field(item, current, typed, self.lookup())
            except ValueError as exc:
                self.term.say(f"  {exc}")

    def field_prompt(self, item: Field, current: JsonDict) -> str:
        shown = describe(current, self.names) or initial_text(item.element, self.names)
        parts = [FORMATS.get(item.kind, "a value")]
        if item.element.get("multiline"):
            parts.append("\\n for a new line")
        if shown:
            parts.append(f"Enter keeps '{shown}'")
            if item.optional:
                parts.append("- clears")
        return f"  {', '.join(parts)}> "

    def submit(self, view: JsonDict, fields: list[Field], answers: Answers) -> dict[str, str]:
        """Send the modal; the field errors if the app refused them, else {} (the modal moved on)."""
        dispatched = self.driver.submit(self.user.slack_id, view, state_values(fields, answers))
        ack = dispatched.json
        errors = ack.get("errors") if ack.get("response_action") == "errors" else None
        if not self.accepted(dispatched, "this modal"):
            self.close_modal(view)
        elif isinstance(errors, dict) and errors:
            self.show_calls()
            return {str(block_id): str(message) for block_id, message in errors.items()}
        else:
            self.follow_ack(view, ack)
        self.show_calls()
        return {}

    def follow_ack(self, view: JsonDict, ack: JsonDict) -> None:
        """What a submission's response_action does to the stack of modals."""
        action = ack.get("response_action")
        new_view = ack.get("view") if isinstance(ack.get("view"), dict) else None
        if action == "update" and new_view is not None:
            self.modals[-1] = {"callback_id": "", "private_metadata": "", **new_view, "id": view.get("id")}
        elif action == "push" and new_view is not None:
            pushed_id = f"VCONSOLE{next(self.pushed_ids):04d}"
            self.modals.append({"callback_id": "", "private_metadata": "", **new_view, "id": pushed_id})
        elif action == "clear":
            self.modals.clear()
        else:
            self.close_modal(view)

    def close_modal(self, view: JsonDict) -> None:
        self.modals = [open_view for open_view in self.modals if open_view.get("id") != view.get("id")]
        self.answers.pop(str(view.get("id")), None)
