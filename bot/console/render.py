"""Block Kit and Slack mrkdwn as plain terminal text, for `cba-bot console`.

Pure functions: blocks in, lines out, plus the numbered things the user can press.
Nothing here talks to Slack or the terminal, so the rendering is easy to test and to reuse.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JsonDict = dict[str, Any]

RULE = "-" * 40
_ANGLE = re.compile(r"<([^<>\n]+)>")
# Interactive elements whose options become numbered choices in messages and App Home.
_PICKERS = ("static_select", "overflow", "radio_buttons")


@dataclass(frozen=True)
class Style:
    """Terminal emphasis; plain text unless the console writes to a terminal."""

    color: bool = False

    def bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.color and text else text

    def dim(self, text: str) -> str:
        return f"\x1b[2m{text}\x1b[0m" if self.color and text else text


PLAIN = Style()


@dataclass(frozen=True)
class Choice:
    """Something the user presses by number: a button, or one option of a menu."""

    number: int
    label: str
    action_id: str
    block_id: str
    value: str | None = None
    url: str | None = None
    # Further fields of the action payload, e.g. the type and selected_option of a menu.
    extra: JsonDict = field(default_factory=dict)
    confirm: JsonDict | None = None


# --- mrkdwn ------------------------------------------------------------------------------------


def mrkdwn(text: str, names: Mapping[str, str]) -> str:
    """Slack's escapes and angle-bracket links made readable; emphasis marks are left alone."""
    return html.unescape(_ANGLE.sub(lambda match: _angle(match.group(1), names), text))


def _angle(inner: str, names: Mapping[str, str]) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + (names.get(target[1:]) or label or target[1:])
    if target.startswith("#"):
        return "#" + (label or names.get(target[1:]) or target[1:])
    if target.startswith("!"):
        return _special(target[1:], label)
    if not label or label in (target, target.removeprefix("mailto:")):
        return label or target
    return f"{label} ({target})"


def _special(command: str, label: str) -> str:
    kind, _, rest = command.partition("^")
    if kind == "date":
        return label or _date_fallback(rest)
    if kind in ("here", "channel", "everyone"):
        return "@" + kind
    if kind == "subteam":
        return label or "@group"
    return label or command


def _date_fallback(rest: str) -> str:
    stamp = rest.split("^", 1)[0]
    try:
        return datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (ValueError, OverflowError, OSError):
        return stamp


def text_of(obj: Any, names: Mapping[str, str]) -> str:
    """A text object's words (mrkdwn converted); tolerates plain strings and junk."""
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, dict):
        return ""
    raw = str(obj.get("text") or "")
    return mrkdwn(raw, names) if obj.get("type") == "mrkdwn" else raw


def options_of(element: JsonDict) -> list[JsonDict]:
    """A menu's options, flattening option groups."""
    options = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            options += [o for o in group.get("options") or [] if isinstance(o, dict)]
    return options


# --- blocks ------------------------------------------------------------------------------------


@dataclass
class _Canvas:
    names: Mapping[str, str]
    style: Style
    numbered: bool
    next_number: int
    lines: list[str] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)

    def text(self, obj: Any) -> str:
        return text_of(obj, self.names)

    def add(self, text: str, indent: str = "") -> None:
        self.lines += [indent + line for line in text.split("\n")]

    def choice(self, label: str, action_id: str, block_id: str, **kwargs: Any) -> str:
        """Register a pressable thing; returns how it is shown (`[3] Book`)."""
        if not self.numbered:
            return f"[{label}]"
        number = self.next_number
        self.next_number += 1
        self.choices.append(Choice(number, label, action_id, block_id, **kwargs))
        return f"[{number}] {label}"


def render_blocks(
    blocks: Sequence[Any],
    names: Mapping[str, str],
    *,
    start: int = 1,
    numbered: bool = True,
    style: Style = PLAIN,
) -> tuple[list[str], list[Choice]]:
    """Blocks as lines of text, and the choices numbered from `start` (none when not `numbered`)."""
    canvas = _Canvas(names, style, numbered, start)
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        block_id = str(block.get("block_id") or f"block{index}")
        renderer = _BLOCKS.get(str(block.get("type")))
        if renderer is None:
            canvas.add(style.dim(f"[{block.get('type')} block]"))
        else:
            renderer(canvas, block, block_id)
    return canvas.lines, canvas.choices


