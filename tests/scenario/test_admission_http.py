"""Admission over real HTTP (waitress + SlackWsgiApp, as `cba-bot run` serves): requests work one at a time,
and one that waits on Slack after its commit (views.open) lends its slot, so nobody waits behind Slack."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot
from bot.console import slack_payloads as payloads
from bot.console.fakeslack import FakeSlack
from tests.factories import make_member
from tests.scenario.test_http_limits import Server, _signed

MEMBER = "U0PARTADM1"
SLOW_OPEN_SECONDS = 3.0


@pytest.fixture
def admitted(bot: Bot) -> Iterator[Server]:
    served = Server(bot, admission=bot.deps.admission)
    yield served
    served.close()


def _command(fake: FakeSlack, user: str, command: str, text: str = "", trigger_id: str = "") -> bytes:
    fields = payloads.slash_command(user, command, text, response_url=fake.new_response_url(), trigger_id=trigger_id)
    return payloads.form_body(fields).encode()


class TestAdmissionOverHttp:
    def test_a_form_waiting_on_slack_does_not_hold_up_other_requests(
        self, admitted: Server, bot: Bot, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        with sessions.begin() as session:
            make_member(session, MEMBER, "Ada Admitted", "participant")
        fake_slack.delay("views.open", SLOW_OPEN_SECONDS)
        opened: dict[str, float] = {}

        def open_form() -> None:
            started = time.monotonic()
            body = _command(fake_slack, MEMBER, "/cba-profile", trigger_id="trigger-1")
            status, _ = admitted.post(body, _signed(body))
            opened["status"], opened["seconds"] = status, time.monotonic() - started

        form = threading.Thread(target=open_form)
        form.start()
        time.sleep(0.5)  # the form's request has committed and waits in views.open (the fake records it after)

        # It had the only slot (CBA_REQUEST_SLOTS=1).
        assert bot.deps.settings.request_slots == 1
        answers = []
        for user in ("U0VISITOR1", "U0VISITOR2", MEMBER):
            started = time.monotonic()
            body = _command(fake_slack, user, "/cba-help")
            status, text = admitted.post(body, _signed(body))
            answers.append((status, time.monotonic() - started, text))
        assert all(status == 200 for status, _, _ in answers), answers
        assert all(seconds < 1.0 for _, seconds, _ in answers), [seconds for _, seconds, _ in answers]
        assert "cba-help" in answers[-1][2]
        assert not opened, "the form's request should still be waiting on Slack"

        form.join(timeout=10)
        assert opened["status"] == 200
        assert opened["seconds"] >= SLOW_OPEN_SECONDS
        assert bot.deps.admission.waiting() == 0
        assert not bot.deps.admission.holds()
