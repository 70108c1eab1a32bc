#!/usr/bin/env bash
# The cost of a group commit's fdatasync when the segment grows with every commit, against
# writing into zeros kept ahead of the data (the log's zero tail, docs/format/log.md), on the disk
# holding this checkout (see fdatasync_prealloc.cc).
# Usage: bench/fdatasync_prealloc.sh [ROUNDS=5] [SECONDS=3] [RATE=2000] [WRITE_BYTES=10240] [STEP=1048576] [LOG_APPENDS=250]
source "$(dirname "$0")/lib.sh"
bench_build fdatasync_prealloc_bench
WORK=$(mktemp -d "$ROOT/build/fdatasync-XXXXXX")  # on the disk the log would use
trap 'rm -rf "$WORK"' EXIT
echo "fdatasync_prealloc: $(findmnt -n -o FSTYPE,OPTIONS -T "$WORK"); $(machine_line)" >&2
"$ROOT/build/bench/fdatasync_prealloc_bench" "$WORK" "${1:-5}" "${2:-3}" "${3:-2000}" "${4:-10240}" "${5:-1048576}" "${6:-250}" \
  2> "$WORK/err" > "$RESULTS/fdatasync_prealloc.json"
grep -v '^fdatasync_prealloc' "$WORK/err" >&2
sed -i "\$ s|}$|, \"machine\": \"$(machine_line)\"}|" "$RESULTS/fdatasync_prealloc.json"
grep '^fdatasync_prealloc' "$WORK/err"