def render_message(
    text: str,
    blocks: Sequence[Any] | None,
    names: Mapping[str, str],
    *,
    start: int = 1,
    numbered: bool = True,
    style: Style = PLAIN,
) -> tuple[list[str], list[Choice]]:
    """What Slack shows for a message: its blocks, else its text (the text is only a fallback)."""
    if blocks:
        return render_blocks(blocks, names, start=start, numbered=numbered, style=style)
    return mrkdwn(text, names).split("\n") if text else [], []


def render_view(
    view: JsonDict,
    names: Mapping[str, str],
    *,
    start: int = 1,
    style: Style = PLAIN,
) -> tuple[list[str], list[Choice]]:
    """A modal or App Home: its title, blocks and the labels of its submit/close buttons."""
    title = text_of(view.get("title"), names) or ("App Home" if view.get("type") == "home" else "Modal")
    lines, choices = render_blocks(view.get("blocks") or [], names, start=start, style=style)
    head = [style.bold(f"+ {title} +")]
    if view.get("type") != "modal":
        return head + lines, choices
    buttons = [text_of(view.get(key), names) for key in ("close", "submit") if view.get(key)]
    foot = [style.dim("buttons: " + " | ".join(buttons))] if buttons else []
    return head + lines + foot, choices


def _header(canvas: _Canvas, block: JsonDict, _block_id: str) -> None:
    canvas.add(canvas.style.bold(canvas.text(block.get("text")).upper()))


def _section(canvas: _Canvas, block: JsonDict, block_id: str) -> None:
    if block.get("text"):
        canvas.add(canvas.text(block.get("text")))
    for item in block.get("fields") or []:
        canvas.add(canvas.text(item).replace("\n", " "), "  ")
    accessory = block.get("accessory")
    if isinstance(accessory, dict):
        canvas.add(_element(canvas, accessory, block_id), "  ")


def _context(canvas: _Canvas, block: JsonDict, block_id: str) -> None:
    parts = [_element(canvas, element, block_id) for element in block.get("elements") or []]
    canvas.add(canvas.style.dim("  · " + "  ".join(part for part in parts if part)))


def _divider(canvas: _Canvas, _block: JsonDict, _block_id: str) -> None:
    canvas.add(canvas.style.dim(RULE))


def _actions(canvas: _Canvas, block: JsonDict, block_id: str) -> None:
    parts = [_element(canvas, element, block_id) for element in block.get("elements") or []]
    canvas.add("  ".join(part for part in parts if part), "  ")


def _image(canvas: _Canvas, block: JsonDict, _block_id: str) -> None:
    title = canvas.text(block.get("title"))
    canvas.add(f"[image: {block.get('alt_text') or title or 'image'}]")


def _input(canvas: _Canvas, block: JsonDict, _block_id: str) -> None:
    element = block.get("element")
    if not isinstance(element, dict):
        element = {}
    label = canvas.text(block.get("label")) + ("" if block.get("optional") else " *")
    canvas.add(f"{label}: {_input_summary(canvas, element)}")
    if block.get("hint"):
        canvas.add(canvas.style.dim(canvas.text(block.get("hint"))), "  ")


def _input_summary(canvas: _Canvas, element: JsonDict) -> str:
    initial = initial_text(element, canvas.names)
    if initial:
        return initial
    placeholder = canvas.text(element.get("placeholder"))
    return canvas.style.dim(f"[{placeholder or str(element.get('type', 'field')).replace('_', ' ')}]")


def initial_text(element: JsonDict, names: Mapping[str, str]) -> str:
    """An input element's pre-filled value, as words."""
    for key in ("initial_value", "initial_date", "initial_time"):
        if element.get(key):
            return str(element[key])
    if isinstance(element.get("initial_option"), dict):
        return text_of(element["initial_option"].get("text"), names)
    if element.get("initial_options"):
        return ", ".join(text_of(o.get("text"), names) for o in element["initial_options"] if isinstance(o, dict))
    for key in ("initial_user", "initial_conversation", "initial_channel"):
        if element.get(key):
            return names.get(str(element[key]), str(element[key]))
    return ""


