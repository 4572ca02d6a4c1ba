"""Block Kit as plain dicts, for the answers on the acknowledgement's hot path.

slack_sdk's models validate every object on `to_dict()` by introspecting its validators: for a page of
ten slots or eight directory cards that was 30–40 % of the request's CPU. These builders produce the same
dicts as the models (tests/unit/test_blockkit.py compares them) and keep Slack's limits by construction:
texts are truncated to the limit; ids and values must come short from the caller (a longer one is a bug,
refused with ValueError rather than sent for Slack to reject). Views off
the hot path keep using slack_sdk.models (STYLE habit 5).
"""

from __future__ import annotations

from typing import Any

from commands.common.text import truncate

Json = dict[str, Any]

# Slack's limits (the same numbers slack_sdk's validators hold).
SECTION_TEXT = 3000
CONTEXT_TEXT = 3000
CONTEXT_ELEMENTS = 10
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTIONS_ELEMENTS = 25
ID_LENGTH = 255


def _short(value: str, limit: int) -> str:
    if len(value) > limit:
        raise ValueError(f"{value[:40]!r}… is over Slack's limit of {limit} characters")
    return value


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> Json:
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> Json:
    _short(action_id, ID_LENGTH)
    _short(value, BUTTON_VALUE)
    out: Json = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(text, BUTTON_TEXT), "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        out["style"] = style
    return out


def section(text: str, *, block_id: str | None = None, accessory: Json | None = None) -> Json:
    out: Json = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        out["block_id"] = _short(block_id, ID_LENGTH)
    if accessory is not None:
        out["accessory"] = accessory
    return out


def context(*texts: str) -> Json:
    return {"type": "context", "elements": [mrkdwn(text, CONTEXT_TEXT) for text in texts[:CONTEXT_ELEMENTS]]}


def actions(block_id: str, buttons: list[Json]) -> Json:
    return {"type": "actions", "block_id": _short(block_id, ID_LENGTH), "elements": buttons[:ACTIONS_ELEMENTS]}
