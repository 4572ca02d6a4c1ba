"""Delivery of homework notices after commit: one failed recipient never blocks the others."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

log = logging.getLogger(__name__)


def post_each(client: WebClient, targets: Iterable[str | None], text: str, blocks: list[Block]) -> int:
    """Post to each channel ID / user ID (a DM); returns how many were delivered."""
    payload = [block.to_dict() for block in blocks]
    delivered = 0
    for target in dict.fromkeys(t for t in targets if t):
        try:
            client.chat_postMessage(channel=target, text=text, blocks=payload)
            delivered += 1
        except SlackApiError as exc:
            log.warning("homework notice to %s not delivered: %s", target, exc.response.get("error"))
    return delivered
