"""WebClients that talk to SLACK_API_URL with retries suited to their caller."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from bot.kernel.settings import Settings


def make_client(settings: Settings, *, retry_rate_limits: bool = True, token: str | None = None) -> WebClient:
    """A client for SLACK_API_URL.

    Listeners retry a 429 once after Retry-After; the reminder engine passes
    `retry_rate_limits=False` and reschedules instead, so no thread sleeps on Slack's pace.
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
