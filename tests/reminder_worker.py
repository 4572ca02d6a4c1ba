"""A separate bot process for the multi-process delivery tests: deliver due reminders until none is left.

python -m tests.reminder_worker DATABASE_URL SLACK_API_URL WORKER_ID [--lease S] [--batch N]

Once built it prints "ready" and starts when it reads a line on stdin (tests.process_helpers.release_together).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.kernel.delivery import Pacer, deliver_due
from storage.db import make_engine, make_sessionmaker
from storage.models import Reminder
from tests.process_helpers import await_go
from tests.reminder_probe import probe_registry


class Parts:
    def __init__(self, database_url: str, slack_url: str, worker_id: str) -> None:
        self.sessions = make_sessionmaker(make_engine(database_url))
        # The token names the worker, so the fake Slack can tell the processes apart.
        self.client = WebClient(token=f"xoxb-{worker_id}", base_url=slack_url, timeout=10)
        self.renderers = probe_registry().renderers
        self.zone = ZoneInfo("Europe/Brussels")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("slack_url")
    parser.add_argument("worker_id")
    parser.add_argument("--lease", type=float, default=3.0)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--deadline", type=float, default=90.0)
    args = parser.parse_args()
    parts = Parts(args.database_url, args.slack_url, args.worker_id)
    pacer = Pacer()
    await_go()
    stop_at = time.monotonic() + args.deadline
    while time.monotonic() < stop_at:
        deliver_due(
            parts,
            now=datetime.now(UTC),
            worker_id=args.worker_id,
            batch=args.batch,
            lease=timedelta(seconds=args.lease),
            pacer=pacer,
            max_batches=1,
        )
        with parts.sessions() as session:
            open_rows = session.scalar(
                select(func.count()).select_from(Reminder).where(Reminder.status.in_(("pending", "claimed")))
            )
        if not open_rows:
            return 0
        time.sleep(0.01)
    print("deadline reached with reminders still open", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
