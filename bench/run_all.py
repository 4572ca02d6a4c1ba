"""`make bench`: every benchmark in turn; each updates its section of bench/RESULTS.md.

PostgreSQL variants run when a server URL is given: `--pg URL`, else CBA_BENCH_DATABASE_URL, else
CBA_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test). The acknowledgement bench
then runs twice (SQLite, then PostgreSQL on a fresh database it creates on that server); the other scripts
read CBA_TEST_DATABASE_URL themselves.

    python -m bench.run_all [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--pg", default=os.environ.get("CBA_BENCH_DATABASE_URL") or os.environ.get("CBA_TEST_DATABASE_URL")
    )
    args = parser.parse_args()
    env = dict(os.environ)
    if args.pg:
        env["CBA_TEST_DATABASE_URL"] = args.pg
    scripts = [["bench.ack_latency"]]
    if args.pg:
        scripts.append(["bench.ack_latency", "--database-url", args.pg])
    scripts += [["bench.members_directory_search"], ["bench.reminders_fanout"], ["bench.coaching_booking_race"]]
    failed = 0
    for script in scripts:
        print(f"== {' '.join(a if a != args.pg else 'postgresql://…' for a in script)}", flush=True)
        failed += subprocess.call([sys.executable, "-m", *script], env=env) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
