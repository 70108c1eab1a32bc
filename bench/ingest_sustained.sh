#!/usr/bin/env bash
# P1's floor and P12 over time: QoS 0 messages offered as fast as two publishers can send them for
# DURATION seconds (default 600); every 10 s the daemon's append rate, resident memory and CPU per
# message are printed. Passes when every window holds >= 100k msg/s and memory stays flat (the
# last window's RSS within 10 % of the window after warm-up) under 225 MiB (B-VM's peak).
# Usage: bench/ingest_sustained.sh [DURATION=600]
source "$(dirname "$0")/lib.sh"
DURATION=${1:-600}
bench_build
WORK=$(mktemp -d /tmp/sp-bench-XXXXXX)
cleanup() { kill ${PUB_PIDS[@]:-} "${SP_PID:-}" "${BROKER_PID:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
gen_lines 200000 > "$WORK/lines"
echo "ingest_sustained: ${DURATION}s of QoS 0; $(machine_line)" >&2
start_broker "$WORK/broker"
start_daemon "$WORK/sp" $'[log]\nretention_bytes = 2000000000\n'"$COMPACTION_CONF"

publisher() {  # sends the lines over and over; on TERM it stops the mosquitto_pub it runs
  local child
  trap 'kill "$child" 2>/dev/null; wait "$child"; exit 0' TERM
  while true; do
    mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -t bench/sp -q 0 -l < "$WORK/lines" &
    child=$!
    wait "$child" || exit 1
  done
}
PUB_PIDS=()
for p in 1 2; do
  publisher &
  PUB_PIDS+=($!)
done

: > "$WORK/rates"; : > "$WORK/rss"
t_end=$(echo "$(now) + $DURATION" | bc)
prev_n=$(metric "$HTTP_PORT" sensorpipe_records_appended_total); prev_t=$(now); prev_cpu=$(cpu_seconds "$SP_PID")
prev_steal=$(steal_seconds)
while (( $(echo "$(now) < $t_end" | bc) )); do
  sleep 10
  kill -0 "$SP_PID" || { cat "$WORK/sp/log" >&2; exit 1; }
  n=$(metric "$HTTP_PORT" sensorpipe_records_appended_total); t=$(now); cpu=$(cpu_seconds "$SP_PID"); steal=$(steal_seconds)
  rate=$(calc "($n - $prev_n) / ($t - $prev_t)")
  us=$(calc "($cpu - $prev_cpu) * 1000000 / ($n - $prev_n + 1)")
  rss=$(rss_mib "$SP_PID")
  echo "$rate" >> "$WORK/rates"; echo "$rss" >> "$WORK/rss"
  printf '%4.0fs: %7.0f msg/s, %.2f µs CPU/msg, RSS %s MiB, %s appended, host steal %.0f %%\n' \
    "$(echo "$DURATION - ($t_end - $t)" | bc)" "$rate" "$us" "$rss" "$n" \
    "$(calc "($steal - $prev_steal) * 100 / (($t - $prev_t) * $(nproc))")" >&2
  prev_n=$n; prev_t=$t; prev_cpu=$cpu; prev_steal=$steal
done

MEDIAN=$(median < "$WORK/rates"); read -r MIN MAX < <(minmax < "$WORK/rates")
RSS_WARM=$(sed -n 2p "$WORK/rss"); RSS_WARM=${RSS_WARM:-$(head -1 "$WORK/rss")}; RSS_LAST=$(tail -1 "$WORK/rss"); read -r RSS_MIN RSS_MAX < <(minmax < "$WORK/rss")
PEAK=$(rss_mib "$SP_PID" VmHWM)
FLAT=$(calc "$RSS_LAST <= 1.1 * $RSS_WARM")
cat > "$RESULTS/ingest_sustained.json" <<JSON
{"name": "ingest_sustained", "target": "P1 floor >= 100k msg/s for 10 min; P12 <= 225 MiB (B-VM), flat", "seconds": $DURATION,
 "msg_per_s": {"median": $MEDIAN, "min_10s_window": $MIN, "max_10s_window": $MAX},
 "rss_mib": {"after_warmup": $RSS_WARM, "last": $RSS_LAST, "min": $RSS_MIN, "max": $RSS_MAX, "peak": $PEAK, "flat": $FLAT},
 "machine": "$(machine_line)"}
JSON
printf 'ingest_sustained_memory: ratio=%.2f (target 1.00: peak <= 225 MiB, flat=%s) value=%s MiB peak\n' \
  "$(calc "$PEAK / 225")" "$FLAT" "$PEAK"
printf 'ingest_sustained: ratio=%.2f (target 1.00: every 10 s window >= 100k msg/s) value=%.0f msg/s slowest window, %.0f median\n' \
  "$(calc "$MIN / 100000")" "$MIN" "$MEDIAN"