def _rich_text(canvas: _Canvas, block: JsonDict, _block_id: str) -> None:
    for part in block.get("elements") or []:
        if isinstance(part, dict):
            canvas.add(_rich_part(part, canvas.names))


def _rich_part(part: JsonDict, names: Mapping[str, str]) -> str:
    kind = part.get("type")
    inner = [e for e in part.get("elements") or [] if isinstance(e, dict)]
    if kind == "rich_text_list":
        ordered = part.get("style") == "ordered"
        items = [_rich_part(item, names) for item in inner]
        return "\n".join(f"  {f'{n}.' if ordered else '•'} {item}" for n, item in enumerate(items, 1))
    text = "".join(_rich_inline(element, names) for element in inner)
    if kind == "rich_text_preformatted":
        return "\n".join("    " + line for line in text.split("\n"))
    if kind == "rich_text_quote":
        return "\n".join("> " + line for line in text.split("\n"))
    return text


def _rich_inline(element: JsonDict, names: Mapping[str, str]) -> str:
    kind = element.get("type")
    if kind == "link":
        url = str(element.get("url") or "")
        return f"{element['text']} ({url})" if element.get("text") else url
    if kind == "user":
        return "@" + names.get(str(element.get("user_id")), str(element.get("user_id")))
    if kind == "channel":
        return "#" + names.get(str(element.get("channel_id")), str(element.get("channel_id")))
    if kind == "emoji":
        return f":{element.get('name')}:"
    if kind == "broadcast":
        return f"@{element.get('range')}"
    if kind == "date":
        return str(element.get("fallback") or _date_fallback(str(element.get("timestamp"))))
    return str(element.get("text") or "")


def _media(canvas: _Canvas, block: JsonDict, _block_id: str) -> None:
    title = canvas.text(block.get("title")) or block.get("external_id") or ""
    canvas.add(f"[{block.get('type')}: {title}]")


# --- elements ----------------------------------------------------------------------------------


def _element(canvas: _Canvas, element: Any, block_id: str) -> str:
    if not isinstance(element, dict):
        return ""
    kind = str(element.get("type"))
    if kind == "button":
        return _button(canvas, element, block_id)
    if kind in _PICKERS:
        return _picker(canvas, element, block_id)
    if kind == "image":
        return f"[image: {element.get('alt_text') or 'image'}]"
    if kind in ("mrkdwn", "plain_text"):
        return canvas.text(element)
    placeholder = canvas.text(element.get("placeholder"))
    return canvas.style.dim(f"[{kind.replace('_', ' ')}{': ' + placeholder if placeholder else ''}]")


def _button(canvas: _Canvas, element: JsonDict, block_id: str) -> str:
    label = canvas.text(element.get("text")) or "button"
    url = element.get("url")
    shown = canvas.choice(
        label,
        str(element.get("action_id") or ""),
        block_id,
        value=element.get("value"),
        url=url,
        extra={"text": element.get("text")} if element.get("text") else {},
        confirm=element.get("confirm"),
    )
    return f"{shown} ({url})" if url else shown


def _picker(canvas: _Canvas, element: JsonDict, block_id: str) -> str:
    """Each option of a menu is its own choice: picking it sends the action Slack would send."""
    kind = str(element.get("type"))
    name = canvas.text(element.get("placeholder")) or kind.replace("_", " ")
    shown = []
    for option in options_of(element):
        label = canvas.text(option.get("text"))
        extra = {"type": kind, "selected_option": option}
        shown.append(
            canvas.choice(
                label,
                str(element.get("action_id") or ""),
                block_id,
                url=option.get("url"),
                extra=extra,
                confirm=element.get("confirm"),
            )
        )
    return f"{name}: " + "  ".join(shown)


_BLOCKS: dict[str, Callable[[_Canvas, JsonDict, str], None]] = {
    "header": _header,
    "section": _section,
    "context": _context,
    "divider": _divider,
    "actions": _actions,
    "image": _image,
    "input": _input,
    "rich_text": _rich_text,
    "video": _media,
    "file": _media,
}
