"""Log format for the bot: one line per record, never message bodies or tokens."""

from __future__ import annotations

import logging


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_libraries(level)


def quiet_libraries(level: str) -> None:
    """Libraries whose lower levels print what people wrote: kept above them, even at DEBUG."""
    at_least_info = max(logging.INFO, logging.getLevelName(level))
    # slack_sdk logs full request bodies at DEBUG; they carry tokens and personal data.
    logging.getLogger("slack_sdk").setLevel(at_least_info)
    # Bolt logs every answer's body at DEBUG ("Responding with status: 200 body: ..."), which quotes
    # questions, answers and feedback. Its loggers copy this level when the app is built.
    logging.getLogger("slack_bolt").setLevel(at_least_info)
    # SQLAlchemy stays at its own default (WARNING): its INFO is every statement, its DEBUG every row.
    # Alembic narrates every plugin and revision at INFO; only its problems matter outside DEBUG.
    if level != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    # waitress warns "Task queue depth is N" for every request that waits for a thread: under a burst that
    # is thousands of lines (and measurable CPU) saying only that the server is busy.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
