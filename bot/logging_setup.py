"""Log format for the bot: one line per record, never message bodies or tokens."""

from __future__ import annotations

import logging


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # slack_sdk logs full request bodies at DEBUG; they carry tokens and personal data.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLevelName(level)))
    # Alembic narrates every plugin and revision at INFO; only its problems matter outside DEBUG.
    if level != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    # waitress warns "Task queue depth is N" for every request that waits for a thread: under a burst that
    # is thousands of lines (and measurable CPU) saying only that the server is busy.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
