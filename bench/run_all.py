"""`make bench`: every benchmark in turn; each updates its section of bench/RESULTS.md.

PostgreSQL variants run when CBA_BENCH_DATABASE_URL (a server URL such as
postgresql://postgres@127.0.0.1:5432/test) is set.
"""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPTS = [
    ["bench.ack_latency"],
    ["bench.members_directory_search"],
    ["bench.reminders_fanout"],
    ["bench.coaching_booking_race"],
]


def main() -> int:
    failed = 0
    for script in SCRIPTS:
        print(f"== {' '.join(script)}", flush=True)
        failed += subprocess.call([sys.executable, "-m", *script], env=os.environ) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
