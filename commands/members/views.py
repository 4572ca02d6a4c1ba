"""Block Kit builders for profiles and the directory (pure: data in, slack_sdk models out)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    DatePickerElement,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from commands.common import availability, blockkit
from commands.common.availability import HasAbsence
from commands.common.blockkit import Json
from commands.common.parsing import button_data, button_page
from commands.common.text import escape, truncate
from commands.members.fields import MAX_BIO, MAX_NAME, MAX_TEXT
from commands.members.parse import DirectoryQuery
from commands.members.search import COUNT_CAP, PAGE_SIZE, Card, Counts, Page, RoleLine
from storage.models import Member

PROFILE_MODAL = "cba_profile_modal"
OPEN_PROFILE = "cba_profile_open"
VIEW_PROFILE = "cba_directory_view"
PAGE_NEXT = "cba_directory_next"
PAGE_PREVIOUS = "cba_directory_previous"
ERASE_CONFIRM = "cba_profile_erase"
ERASE_CANCEL = "cba_profile_erase_cancel"
VALUE = "value"  # the action_id of every input in the profile modal


def _roles_text(roles: list[RoleLine]) -> str:
    if not roles:
        return "no role yet"
    return ", ".join(f"{line.role} ({escape(line.cohort)})" if line.cohort else line.role for line in roles)


@dataclass(frozen=True)
class Away:
    """What a card says of an absence: `now` while it lasts (everyone sees it), or one still ahead (shown
    to the member and organisers only: a planned holiday is nobody else's business yet)."""

    first: date
    last: date
    now: bool

    @classmethod
    def of(cls, member: HasAbsence, at: datetime, zone: ZoneInfo, *, planned: bool) -> Away | None:
        absence = availability.planned_absence(member, at, zone)
        if absence is None:
            return None
        current = availability.is_away(member, at, zone)
        if not current and not planned:
            return None
        return cls(absence[0], absence[1], current)

    def line(self) -> str:
        if self.now:
            return f":palm_tree: *Away until {self.last.isoformat()}*"
        return f":palm_tree: *Away (planned):* {absence_text((self.first, self.last))}"


def absence_text(days: object) -> str:
    first, last = days if isinstance(days, tuple) else (None, None)
    if not isinstance(first, date) or not isinstance(last, date):
        return "not away"
    if first == last:
        return f"on {first.isoformat()}"
    return f"from {first.isoformat()} to {last.isoformat()}"


def absence_set_text(days: object) -> str:
    if not isinstance(days, tuple):
        return ":white_check_mark: Your absence is cleared: reminders and routed questions reach you again."
    return (
        f":palm_tree: You are away {absence_text(days)} (both days included, in your time zone). Meanwhile no "
        "reminders or routed questions reach you; reminders of coaching sessions you keep still do, and your "
        "card says “away until …”. `/cba-profile set away off` ends it early."
    )


def card_text(
    member: Member,
    roles: list[RoleLine],
    *,
    show_hidden: bool,
    questions: bool | None = None,
    away: Away | None = None,
) -> str:
    lines = [f"*{escape(member.name) or 'Unnamed member'}*" + (f" — <@{member.slack_id}>" if member.slack_id else "")]
    if show_hidden and not member.visible:
        lines[0] += "  :see_no_evil: _hidden from the directory_"
    if away is not None:
        lines.append(away.line())
    lines.append(f"*Roles:* {_roles_text(roles)}")
    if member.organisation:
        lines.append(f"*Organisation:* {escape(member.organisation)}")
    place = ", ".join(part for part in (escape(member.region), member.country or "") if part)
    if place:
        lines.append(f"*Country:* {place}")
    if member.sectors:
        lines.append(f"*Sectors:* {escape(', '.join(member.sectors))}")
    if member.expertise:
        lines.append(f"*Expertise:* {escape(', '.join(member.expertise))}")
    if member.bio:
        lines.append(f"*Bio:* {escape(truncate(member.bio, 1200))}")
    links = [f"<{url}|{label}>" for label, url in (("LinkedIn", member.linkedin), ("ECCP", member.eccp)) if url]
    if links:
        lines.append("*Links:* " + " · ".join(links))
    if questions is not None:
        line = f"*Takes alumni questions:* {'yes' if questions else 'no'}"
        if questions and any(role.role == "alumni" for role in roles):
            capacity = availability.capacity_of(member)
            line += f" (up to {capacity} in 30 days)" if capacity else " (capacity 0: none routed)"
        lines.append(line)
    return truncate("\n".join(lines), 2900)


def card_blocks(
    member: Member, roles: list[RoleLine], *, show_hidden: bool, questions: bool | None, away: Away | None = None
) -> list[Block]:
    text = card_text(member, roles, show_hidden=show_hidden, questions=questions, away=away)
    return [SectionBlock(text=MarkdownTextObject(text=text))]


def _short_card(member: Card, *, show_hidden: bool, now: datetime, zone: ZoneInfo) -> str:
    head = f"*{escape(member.name) or 'Unnamed member'}*"
    if show_hidden and not member.visible:
        head += " :see_no_evil: _hidden_"
    if member.away_until is not None and availability.is_away(member, now, zone):
        head += f" :palm_tree: _away until {member.away_until.isoformat()}_"
    parts = [_roles_text(member.roles)]
    if member.organisation:
        parts.append(escape(member.organisation))
    if member.country:
        parts.append(member.country)
    text = head + "\n" + " · ".join(parts)
    if member.expertise:
        text += "\n_Expertise:_ " + escape(", ".join(member.expertise[:8]))
    return truncate(text, 2900)


def page_value(query: DirectoryQuery, page: int) -> str:
    """The query and page behind a Previous/Next button, within a button value's limit (JSON escapes
    can make a non-ASCII query several times longer: such a query is shortened until it fits)."""
    text = query.text[:1800]
    value = json.dumps({"q": text, "p": page})
    while len(value) > blockkit.BUTTON_VALUE:
        text = text[: len(text) * 2 // 3]
        value = json.dumps({"q": text, "p": page})
    return value


def read_page_value(value: str | None) -> tuple[str, int]:
    try:
        data = button_data(value or "{}")
        return str(data.get("q", "")), button_page(data.get("p", 0)) or 0
    except (ValueError, TypeError, AttributeError):
        return "", 0


def directory_blocks(
    query: DirectoryQuery, result: Page, *, organiser: bool, now: datetime, zone: ZoneInfo
) -> tuple[str, list[Json]]:
    """A page of short cards. Plain dicts (commands.common.blockkit): this answers every directory search."""
    shown = escape(truncate(query.text, 200)) or "everyone"
    if result.total == 0:
        text = f":mag: No members match `{shown}`."
        return text, [blockkit.section(text + "\nTry fewer words or filters.")]
    first = result.page * PAGE_SIZE + 1
    total = f"More than {COUNT_CAP:,}" if result.capped else str(result.total)
    text = f":busts_in_silhouette: {total} member{'s' if result.total != 1 else ''} match `{shown}`"
    of = f"{result.pages}+" if result.capped else str(result.pages)
    header = f"{text} (showing {first}–{first + len(result.members) - 1}, page {result.page + 1} of {of})."
    if result.capped and result.page == result.pages - 1:
        header += " Add words or filters to see more."
    blocks = [blockkit.section(header)]
    for member in result.members:
        card = _short_card(member, show_hidden=organiser, now=now, zone=zone)
        view = blockkit.button("View profile", VIEW_PROFILE, str(member.id))
        blocks.append(blockkit.section(card, block_id=f"member-{member.id}", accessory=view))
    buttons = []
    if result.page > 0:
        buttons.append(blockkit.button("Previous", PAGE_PREVIOUS, page_value(query, result.page - 1)))
    if result.page < result.pages - 1:
        buttons.append(blockkit.button("Next", PAGE_NEXT, page_value(query, result.page + 1)))
    if buttons:
        blocks.append(blockkit.actions("pages", buttons))
    return header, blocks


def counts_blocks(counts: Counts, *, organiser: bool) -> tuple[str, list[Block]]:
    def listing(rows: list[tuple[str, int]]) -> str:
        return ", ".join(f"{escape(key)} {count}" for key, count in rows[:60]) or "none yet"

    who = "members (visible or not)" if organiser else "members in the directory"
    text = f":busts_in_silhouette: {counts.total} {who}."
    lines = [
        text,
        f"*By role:* {listing(counts.by_role)}",
        f"*By cohort:* {listing(counts.by_cohort)}",
        f"*By country:* {listing(counts.by_country)}",
    ]
    if organiser:
        names = ", ".join(f"<@{m.slack_id}>" for m in counts.hidden)
        more = (
            f" and {counts.hidden_total - len(counts.hidden)} more" if counts.hidden_total > len(counts.hidden) else ""
        )
        lines.append(f"*Hidden from the directory:* {counts.hidden_total}" + (f" — {names}{more}" if names else ""))
    lines.append(
        "Search: `/cba-directory [words] [country:XX] [cohort:CODE] [role:ROLE] [expertise:TAG] [sector:TAG]`, "
        "e.g. `/cba-directory mobility country:IT role:alumni`."
    )
    body = truncate("\n".join(lines), 2900)
    return body, [SectionBlock(text=MarkdownTextObject(text=body))]


def _input(
    block_id: str,
    label: str,
    initial: str,
    *,
    max_length: int,
    optional: bool = True,
    multiline: bool = False,
    hint: str = "",
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=optional,
        hint=hint or None,
        element=PlainTextInputElement(
            action_id=VALUE, initial_value=initial or None, max_length=max_length, multiline=multiline
        ),
    )


def _flag(block_id: str, label: str, option: str, checked: bool) -> InputBlock:
    choice = Option(text=option, value="yes")
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=True,
        element=CheckboxesElement(action_id=VALUE, options=[choice], initial_options=[choice] if checked else None),
    )


def _date(block_id: str, label: str, initial: date | None, hint: str) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=True,
        hint=hint,
        element=DatePickerElement(action_id=VALUE, initial_date=initial.isoformat() if initial else None),
    )


