#!/bin/sh
# Instructions per request of each line of `python -m bench.ack_profile --cpu`, counted by valgrind's
# callgrind (noise-free on a busy machine; all threads of the process). The bench calls os.getppid()
# just before and after each warm-up and each timed run; callgrind dumps its counts at each call
# (--dump-before), so every fourth dump is one line's timed requests.
#   bench/instructions.sh [REQUESTS] [DATABASE_URL]
set -eu
requests=${1:-100}
url=${2:-}
python=${PYTHON:-.venv/bin/python}
dir=$(mktemp -d)
PYTHONHASHSEED=0 PYTHONMALLOC=malloc valgrind --tool=callgrind --dump-before=getppid --callgrind-out-file="$dir/out" \
    "$python" -m bench.ack_profile --cpu --runs 1 --requests "$requests" ${url:+--database-url "$url"} \
    >"$dir/report" 2>"$dir/log"
labels=$(sed -n 's/^  \(.*[^ ]\)  *[0-9.]* \/ .*/\1/p' "$dir/report")
# Dumps in order: .1 start-up, .2 the first warm-up, .3 building requests, .4 the first timed run, …
n=4
echo "$labels" | while IFS= read -r label; do
    total=$(sed -n 's/^summary: //p' "$dir/out.$n")
    printf '  %-34s %8d instructions per request\n' "$label" $((total / requests))
    n=$((n + 4))
done
[ -n "${KEEP:-}" ] && echo "kept $dir" || rm -rf "$dir"
