"""WebClients that talk to SLACK_API_URL with retries suited to their caller."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from bot.kernel.settings import Settings

log = logging.getLogger(__name__)


def make_client(settings: Settings, *, retry_rate_limits: bool = False, token: str | None = None) -> WebClient:
    """A client for SLACK_API_URL.

    By default no thread sleeps on Slack's pace: a request's thread only opens modals (a 429 there is
    answered as an error), and the delivery engine reschedules a rate-limited row instead of waiting.
    Command-line tools, which have nothing else to do, pass `retry_rate_limits=True`.
    """
    handlers: list[RetryHandler] = [ConnectionErrorRetryHandler(max_retry_count=1)]
    if retry_rate_limits:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
        handlers.append(ServerErrorRetryHandler(max_retry_count=1))
    return WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        retry_handlers=handlers,
        timeout=10,
    )


def users_info(client: WebClient, slack_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """What Slack says of each user (`users.info`), for jobs that run outside any request.

    A user Slack refuses to describe maps to {}. A rate limit or a connection error ends the round early:
    the users not reached are absent, for the next tick.
    """
    users: dict[str, dict[str, Any]] = {}
    for slack_id in slack_ids:
        try:
            users[slack_id] = client.users_info(user=slack_id).get("user") or {}
        except SlackApiError as exc:
            error = exc.response.get("error")
            if exc.response.status_code == 429 or error == "ratelimited":
                break
            log.info("users.info failed for a member: %s", error)
            users[slack_id] = {}
        except OSError:
            break
    return users