def profile_modal(member: Member, *, accepts_questions: bool, channel_id: str | None, alumni: bool = False) -> View:
    availability_blocks: list[Block] = []
    if alumni:
        capacity = "" if member.question_capacity is None else str(member.question_capacity)
        availability_blocks.append(
            _input(
                "capacity",
                "Questions a month",
                capacity,
                max_length=7,
                hint=f"Routed to you in any 30 days: 0 to {availability.MAX_CAPACITY}; empty for the default "
                f"({availability.DEFAULT_CAPACITY})",
            )
        )
    availability_blocks += [
        _date("away_from", "Away from", member.away_from, "First day of an absence (leave both empty if none)"),
        _date("away_until", "Away until", member.away_until, "Last day: no reminders or routed questions meanwhile"),
    ]
    return View(
        type="modal",
        callback_id=PROFILE_MODAL,
        title="Your profile",
        submit="Save",
        close="Cancel",
        private_metadata=json.dumps({"channel_id": channel_id} if channel_id else {}),
        blocks=[
            _input("name", "Name", member.name, max_length=MAX_NAME, optional=False),
            _input("organisation", "Cluster organisation", member.organisation, max_length=MAX_TEXT),
            _input(
                "country", "Country (ISO code)", member.country or "", max_length=2, hint="Two letters, e.g. IT, DE, UA"
            ),
            _input("region", "Region", member.region, max_length=MAX_TEXT),
            _input("sectors", "Sectors", ", ".join(member.sectors), max_length=1000, hint="Comma-separated"),
            _input("expertise", "Expertise", ", ".join(member.expertise), max_length=1000, hint="Comma-separated"),
            _input("bio", "Short bio", member.bio, max_length=MAX_BIO, multiline=True),
            _input("linkedin", "LinkedIn profile URL", member.linkedin or "", max_length=500),
            _input("eccp", "ECCP profile URL", member.eccp or "", max_length=500),
            _flag("visible", "Directory", "Show my profile in the directory", member.visible),
            _flag("questions", "Alumni questions", "Alumni questions may be routed to me", accepts_questions),
            *availability_blocks,
        ],
    )


