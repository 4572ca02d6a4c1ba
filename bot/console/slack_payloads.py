"""Slack's request payloads, built the way Slack sends them, and signed.

Used by the terminal console and by the tests: both drive the real Bolt pipeline
(signature check included) with exactly what Slack would POST.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import quote, urlencode

from slack_sdk.signature import SignatureVerifier

TEAM_ID = "T0001"
APP_ID = "A0CBABOT"
_counter = itertools.count(1)


def _next() -> int:
    return next(_counter)


def slash_command(
    user_id: str,
    command: str,
    text: str = "",
    *,
    channel_id: str = "C0GENERAL",
    user_name: str = "",
    response_url: str = "",
    trigger_id: str = "",
) -> dict[str, str]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "cba",
        "channel_id": channel_id,
        "channel_name": "general",
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or f"{_next()}.{_next()}.trigger",
    }


def block_actions(
    user_id: str,
    action_id: str,
    *,
    value: str | None = None,
    block_id: str = "actions",
    message: dict[str, Any] | None = None,
    channel_id: str | None = None,
    view: dict[str, Any] | None = None,
    response_url: str = "",
    trigger_id: str = "",
    extra_action: dict[str, Any] | None = None,
) -> dict[str, Any]:
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        action["value"] = value
    action.update(extra_action or {})
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "trigger_id": trigger_id or f"{_next()}.{_next()}.trigger",
        "team": {"id": TEAM_ID, "domain": "cba"},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [action],
        "state": {"values": {}},
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V0")}
        payload["view"] = view
    else:
        msg = message or {"ts": "0000000000.000100", "blocks": []}
        channel = channel_id or "C0GENERAL"
        payload["container"] = {
            "type": "message",
            "message_ts": msg.get("ts"),
            "channel_id": channel,
            "is_ephemeral": bool(msg.get("is_ephemeral")),
        }
        payload["channel"] = {"id": channel, "name": "channel"}
        payload["message"] = msg
        if response_url:
            payload["response_url"] = response_url
    return payload


def view_submission(
    user_id: str,
    view: dict[str, Any],
    values: dict[str, dict[str, dict[str, Any]]],
    *,
    view_id: str = "V0SUBMIT",
) -> dict[str, Any]:
    submitted = dict(view)
    submitted.setdefault("id", view_id)
    submitted["state"] = {"values": values}
    submitted.setdefault("private_metadata", "")
    submitted.setdefault("callback_id", "")
    submitted.setdefault("hash", "1.abc")
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "cba"},
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "trigger_id": f"{_next()}.{_next()}.trigger",
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
    }


def event_callback(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{_next():08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": "UBOT",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def form_body(fields: dict[str, str]) -> str:
    return urlencode(fields)


def interactive_body(payload: dict[str, Any]) -> str:
    return "payload=" + quote(json.dumps(payload))


def json_body(payload: dict[str, Any]) -> str:
    return json.dumps(payload)


def signed_headers(secret: str, body: str, *, content_type: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body) or ""
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
    }


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
