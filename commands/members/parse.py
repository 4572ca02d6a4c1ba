"""Pure readers of /cba-profile, /cba-directory and /cba-admin role text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.kernel.commands import spec
from commands.common.errors import UsageError
from commands.common.parsing import first_word, parse_user, split_words
from commands.members.fields import FieldValue, check_field, field_name, tag_key
from storage.models import ROLES

PROFILE = "/cba-profile"
DIRECTORY = "/cba-directory"
COHORT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


def profile_usage() -> str:
    return spec(PROFILE).usage_text()


def directory_usage() -> str:
    return spec(DIRECTORY).usage_text()


def admin_usage() -> str:
    return spec("/cba-admin").usage_text()


# --- /cba-profile ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EditProfile:
    """No words: open the edit modal."""


@dataclass(frozen=True)
class SetField:
    field: str
    value: FieldValue


@dataclass(frozen=True)
class ShowCard:
    slack_id: str


@dataclass(frozen=True)
class ExportMine:
    pass


@dataclass(frozen=True)
class DeleteMine:
    pass


ProfileCommand = EditProfile | SetField | ShowCard | ExportMine | DeleteMine


def profile_writes(text: str) -> bool:
    """Whether a `/cba-profile` text changes the database (`set` a field, `export` queues two messages)."""
    word, _rest = first_word(text)
    return word in ("set", "export")


def parse_profile(text: str) -> ProfileCommand:
    usage = profile_usage()
    word, rest = first_word(text)
    if not word:
        return EditProfile()
    if word == "set":
        name_word, value = first_word(rest)
        if not name_word:
            raise UsageError("Which field? `/cba-profile set FIELD VALUE`.", usage=usage)
        name = field_name(name_word, usage)
        if not value and name in ("name", "country", "visible", "questions", "capacity", "away"):
            raise UsageError(f"What should your {name} be?", usage=usage)
        raw_value = rest.strip()[len(name_word) :].strip()
        try:
            return SetField(name, check_field(name, raw_value))
        except ValueError as exc:
            raise UsageError(f"Not changed: {exc}.", usage=usage) from None
    if word in ("export", "delete") and rest:
        raise UsageError(f"`/cba-profile {word}` takes no other words.", usage=usage)
    if word == "export":
        return ExportMine()
    if word == "delete":
        return DeleteMine()
    if text.strip().startswith("<@") or re.match(r"^[UW][A-Z0-9]{2,}$", text.strip()):
        if len(split_words(text)) != 1:
            raise UsageError("Name one member: `/cba-profile @member`.", usage=usage)
        return ShowCard(parse_user(text.strip(), usage))
    raise UsageError(f"`{word}` is not something `/cba-profile` does.", usage=usage)


# --- /cba-directory ----------------------------------------------------------------------------

FILTERS = ("country", "cohort", "role", "expertise", "sector")
_FILTER_ALIASES = {"sectors": "sector", "tag": "expertise", "roles": "role"}


@dataclass(frozen=True)
class DirectoryQuery:
    words: tuple[str, ...] = ()
    country: str | None = None
    cohort: str | None = None
    role: str | None = None
    expertise: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    text: str = field(default="", compare=False)

    @property
    def is_empty(self) -> bool:
        return not (self.words or self.country or self.cohort or self.role or self.expertise or self.sectors)


def parse_directory(text: str) -> DirectoryQuery:
    from commands.members.fields import parse_country, words

    usage = directory_usage()
    found_words: list[str] = []
    country: str | None = None
    role: str | None = None
    cohort: str | None = None
    expertise: list[str] = []
    sectors: list[str] = []
    for token in split_words(text):
        key, sep, value = token.partition(":")
        if not sep or key.startswith(("http", "<")):
            found_words += words(token)
            continue
        name = _FILTER_ALIASES.get(key.lower(), key.lower())
        if name not in FILTERS:
            raise UsageError(f"`{key}:` is not a filter. Filters: {', '.join(f + ':' for f in FILTERS)}.", usage=usage)
        if not value.strip():
            raise UsageError(f"`{key}:` needs a value, e.g. `{name}:{_EXAMPLES[name]}`.", usage=usage)
        if name == "country":
            try:
                country = parse_country(value)
            except ValueError as exc:
                raise UsageError(f"{exc}.", usage=usage) from None
        elif name == "role":
            role = value.strip().lower()
            if role not in ROLES:
                raise UsageError(f"'{value}' is not a role. Roles: {', '.join(ROLES)}.", usage=usage)
        elif name == "cohort":
            if not COHORT_CODE.match(value.strip()):
                raise UsageError(f"'{value}' is not a cohort code such as CBA2.", usage=usage)
            cohort = value.strip().upper()
        else:
            key_value = tag_key(value)
            if not key_value:
                raise UsageError(f"'{value}' is not a tag.", usage=usage)
            (expertise if name == "expertise" else sectors).append(key_value)
    return DirectoryQuery(
        words=tuple(dict.fromkeys(found_words)),
        country=country,
        cohort=cohort,
        role=role,
        expertise=tuple(expertise),
        sectors=tuple(sectors),
        text=text.strip(),
    )


_EXAMPLES = {"country": "IT", "cohort": "CBA2", "role": "alumni", "expertise": "funding", "sector": "mobility"}


# --- /cba-admin role ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantRole:
    slack_id: str
    role: str
    cohort: str | None


@dataclass(frozen=True)
class RemoveRole:
    slack_id: str
    role: str


def parse_role(rest: str) -> GrantRole | RemoveRole:
    usage = admin_usage()
    tokens = split_words(rest)
    remove = bool(tokens) and tokens[0].lower() == "remove"
    if remove:
        tokens = tokens[1:]
    if not tokens:
        raise UsageError("Whose role? Mention the member.", usage=usage)
    slack_id = parse_user(tokens[0], usage)
    if len(tokens) < 2:
        raise UsageError(f"Which role? One of: {', '.join(ROLES)}.", usage=usage)
    role = tokens[1].lower()
    if role not in ROLES:
        raise UsageError(f"'{tokens[1]}' is not a role. Roles: {', '.join(ROLES)}.", usage=usage)
    if remove:
        if len(tokens) > 2:
            raise UsageError("`/cba-admin role remove @member ROLE` takes no cohort.", usage=usage)
        return RemoveRole(slack_id, role)
    if len(tokens) > 3:
        raise UsageError("Too many words: `/cba-admin role @member ROLE [COHORT]`.", usage=usage)
    cohort = tokens[2] if len(tokens) == 3 else None
    if cohort is not None and not COHORT_CODE.match(cohort):
        raise UsageError(f"'{cohort}' is not a cohort code such as CBA2.", usage=usage)
    return GrantRole(slack_id, role, cohort.upper() if cohort else None)