# A field whose error belongs on another block of the form (an absence is read from two date pickers).
ERROR_BLOCK = {"away": "away_until"}


def modal_values(view: dict[str, Any]) -> dict[str, str]:
    """The submitted modal as field -> typed text (flags as yes/no; the two dates as `away FROM TO` or `off`)."""
    values = ((view.get("state") or {}).get("values")) or {}
    result: dict[str, str] = {}
    for block_id, actions in values.items():
        element = (actions or {}).get(VALUE) or {}
        if element.get("type") == "checkboxes" or "selected_options" in element:
            result[block_id] = "yes" if element.get("selected_options") else "no"
        elif element.get("type") == "datepicker":
            picked = element.get("selected_date")
            result[block_id] = picked if isinstance(picked, str) else ""
        else:
            result[block_id] = str(element.get("value") or "")
    if "away_from" in result or "away_until" in result:
        first, last = result.pop("away_from", "").strip(), result.pop("away_until", "").strip()
        if first and not last:
            last = first  # one day away
        result["away"] = f"{first} {last}".strip() if first or last else "off"
    return result


def erase_confirm_blocks() -> tuple[str, list[Block]]:
    text = (
        ":warning: *Erase your personal data?* Your name, e-mail, profile, bio, links and tags will be deleted "
        "for good, and what you contributed will show as “former member”. This cannot be undone."
    )
    return text, [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(
            block_id="erase",
            elements=[
                ButtonElement(
                    text="Erase my data",
                    action_id=ERASE_CONFIRM,
                    value="erase",
                    style="danger",
                    confirm=ConfirmObject(
                        title="Erase your data?",
                        text="This deletes your profile for good.",
                        confirm="Erase",
                        deny="Keep it",
                    ),
                ),
                ButtonElement(text="Keep my data", action_id=ERASE_CANCEL, value="keep"),
            ],
        ),
    ]


