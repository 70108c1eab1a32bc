#!/usr/bin/env bash
# P7: publish -> in a lake object, against the configured [delivery] interval_s. A probe reading is
# POSTed to /v1/ingest (answered after the durable append); it is in the lake once the catalog
# transaction that makes an object holding it current commits. Each probe has an event hour of its
# own (2021-01-01 plus i hours), so the first object of that partition is the one that holds it,
# and the latency is that transaction's snapshot_time (the daemon's clock, taken as the transaction
# begins, a few ms before its COMMIT is durable) minus the moment just before the POST.
# Two phases, PROBES each:
#   idle    only the probe, one at a time, each waiting for its own flush: the interval timer alone
#   loaded  a background of 100 devices x 10 readings/s over HTTP (1,000 rows/s, too few to fill
#           [delivery] size_hint_bytes within the interval), probes sent every 0.37 x INTERVAL + 0.1 s
# A short interval keeps the run short; the ratio is to the interval the run configured. The
# idle phase also polls the catalog (every 20 ms) and reports when the probe was seen there.
# Usage: bench/lake_latency.sh [INTERVAL_S=5] [PROBES=10]
source "$(dirname "$0")/lib.sh"
INTERVAL=${1:-5}
PROBES=${2:-10}
bench_build
WORK=$(mktemp -d /tmp/sp-bench-XXXXXX)
cleanup() { kill "${BG_PID:-}" "${SP_PID:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
step() { echo "[$(date -u +%T)] $*" >&2; }
step "lake_latency: [delivery] interval_s = $INTERVAL, $PROBES probes idle and $PROBES under load; $(machine_line); load average $LOAD_START"

start_daemon "$WORK/sp" "token = \"bench-token\"
[delivery]
interval_s = $INTERVAL"
CATALOG=$WORK/sp/data/catalog.sqlite
URL=http://127.0.0.1:$HTTP_PORT/v1/ingest

probe() {  # probe I: POSTs probe I and appends "I sent_us partition" to $WORK/probes
  local ts=$((1609459200 + $1 * 3600)) sent
  sent=$(date +%s%6N)
  curl -sf -o /dev/null -H "Authorization: Bearer bench-token" --data-binary \
    "{\"client_id\": \"probe\", \"timestamp\": $ts, \"temperature\": 1.5, \"count\": $1}" "$URL" ||
    { echo "probe $1 was not accepted: $(tail -5 "$WORK/sp/log")" >&2; exit 1; }
  echo "$1 $sent $(date -u -d "@$ts" +dt=%Y-%m-%d/hour=%H)" >> "$WORK/probes"
}
landed() {  # landed PARTITION: when the first object of it was committed (µs), or nothing yet
  sqlite3 -cmd '.timeout 2000' "$CATALOG" "SELECT min(s.snapshot_time) FROM data_file f
    JOIN snapshot s ON s.snapshot_id = f.begin_snapshot WHERE f.view = 'readings' AND f.partition = '$1'"
}
wait_landed() {  # wait_landed PARTITION: polls until it is in the catalog; prints when it was seen (µs)
  local deadline=$(( $(date +%s) + 3 * INTERVAL + 30 ))
  until [[ -n $(landed "$1") ]]; do
    (( $(date +%s) < deadline )) || { echo "$1 did not reach the lake: $(tail -5 "$WORK/sp/log")" >&2; exit 1; }
    sleep 0.02
  done
  date +%s%6N
}

: > "$WORK/probes"; : > "$WORK/idle"; : > "$WORK/idle_seen"; : > "$WORK/loaded"
step "idle: one probe at a time"
for i in $(seq 1 "$PROBES"); do
  probe "$i"
  read -r _ sent partition < <(tail -1 "$WORK/probes")
  seen=$(wait_landed "$partition")
  committed=$(landed "$partition")
  echo "($committed - $sent) / 1000000" | bc -l >> "$WORK/idle"
  echo "($seen - $sent) / 1000000" | bc -l >> "$WORK/idle_seen"
  step "$(printf 'probe %d: in the lake after %.3f s (seen by polling after %.3f s)' "$i" "$(tail -1 "$WORK/idle")" \
    "$(tail -1 "$WORK/idle_seen")")"
  sleep "0.$((RANDOM % 10))"
done

step "loaded: 1,000 rows/s in the background, a probe every $(calc "0.37 * $INTERVAL + 0.1") s"
gen_lines 60000 > "$WORK/lines"
split -l 100 -d -a 4 "$WORK/lines" "$WORK/chunk."
background() {
  while :; do
    for f in "$WORK"/chunk.*; do
      curl -s -o /dev/null -H "Authorization: Bearer bench-token" --data-binary @"$f" "$URL"
      sleep 0.1
    done
  done
}
background &
BG_PID=$!
sleep $((2 * INTERVAL))  # a few flushes of the background first
for i in $(seq $((PROBES + 1)) $((2 * PROBES))); do
  probe "$i"
  sleep "$(calc "0.37 * $INTERVAL + 0.1")"
done
while read -r i sent partition; do
  (( i > PROBES )) || continue
  wait_landed "$partition" > /dev/null
  committed=$(landed "$partition")
  echo "($committed - $sent) / 1000000" | bc -l >> "$WORK/loaded"
  step "$(printf 'probe %d: in the lake after %.3f s' "$i" "$(tail -1 "$WORK/loaded")")"
done < "$WORK/probes"
kill "$BG_PID"; wait "$BG_PID" 2>/dev/null || true; unset BG_PID

# Every probe is readable through the readings view.
FOUND=$("$BIN/sensorpipe" query --config "$WORK/sp/sensorpipe.toml" --format csv \
  "SELECT count(*) AS n FROM readings WHERE device = 'probe'" | tail -1 | tr -d '\r')  # CSV lines end with CRLF
[[ $FOUND == $((2 * PROBES)) ]] || { echo "readings holds $FOUND probes, not $((2 * PROBES))" >&2; exit 1; }

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
MACHINE="$(machine_line); load average $LOAD_START at the start, $LOAD_END at the end; tree $(git -C "$ROOT" describe --always --dirty)"
stats() {  # stats FILE: the JSON fields of one set of latencies
  local m mn mx; m=$(median < "$1"); read -r mn mx < <(minmax < "$1")
  echo "\"median_s\": $m, \"min_s\": $mn, \"max_s\": $mx, \"runs_s\": [$(awk -v OFMT=%.4f '{printf "%s%s", (NR > 1 ? ", " : ""), $1 + 0}' "$1")]"
}
WORST=$(cat "$WORK/idle" "$WORK/loaded" | minmax | cut -d' ' -f2)
RATIO=$(calc "$WORST / $INTERVAL")
cat > "$RESULTS/lake_latency.json" <<JSON
{"name": "lake_latency", "target": "P7 <= the configured interval (default 60 s), floor <= 300 s; ratio = the slowest probe / interval_s",
 "unit": "s", "interval_s": $INTERVAL, "probes_per_phase": $PROBES,
 "idle": {"what": "one probe at a time, nothing else arriving", $(stats "$WORK/idle"),
   "seen_by_polling": {$(stats "$WORK/idle_seen")}},
 "loaded": {"what": "1,000 rows/s of 100 devices over HTTP in the background", $(stats "$WORK/loaded")},
 "worst_s": $WORST, "ratio": $RATIO, "machine": "$MACHINE"}
JSON
printf 'idle: median %.3f s, max %.3f s; loaded: median %.3f s, max %.3f s (interval %d s)\n' "$(median < "$WORK/idle")" \
  "$(minmax < "$WORK/idle" | cut -d' ' -f2)" "$(median < "$WORK/loaded")" "$(minmax < "$WORK/loaded" | cut -d' ' -f2)" \
  "$INTERVAL" >&2
printf 'lake_latency: ratio=%.3f (target 1) value=%.3f s\n' "$RATIO" "$WORST"
