"""Many participants pressing "Book" on one slot at once: shared by the race tests and the bench.

`python -m tests.coaching_race --db URL --fake-url URL --slot ID --jobs JSON` is one OS process
with its own Bolt app: once built it prints "ready", and on reading a line from stdin (the parent's
tests.process_helpers.release_together) it dispatches its signed clicks concurrently, then waits for
the answers to be sent (to the response_urls minted by the parent's FakeSlack).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.console import slack_payloads as payloads
from bot.console.fakeslack import FakeSlack
from storage.models import CoachingSlot, Member, RoleGrant
from tests.process_helpers import await_go

SECRET = "race-signing-secret-0123456789"
TOKEN = "xoxb-race-token"
COACH = "U0RACECOACH"


def racers(count: int) -> list[str]:
    return [f"U0RACER{index:03d}" for index in range(count)]


def seed_race(sessions: sessionmaker[Session], fake: FakeSlack, starts_at: datetime, count: int = 50) -> int:
    """A coach, `count` participants and one open slot; returns the slot id."""
    from datetime import timedelta

    with sessions.begin() as session:
        coach = Member(slack_id=COACH, name="Rita Racecoach", email="rita@example.org", tz="Europe/Berlin")
        session.add(coach)
        session.flush()
        session.add(RoleGrant(member_id=coach.id, role="coach"))
        fake.add_user(COACH, coach.name, email=coach.email, tz="Europe/Berlin")
        for slack_id in racers(count):
            member = Member(slack_id=slack_id, name=f"Racer {slack_id[-3:]}", email=f"{slack_id.lower()}@example.org")
            session.add(member)
            session.flush()
            session.add(RoleGrant(member_id=member.id, role="participant"))
            fake.add_user(slack_id, member.name, email=member.email)
        slot = CoachingSlot(coach_id=coach.id, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=45))
        session.add(slot)
        session.flush()
        return slot.id


def click_body(user: str, slot_id: int, response_url: str) -> str:
    payload = payloads.block_actions(
        user, f"coaching_book_{slot_id}", value=str(slot_id), block_id=f"slot-{slot_id}", response_url=response_url
    )
    return payloads.interactive_body(payload)


def post_signed(url: str, body: str) -> int:
    headers = payloads.signed_headers(SECRET, body, content_type=payloads.FORM)
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


@dataclass
class Outcome:
    booked: int
    taken: int
    other: list[str]


def outcome(fake: FakeSlack) -> Outcome:
    texts = [str(call.args.get("text", "")) for call in fake.calls_to("response_url")]
    booked = sum("Booked!" in text for text in texts)
    taken = sum("was just taken" in text for text in texts)
    other = [text for text in texts if "Booked!" not in text and "was just taken" not in text]
    return Outcome(booked, taken, other)


def fire_together(actions: Sequence[Callable[[], None]]) -> list[BaseException]:
    """Run each callable in its own thread, all released at once; returns the errors raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(actions))

    def run(action: Callable[[], None]) -> None:
        try:
            barrier.wait()
            action()
        except BaseException as exc:  # collected and reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--fake-url", required=True)
    parser.add_argument("--slot", type=int, required=True)
    parser.add_argument("--jobs", required=True, help="JSON list of [user_id, response_url]")
    args = parser.parse_args(argv)

    from bot.app import build
    from bot.console.driver import SlackDriver
    from bot.kernel.settings import Settings

    settings = Settings(
        database_url=args.db,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=args.fake_url,
        log_level="WARNING",
    )
    bot = build(settings)
    driver = SlackDriver(bot.app, bot.deps, SECRET)
    statuses: list[int] = []

    def clicker(user: str, url: str) -> Callable[[], None]:
        def click() -> None:
            body = click_body(user, args.slot, url)
            statuses.append(driver.dispatch(body, payloads.FORM, wait=False).status)

        return click

    jobs = json.loads(args.jobs)
    await_go()
    errors = fire_together([clicker(user, url) for user, url in jobs])
    driver.settle(timeout=60)  # the answers are queued: let the courier deliver them before we exit
    print(json.dumps({"statuses": statuses, "errors": [repr(e) for e in errors]}))
    return 0 if not errors and all(status == 200 for status in statuses) else 1


if __name__ == "__main__":
    sys.exit(main())
