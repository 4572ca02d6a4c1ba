"""Drive the bot as Slack would: build a payload, sign it, dispatch it through Bolt, wait for the work.

Shared by `cba-bot console` and the tests, so both go through the same pipeline as production.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot.console import slack_payloads as payloads
from bot.kernel.deps import Deps

if TYPE_CHECKING:
    from bot.console.fakeslack import FakeSlack


@dataclass
class Dispatched:
    """Bolt's HTTP answer to one request."""

    status: int
    body: str

    @property
    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body) if self.body else {}
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @property
    def text(self) -> str:
        """The acknowledgement's text (plain-text or JSON ack)."""
        if self.body.startswith("{"):
            return str(self.json.get("text", ""))
        return self.body


class SlackDriver:
    def __init__(self, app: App, deps: Deps, signing_secret: str, *, fake: FakeSlack | None = None) -> None:
        self.app = app
        self.deps = deps
        self.secret = signing_secret
        # With a fake Slack, response_urls and trigger_ids are ones it will accept.
        self.fake = fake

    def _handles(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        if self.fake is not None:
            kwargs.setdefault("response_url", self.fake.new_response_url())
            kwargs.setdefault("trigger_id", self.fake.new_trigger_id())
        return kwargs

    def dispatch(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        wait: bool = True,
        extra_headers: dict[str, str] | None = None,
    ) -> Dispatched:
        headers: dict[str, str | Sequence[str]] = {}
        headers.update(payloads.signed_headers(self.secret, body, content_type=content_type, timestamp=timestamp))
        headers.update(extra_headers or {})
        response = self.app.dispatch(BoltRequest(body=body, headers=dict(headers)))
        if wait:
            self.settle()
        return Dispatched(status=response.status, body=response.body or "")

    def settle(self, timeout: float = 15.0) -> None:
        """Wait for the messages a request queued to be delivered (the answer itself came with the request)."""
        if self.deps.courier is not None:
            self.deps.courier.wait_idle(timeout=timeout)

    def command(self, user_id: str, command: str, text: str = "", *, wait: bool = True, **kwargs: Any) -> Dispatched:
        fields = payloads.slash_command(user_id, command, text, **self._handles(kwargs))
        return self.dispatch(payloads.form_body(fields), payloads.FORM, wait=wait)

    def action(self, user_id: str, action_id: str, **kwargs: Any) -> Dispatched:
        if kwargs.get("view") is not None:
            kwargs.setdefault("trigger_id", self.fake.new_trigger_id() if self.fake else "")
        else:
            kwargs = self._handles(kwargs)
        payload = payloads.block_actions(user_id, action_id, **kwargs)
        return self.dispatch(payloads.interactive_body(payload), payloads.FORM)

    def submit(self, user_id: str, view: dict[str, Any], values: dict[str, dict[str, dict[str, Any]]]) -> Dispatched:
        payload = payloads.view_submission(user_id, view, values)
        return self.dispatch(payloads.interactive_body(payload), payloads.FORM)

    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None) -> Dispatched:
        body = payloads.json_body(payloads.event_callback(event, event_id=event_id))
        retry = {"x-slack-retry-num": str(retry_num), "x-slack-retry-reason": "http_timeout"} if retry_num else None
        return self.dispatch(body, payloads.JSON, extra_headers=retry)