def welcome_blocks(name: str, not_registered: str | None = None) -> tuple[str, list[Block]]:
    """The welcome DM; for someone with no role yet (`not_registered`: whom to ask), without the profile button."""
    greeting = (
        f"Welcome to the Cluster Booster Academy workspace, {escape(name)}!"
        if name
        else "Welcome to the Cluster Booster Academy workspace!"
    )
    if not_registered is not None:
        text = f":wave: {greeting}\n{not_registered}"
        return text, [
            HeaderBlock(text=PlainTextObject(text="Welcome to CBA")),
            SectionBlock(text=MarkdownTextObject(text=text)),
            ContextBlock(
                elements=[MarkdownTextObject(text="`/cba-help` shows what CBA Bot does for members of the Academy.")]
            ),
        ]
    text = (
        f":wave: {greeting} Fill in your profile so other cluster managers can find you: your organisation, "
        "country, sectors and expertise. Your profile stays hidden until you choose to show it."
    )
    return text, [
        HeaderBlock(text=PlainTextObject(text="Welcome to CBA")),
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(
            block_id="welcome",
            elements=[ButtonElement(text="Fill in my profile", action_id=OPEN_PROFILE, value="open", style="primary")],
        ),
        ContextBlock(
            elements=[MarkdownTextObject(text="Later: `/cba-profile` edits it, `/cba-directory` finds people.")]
        ),
    ]


def export_summary(data: dict[str, Any]) -> str:
    profile = data["profile"]
    lines = [":package: *Everything CBA Bot stores about you* (the attached JSON file has it all):"]
    for key, value in profile.items():
        shown = ", ".join(value) if isinstance(value, list) else ("—" if value in (None, "") else value)
        lines.append(f"• {key.replace('_', ' ')}: {escape(str(shown))}")
    lines.append(
        f"• roles: {escape(', '.join(r['role'] + (' (' + r['cohort'] + ')' if r['cohort'] else '') for r in data['roles']) or 'none')}"
    )
    for name, value in data.items():
        if name in ("profile", "roles", "exported_at"):
            continue
        parts = value.items() if isinstance(value, dict) else [(name, value)]
        for part, records in parts:
            count = len(records) if isinstance(records, list | dict) else 1
            lines.append(f"• {part.replace('_', ' ')}: {count} record{'s' if count != 1 else ''}")
    return truncate("\n".join(lines), 3900)
