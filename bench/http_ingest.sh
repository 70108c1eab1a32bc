#!/usr/bin/env bash
# P13: HTTP ingest of seed-shaped rows answered after the durable write, against VictoriaMetrics
# (B-VM, which answers before its data reaches disk) given the same rows as line protocol, by the
# same loader (http_load: 2 writers, keep-alive, 10,000-row batches), alternating A B A B ...
# Also each server's CPU time per row. Installs Debian's victoria-metrics when it is missing.
# Usage: bench/http_ingest.sh [ROWS=2000000] [ROUNDS=5]
source "$(dirname "$0")/lib.sh"
ROWS=${1:-2000000}
ROUNDS=${2:-5}
command -v victoria-metrics > /dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q victoria-metrics >&2
bench_build http_load
WORK=$(mktemp -d /tmp/sp-bench-XXXXXX)
cleanup() { kill "${SP_PID:-}" "${VM_PID:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# The same values as NDJSON in the seed's shape and as line protocol: 100 devices, one row each a second.
awk -v n="$ROWS" -v nd="$WORK/rows.ndjson" -v lp="$WORK/rows.lp" 'BEGIN {
  t0 = 1657756800  # 2022-07-14 00:00:00 UTC
  for (i = 0; i < n; i++) {
    d = i % 100; s = int(i / 100); t = t0 + s
    hh = int(s / 3600) % 24; mm = int(s / 60) % 60; ss = s % 60; day = 14 + int(s / 86400)
    daily = 5 * sin(6.283185307 * (s % 86400 - 32400) / 86400)
    temp = sprintf("%.3f", 30 + d % 5 + daily + (i % 7) * 0.01); hum = sprintf("%.3f", 58 - 1.8 * daily + (i % 11) * 0.01)
    pres = sprintf("%.3f", 1008.5 + (i % 13) * 0.01); pitch = sprintf("%.3f", (i % 300) / 100)
    roll = sprintf("%.3f", 358 + (i % 200) / 100); yaw = sprintf("%.3f", 180 + (i % 1000) / 100)
    printf "{\"client_id\": \"dev-%03d\", \"timestamp\": \"2022-07-%02d %02d:%02d:%02d\", \"humidity\": %s, \"temperature\": %s, \"pressure\": %s, \"pitch\": %s, \"roll\": %s, \"yaw\": %s, \"count\": %d}\n",
      d, day, hh, mm, ss, hum, temp, pres, pitch, roll, yaw, s > nd
    printf "readings,device=dev-%03d humidity=%s,temperature=%s,pressure=%s,pitch=%s,roll=%s,yaw=%s,count=%di %d\n",
      d, hum, temp, pres, pitch, roll, yaw, s, t > lp
  }
}'
echo "http_ingest: $ROWS rows ($(( $(wc -c < "$WORK/rows.ndjson") / ROWS )) bytes as NDJSON), $ROUNDS rounds; $(machine_line), victoria-metrics $(dpkg-query -W -f='${Version}' victoria-metrics)" >&2

VM_PORT=$(free_port)
mkdir -p "$WORK/vm"
victoria-metrics -storageDataPath="$WORK/vm/data" -httpListenAddr="127.0.0.1:$VM_PORT" -retentionPeriod=100y \
  -loggerLevel=WARN > "$WORK/vm/log" 2>&1 &
VM_PID=$!
wait_port "$VM_PORT"

start_daemon "$WORK/sp" 'token = "bench-token"'$'\n'"$COMPACTION_CONF"

round() {  # round PID PORT PATH FILE [TOKEN]: prints rows/s and appends µs of server CPU per row to $WORK/cpu.<PID>
  local cpu0 out; cpu0=$(cpu_seconds "$1")
  out=$("$ROOT/build/bench/http_load" "$2" "$3" "$4" 10000 2 "${5:-}") || { cat "$WORK/sp/log" >&2; exit 1; }
  echo "($(cpu_seconds "$1") - $cpu0) * 1000000 / $ROWS" | bc -l >> "$WORK/cpu.$1"
  echo "${out%% *}"
}
: > "$WORK/a"; : > "$WORK/b"
for r in $(seq 1 "$ROUNDS"); do
  a=$(round "$VM_PID" "$VM_PORT" "/write?precision=s" "$WORK/rows.lp")
  b=$(round "$SP_PID" "$HTTP_PORT" /v1/ingest "$WORK/rows.ndjson" bench-token)
  echo "$a" >> "$WORK/a"; echo "$b" >> "$WORK/b"
  printf 'round %d: victoria-metrics %.0f rows/s (%.2f µs CPU/row), sensorpipe %.0f rows/s (%.2f µs CPU/row)\n' "$r" "$a" \
    "$(tail -1 "$WORK/cpu.$VM_PID")" "$b" "$(tail -1 "$WORK/cpu.$SP_PID")" >&2
done
A=$(median < "$WORK/a"); B=$(median < "$WORK/b")
read -r AMIN AMAX < <(minmax < "$WORK/a"); read -r BMIN BMAX < <(minmax < "$WORK/b")
RATIO=$(calc "$B / $A")
cat > "$RESULTS/http_ingest.json" <<JSON
{"name": "http_ingest", "target": "P13 >= 1.2 x B-VM rows/s, floor >= B-INFLUX (~400k rows/s)", "unit": "rows/s", "rows_per_round": $ROWS,
 "rounds": $ROUNDS,
 "baseline": {"what": "line protocol -> victoria-metrics /write (answers before disk)", "median": $A, "min": $AMIN, "max": $AMAX,
   "cpu_us_per_row": $(median < "$WORK/cpu.$VM_PID"), "peak_rss_mib": $(rss_mib "$VM_PID" VmHWM)},
 "sensorpipe": {"what": "NDJSON -> sensorpipe /v1/ingest (answers after the durable write)", "median": $B, "min": $BMIN, "max": $BMAX,
   "cpu_us_per_row": $(median < "$WORK/cpu.$SP_PID"), "peak_rss_mib": $(rss_mib "$SP_PID" VmHWM)},
 "ratio": $RATIO, "machine": "$(machine_line)"}
JSON
printf 'http_ingest: ratio=%.2f (target 1.2) value=%.0f rows/s\n' "$RATIO" "$B"
