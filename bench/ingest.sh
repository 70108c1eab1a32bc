#!/usr/bin/env bash
# P1 / B-MQ0 (QoS 0) and P2 / B-MQ1 (QoS 1): messages through the broker to a plain subscriber
# (baseline) and into sensorpipe's durable log (fsync = "batch"; at QoS 1 the PUBACK waits for
# it), alternating A B A B ... ROUNDS times. Also P3: the daemon's CPU time per message against
# the broker's over the same sensorpipe rounds, and the daemon's peak memory.
# UNTIL=lake times each sensorpipe round until every record is in a lake object (delivered) rather
# than in the log, with compaction at its default (20 objects an hour) running during the rounds and
# delivery flushing each partition's buffer after 1 s of age instead of 60 (so the round's tail is
# not an idle wait for the flush timer); its results go to <name>_lake.json.
# Usage: [UNTIL=log|lake] bench/ingest.sh QOS [MESSAGES_PER_ROUND=300000] [ROUNDS=5]
source "$(dirname "$0")/lib.sh"
QOS=${1:?usage: bench/ingest.sh QOS [MESSAGES] [ROUNDS]}
N=${2:-300000}
ROUNDS=${3:-5}
NAME=ingest_qos$QOS
UNTIL=${UNTIL:-log}
case $UNTIL in
  log) COUNTER=sensorpipe_records_appended_total ;;
  lake) COUNTER='sensorpipe_records_delivered_total{view="raw"}'; NAME+=_lake; COMPACT_OBJECTS=${COMPACT_OBJECTS:-20}
        COMPACTION_CONF=$'[delivery]\ninterval_s = 1\n[compaction]\nobjects = '"$COMPACT_OBJECTS"$'\n'"${SP_EXTRA_CONF:-}" ;;
  *) echo "UNTIL must be log or lake, not '$UNTIL'" >&2; exit 2 ;;
esac
if [[ $QOS == 1 ]]; then TARGET=0.85; PLABEL="P2 >= 0.85 x B-MQ1, floor 40k msg/s"; else TARGET=0.90; PLABEL="P1 >= 0.90 x B-MQ0, floor 100k msg/s"; fi
bench_build
WORK=$(mktemp -d /tmp/sp-bench-XXXXXX)
cleanup() { kill "${SP_PID:-}" "${BROKER_PID:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

gen_lines "$N" > "$WORK/lines"
# mosquitto_pub's 16-bit message ids wrap after 65,535 QoS 1 messages and it quits early, so QoS 1
# is sent by parallel publishers of at most 60,000 lines each.
split -l 60000 -d "$WORK/lines" "$WORK/part."
echo "$NAME: $N lines of $(( $(wc -c < "$WORK/lines") / N )) bytes, $ROUNDS rounds, timed until in the $UNTIL, [compaction] objects = ${COMPACT_OBJECTS:-100000}; $(machine_line)" >&2
start_broker "$WORK/broker"

start_daemon "$WORK/sp" "$COMPACTION_CONF"

publish() {  # publish TOPIC: every line, at $QOS
  local pids=()
  for part in "$WORK"/part.*; do
    mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -t "$1" -q "$QOS" -M 100 -l < "$part" &
    pids+=($!)
  done
  wait "${pids[@]}"
}

baseline_round() {
  mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -t bench/base -q "$QOS" -C "$N" > /dev/null &
  local sub=$!
  sleep 0.5  # let the subscription settle; not part of the timed span
  local t0; t0=$(now)
  publish bench/base
  wait "$sub"
  echo "$N / ($(now) - $t0)" | bc -l
}

sensorpipe_round() {  # prints msg/s; appends the daemon's and the broker's µs of CPU per message
  local before target; before=$(metric "$HTTP_PORT" "$COUNTER")
  target=$(echo "$before + $N" | bc)
  local sp0 br0 t0; sp0=$(cpu_seconds "$SP_PID"); br0=$(cpu_seconds "$BROKER_PID"); t0=$(now)
  publish bench/sp
  while (( $(echo "$(metric "$HTTP_PORT" "$COUNTER") < $target" | bc) )); do
    sleep 0.01
    kill -0 "$SP_PID" || { cat "$WORK/sp/log" >&2; exit 1; }
  done
  echo "$N / ($(now) - $t0)" | bc -l
  echo "($(cpu_seconds "$SP_PID") - $sp0) * 1000000 / $N" | bc -l >> "$WORK/cpu_sp"
  echo "($(cpu_seconds "$BROKER_PID") - $br0) * 1000000 / $N" | bc -l >> "$WORK/cpu_broker"
}

: > "$WORK/a"; : > "$WORK/b"; : > "$WORK/cpu_sp"; : > "$WORK/cpu_broker"
for r in $(seq 1 "$ROUNDS"); do
  a=$(baseline_round); b=$(sensorpipe_round)
  echo "$a" >> "$WORK/a"; echo "$b" >> "$WORK/b"
  printf 'round %d: baseline %.0f msg/s, sensorpipe %.0f msg/s; CPU per message: daemon %.2f µs, broker %.2f µs\n' \
    "$r" "$a" "$b" "$(tail -1 "$WORK/cpu_sp")" "$(tail -1 "$WORK/cpu_broker")" >&2
done

A=$(median < "$WORK/a"); B=$(median < "$WORK/b")
read -r AMIN AMAX < <(minmax < "$WORK/a"); read -r BMIN BMAX < <(minmax < "$WORK/b")
RATIO=$(calc "$B / $A")
CPU_SP=$(median < "$WORK/cpu_sp"); CPU_BROKER=$(median < "$WORK/cpu_broker")
CPU_RATIO=$(calc "$CPU_SP / $CPU_BROKER")
PEAK=$(rss_mib "$SP_PID" VmHWM)
cat > "$RESULTS/$NAME.json" <<JSON
{"name": "$NAME", "target": "$PLABEL", "unit": "msg/s", "messages_per_round": $N, "rounds": $ROUNDS,
 "baseline": {"what": "mosquitto_pub -q $QOS -> broker -> mosquitto_sub -q $QOS", "median": $A, "min": $AMIN, "max": $AMAX},
 "sensorpipe": {"what": "mosquitto_pub -q $QOS -> broker -> sensorpipe durable append (fsync batch), timed until in the $UNTIL", "compaction_objects": ${COMPACT_OBJECTS:-100000}, "median": $B, "min": $BMIN, "max": $BMAX},
 "ratio": $RATIO,
 "cpu_us_per_message": {"target": "P3 daemon <= 0.35 x broker and <= 2.77 (B-VM), floor 5", "daemon": $CPU_SP,
   "broker": $CPU_BROKER, "ratio": $CPU_RATIO},
 "daemon_peak_rss_mib": $PEAK, "machine": "$(machine_line)"}
JSON
printf 'daemon CPU per message %.2f µs, broker %.2f µs; daemon peak RSS %s MiB\n' "$CPU_SP" "$CPU_BROKER" "$PEAK" >&2
printf '%s_cpu: ratio=%.2f (target 0.35) value=%.2f µs/msg\n' "$NAME" "$CPU_RATIO" "$CPU_SP"
printf '%s: ratio=%.2f (target %s) value=%.0f msg/s\n' "$NAME" "$RATIO" "$TARGET" "$B"
