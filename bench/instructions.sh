#!/bin/sh
# Instructions per request of one line of `python -m bench.ack_profile --cpu`, counted by valgrind
# (noise-free on a busy machine): two runs, of SMALL and LARGE requests, and the difference divided by
# LARGE - SMALL, so start-up and warm-up cancel out.
#   bench/instructions.sh ONLY [DATABASE_URL]     e.g. bench/instructions.sh directory
set -eu
only=$1
url=${2:-}
small=${SMALL:-20}
large=${LARGE:-120}
python=${PYTHON:-.venv/bin/python}
dir=$(mktemp -d)
count() {
    valgrind --tool=callgrind --callgrind-out-file="$dir/out.$1" "$python" -m bench.ack_profile --cpu --runs 1 \
        --requests "$1" --only "$only" ${url:+--database-url "$url"} >/dev/null 2>"$dir/log.$1"
    sed -n 's/^summary: //p' "$dir/out.$1"
}
a=$(count "$small")
b=$(count "$large")
echo "$only: $(( (b - a) / (large - small) )) instructions per request"
rm -rf "$dir"
