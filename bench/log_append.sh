#!/usr/bin/env bash
# P5: log append throughput against B-SYNC on the same disk (see log_append.cc).
# Usage: bench/log_append.sh [ROUNDS=5] [SECONDS_PER_ROUND=3]
source "$(dirname "$0")/lib.sh"
bench_build log_append_bench
WORK=$(mktemp -d /tmp/sp-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
echo "log_append: $(machine_line)" >&2
"$ROOT/build/bench/log_append_bench" "$WORK" "${1:-5}" "${2:-3}" 2> "$WORK/err" > "$RESULTS/log_append.json"
grep -v '^log_append:' "$WORK/err" >&2
sed -i "s|}$|, \"machine\": \"$(machine_line)\"}|" "$RESULTS/log_append.json"
grep '^log_append:' "$WORK/err"
