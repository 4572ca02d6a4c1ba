"""`cba-bot import` and `cba-bot export`."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.features import build_registry
from bot.kernel.settings import Settings
from commands.common.csv_text import to_csv
from storage.db import make_engine, make_sessionmaker


def import_roster(settings: Settings, path: Path, *, dry_run: bool) -> int:
    """Import a roster CSV: valid rows upserted, invalid rows listed by line; exit 1 if any row was refused."""
    from slack_sdk.errors import SlackApiError

    from bot.kernel.slack_client import make_client
    from commands.members.roster import RosterFileError
    from commands.members.roster import import_roster as run_import

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cba-bot import: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    client = make_client(settings, retry_rate_limits=True)
    cache: dict[str, str | None] = {}

    def lookup(email: str) -> str | None:
        if email not in cache:
            try:
                cache[email] = (client.users_lookupByEmail(email=email).get("user") or {}).get("id")
            except SlackApiError as exc:
                if exc.response.get("error") != "users_not_found":
                    raise
                cache[email] = None
        return cache[email]

    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions() as session:
        try:
            outcome = run_import(session, text, lookup)
        except RosterFileError as exc:
            session.rollback()
            print(f"cba-bot import: {path}: {exc}", file=sys.stderr)
            return 2
        except SlackApiError as exc:
            session.rollback()
            print(f"cba-bot import: Slack refused users.lookupByEmail ({exc.response.get('error')})", file=sys.stderr)
            return 2
        if dry_run:
            session.rollback()
        else:
            session.commit()
    verb = "would import" if dry_run else "imported"
    print(
        f"{verb}: {outcome.created} created, {outcome.updated} updated, {outcome.unchanged} unchanged"
        + (f"; new cohorts: {', '.join(outcome.cohorts_created)}" if outcome.cohorts_created else "")
        + f"; {len(outcome.errors)} row(s) refused"
        + (" (dry run: nothing was changed)" if dry_run else "")
    )
    for line, reason in outcome.errors:
        print(f"line {line}: {reason}", file=sys.stderr)
    return 1 if outcome.errors else 0


def export_csv(settings: Settings, kind: str, *, cohort: str | None, output: Path | None) -> int:
    export = build_registry().exporters.get(kind)
    if export is None:
        print(f"cba-bot export {kind}: not available in this version yet.", file=sys.stderr)
        return 2
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions() as session:
        text = to_csv(export(session, cohort))
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    return 0
