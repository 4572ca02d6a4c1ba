"""One Slack call per outbox row, by its method. Only the delivery engine calls this."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.kernel.kinds import EPHEMERAL, POST, PUBLISH, RESPOND, UPDATE, UPLOAD, Outgoing

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Sent:
    channel: str | None
    ts: str | None
    permalink: str | None = None


def send(client: WebClient, recipient: str, message: Outgoing) -> Sent:
    """Make the call; raises SlackApiError (or a connection error) for the engine to classify."""
    args = dict(message.args)
    content: dict[str, Any] = {"text": message.text}
    if message.blocks:
        content["blocks"] = message.blocks
    method = message.method
    if method == POST:
        response = _joining(client, recipient, lambda: client.chat_postMessage(channel=recipient, **content, **args))
        sent = Sent(str(response.get("channel") or recipient), _str(response.get("ts")))
    elif method == EPHEMERAL:
        response = client.chat_postEphemeral(channel=args["channel"], user=recipient, **content)
        return Sent(args["channel"], _str(response.get("message_ts")))
    elif method == UPDATE:
        response = client.chat_update(channel=args["channel"], ts=args["ts"], **content)
        sent = Sent(args["channel"], args["ts"])
    elif method == UPLOAD:
        return _upload(client, recipient, args)
    elif method == PUBLISH:
        client.views_publish(user_id=recipient, view=args["view"])
        return Sent(None, None)
    elif method == RESPOND:
        return _respond(client, recipient, args, content)
    else:
        raise ValueError(f"unknown outbox method {method!r}")
    if message.permalink and sent.ts and sent.channel:
        return Sent(sent.channel, sent.ts, _permalink(client, sent.channel, sent.ts))
    return sent


def _upload(client: WebClient, recipient: str, args: dict[str, Any]) -> Sent:
    channel = args.get("channel") or recipient
    if channel.startswith(("U", "W")):
        # A file is shared into a conversation, not to a user: open the DM first.
        channel = str(client.conversations_open(users=recipient)["channel"]["id"])
    content: str | bytes = (
        base64.b64decode(args["content_b64"]) if "content_b64" in args else str(args.get("content") or "")
    )
    extra = {"initial_comment": args["initial_comment"]} if args.get("initial_comment") else {}
    _joining(
        client,
        channel,
        lambda: client.files_upload_v2(
            channel=channel, filename=args["filename"], title=args.get("title"), content=content, **extra
        ),
    )
    return Sent(channel, None)


def _joining(client: WebClient, channel: str, call: Callable[[], T]) -> T:
    """Make `call`; if the bot is not in the (public) channel, join it once and try again.

    When the join fails (a private channel: only a member can invite the bot) the original
    `not_in_channel` stands, and the engine records it as permanent for this row."""
    try:
        return call()
    except SlackApiError as exc:
        if exc.response.get("error") != "not_in_channel" or not channel.startswith("C"):
            raise
        try:
            client.conversations_join(channel=channel)
        except SlackApiError as join_error:
            log.info("could not join %s (%s)", channel, join_error.response.get("error"))
            raise exc from None
        log.info("joined %s to post there", channel)
        return call()


def _respond(client: WebClient, recipient: str, args: dict[str, Any], content: dict[str, Any]) -> Sent:
    """Through the response_url while it works; after that (30 min, 5 uses) as a DM."""
    webhook = WebhookClient(args["url"], timeout=10)
    try:
        response = webhook.send(
            response_type="ephemeral", replace_original=bool(args.get("replace_original")), **content
        )
        if response.status_code == 200:
            return Sent(None, None)
        log.info("a response_url answered %s; sending the answer as a DM", response.status_code)
    except OSError as exc:
        log.info("a response_url failed (%s); sending the answer as a DM", type(exc).__name__)
    posted = client.chat_postMessage(channel=recipient, **content)
    return Sent(_str(posted.get("channel")), _str(posted.get("ts")))


def _permalink(client: WebClient, channel: str, ts: str) -> str | None:
    """The post is out whatever happens here: a missing link is logged, never a failed delivery."""
    try:
        return _str(client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink"))
    except (SlackApiError, OSError) as exc:
        log.warning("chat.getPermalink failed: %s", type(exc).__name__)
        return None


def _str(value: Any) -> str | None:
    return str(value) if value else None
