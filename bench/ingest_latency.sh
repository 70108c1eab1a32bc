#!/usr/bin/env bash
# P4: publish -> durable in the log at a fixed offered rate (default 50,000 msg/s, about half of
# P1's), against B-LAT (publish -> plain subscriber) through the same broker, alternating.
# Target: sensorpipe's p99 <= B-LAT's p99 + one group commit (a 4 KiB append + fdatasync here).
# Usage: bench/ingest_latency.sh [RATE=50000] [SECONDS_PER_ROUND=10] [ROUNDS=5]
source "$(dirname "$0")/lib.sh"
RATE=${1:-50000}
SECONDS_PER_ROUND=${2:-10}
ROUNDS=${3:-5}
bench_build ingest_latency_bench
WORK=$(mktemp -d /tmp/sp-bench-XXXXXX)
cleanup() { kill "${BROKER_PID:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
echo "ingest_latency: $RATE msg/s, ${SECONDS_PER_ROUND}s rounds, $ROUNDS rounds; $(machine_line)" >&2
# mosquitto leaves Nagle on for its clients' sockets unless told (set_tcp_nodelay, false by
# default): without this both paths carry a ~10 ms p99 from the broker's side of the hop.
start_broker "$WORK/broker" "set_tcp_nodelay true"
OUT=$("$ROOT/build/bench/ingest_latency_bench" "$BROKER_PORT" "$WORK/data" "$RATE" "$SECONDS_PER_ROUND" "$ROUNDS")
read -r BASE SP SYNC < <(node -e 'const r = JSON.parse(process.argv[1]);
  console.log(r.baseline_ms.p99, r.sensorpipe_ms.p99, r.group_commit_ms)' "$OUT")
TARGET=$(calc "$BASE + $SYNC")
RATIO=$(calc "$SP / $TARGET")
cat > "$RESULTS/ingest_latency.json" <<JSON
{"name": "ingest_latency", "target": "P4 p99 <= B-LAT p99 + one group commit, floor p99 <= 25 ms", "unit": "ms",
 "measured": $OUT,
 "target_ms": $TARGET, "ratio": $RATIO, "machine": "$(machine_line)"}
JSON
printf 'ingest_latency: ratio=%.2f (target 1.00: p99 <= %.3f ms) value=%.3f ms p99\n' "$RATIO" "$TARGET" "$SP"
