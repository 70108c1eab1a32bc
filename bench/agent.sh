#!/usr/bin/env bash
# P14: the device agent at one reading per second over mutual TLS: its anonymous and resident
# memory and its CPU, beside the baseline a user would otherwise run on the device: one long-lived
# `mosquitto_pub -l` with the same TLS options and QoS, fed the same message one line a second.
# Targets (absolute): RssAnon <= 5 MB and CPU <= 1 % of a core, floor VmRSS <= 12 MB.
#
# Both publish at once to one broker (mosquitto with require_certificate, a CA, server and client
# certificates made here with the openssl CLI) through the whole measured period, split into
# WINDOWS windows: at one message a second neither competes for the cores, so side by side in the
# same windows is the fairest pairing (throughput benchmarks alternate instead). Per window: CPU %
# of a core (utime + stime from /proc/PID/stat) and RssAnon, VmRSS from /proc/PID/status; VmHWM at
# the end. The CPU value is the whole period's (a window holds only a few 10 ms clock ticks).
# A subscriber counts what each delivered, so a publisher that stalled cannot look frugal.
# The baseline's feeding loop is not counted; the agent's figures include its simulated sampling
# and its spool (defaults: an fsync per reading).
#
# Only the x86 build is measured: the arm64 binary under qemu-user would show the emulator's
# memory and CPU, which say nothing about a Raspberry Pi's.
# Usage: bench/agent.sh [SECONDS=120] [WINDOWS=5]
source "$(dirname "$0")/lib.sh"
SECONDS_MEASURED=${1:-120}
WINDOWS=${2:-5}
WARMUP=5
bench_build
WORK=$(mktemp -d /tmp/sp-bench-XXXXXX)
cleanup() {
  kill "${AGENT_PID:-}" "${PUB_PID:-}" "${FEED_PID:-}" "${SUB_PID:-}" "${BROKER_PID:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
echo "agent: ${SECONDS_MEASURED}s measured in $WINDOWS windows after ${WARMUP}s of warm-up; $(machine_line), $(openssl version)" >&2

# A CA, the broker's certificate (for 127.0.0.1) and one client certificate per publisher and the
# subscriber (CN = its id), all EC P-256 as `sensorpipe certs` makes them.
TLS=$WORK/tls
mkdir -p "$TLS"
newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${newkey[@]}" -keyout "$TLS/ca.key" -out "$TLS/ca.crt" -subj "/CN=sensorpipe bench CA" -days 2 2>/dev/null
issue() {  # issue NAME EXTENSIONS: NAME.key and NAME.crt with CN=NAME, signed by the CA
  openssl req -new "${newkey[@]}" -keyout "$TLS/$1.key" -out "$TLS/$1.csr" -subj "/CN=$1" 2>/dev/null
  openssl x509 -req -in "$TLS/$1.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial -days 2 \
    -extfile <(printf '%b\n' "$2") -out "$TLS/$1.crt" 2>/dev/null
}
issue broker 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'
for id in bench-agent bench-pub bench-sub; do issue "$id" 'extendedKeyUsage=clientAuth'; done
tls_args() { echo --cafile "$TLS/ca.crt" --cert "$TLS/$1.crt" --key "$TLS/$1.key"; }

# The listener start_broker opens takes these TLS options (they apply to the listener above them).
start_broker "$WORK/broker" "cafile $TLS/ca.crt
certfile $TLS/broker.crt
keyfile $TLS/broker.key
require_certificate true
use_identity_as_username true"

# shellcheck disable=SC2046  # tls_args' words are meant to split
mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" $(tls_args bench-sub) -i bench-sub -q 1 -t 'sensor/#' -v > "$WORK/sub.out" &
SUB_PID=$!

# The agent, simulating its sensors, with everything else at its defaults.
mkdir -p "$WORK/agent"
cat > "$WORK/agent/agent.toml" <<CONF
[agent]
device = "bench-agent"
interval_s = 1
[mqtt]
url = "mqtts://127.0.0.1:$BROKER_PORT"
ca_file = "$TLS/ca.crt"
cert_file = "$TLS/bench-agent.crt"
key_file = "$TLS/bench-agent.key"
CONF
"$BIN/sensorpipe-agent" --simulate --config "$WORK/agent/agent.toml" > "$WORK/agent/log" 2>&1 &
AGENT_PID=$!

# The baseline: the same message, one line a second through a FIFO into one mosquitto_pub.
mkdir -p "$WORK/once"
MESSAGE=$("$BIN/sensorpipe-agent" --simulate --once --device bench-pub --config "$WORK/once/agent.toml")
mkfifo "$WORK/feed"
while echo "$MESSAGE"; do sleep 1; done > "$WORK/feed" &
FEED_PID=$!
# shellcheck disable=SC2046
mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" $(tls_args bench-pub) -i bench-pub -q 1 -t sensor/bench-pub/data -l \
  < "$WORK/feed" > "$WORK/pub.log" 2>&1 &
PUB_PID=$!

delivered() { grep -c "^sensor/$1/data " "$WORK/sub.out" || true; }
for _ in $(seq 1 500); do
  (($(delivered bench-agent) > 0 && $(delivered bench-pub) > 0)) && break
  sleep 0.02
done
if (($(delivered bench-agent) == 0 || $(delivered bench-pub) == 0)); then
  echo "agent: nothing delivered: agent: $(cat "$WORK/agent/log") mosquitto_pub: $(cat "$WORK/pub.log")" >&2
  exit 1
fi
sleep "$WARMUP"

# status_mb PID FIELD: a /proc/PID/status field (in kB there) in MB of 10^6 bytes, as the targets are
status_mb() { awk -v f="$2:" '$1 == f {printf "%.3f\n", $2 * 1024 / 1e6}' "/proc/$1/status"; }
A_CPU0=$(cpu_seconds "$PUB_PID"); B_CPU0=$(cpu_seconds "$AGENT_PID"); A_N0=$(delivered bench-pub); B_N0=$(delivered bench-agent)
T0=$(now)
for w in $(seq 1 "$WINDOWS"); do
  a0=$(cpu_seconds "$PUB_PID"); b0=$(cpu_seconds "$AGENT_PID"); t0=$(now)
  sleep "$(calc "$SECONDS_MEASURED / $WINDOWS")"
  a1=$(cpu_seconds "$PUB_PID"); b1=$(cpu_seconds "$AGENT_PID"); t1=$(now)
  for p in "a $PUB_PID $a0 $a1" "b $AGENT_PID $b0 $b1"; do
    read -r k pid c0 c1 <<< "$p"
    calc "($c1 - $c0) * 100 / ($t1 - $t0)" >> "$WORK/$k.cpu"
    status_mb "$pid" RssAnon >> "$WORK/$k.anon"
    status_mb "$pid" VmRSS >> "$WORK/$k.rss"
  done
  printf 'window %d: mosquitto_pub %.2f%% CPU, RssAnon %.2f MB, VmRSS %.2f MB; agent %.2f%% CPU, RssAnon %.2f MB, VmRSS %.2f MB\n' \
    "$w" "$(tail -1 "$WORK/a.cpu")" "$(tail -1 "$WORK/a.anon")" "$(tail -1 "$WORK/a.rss")" \
    "$(tail -1 "$WORK/b.cpu")" "$(tail -1 "$WORK/b.anon")" "$(tail -1 "$WORK/b.rss")" >&2
done
T1=$(now)
A_CPU=$(calc "($(cpu_seconds "$PUB_PID") - $A_CPU0) * 100 / ($T1 - $T0)")
B_CPU=$(calc "($(cpu_seconds "$AGENT_PID") - $B_CPU0) * 100 / ($T1 - $T0)")
A_HWM=$(status_mb "$PUB_PID" VmHWM); B_HWM=$(status_mb "$AGENT_PID" VmHWM)
A_N=$(($(delivered bench-pub) - A_N0)); B_N=$(($(delivered bench-agent) - B_N0))
# One a second, give or take the messages in flight at either end of the period.
for n in "$A_N" "$B_N"; do
  if ((n < SECONDS_MEASURED * 9 / 10)); then
    echo "agent: only $A_N (mosquitto_pub) and $B_N (agent) messages delivered in ${SECONDS_MEASURED}s: $(tail -5 "$WORK/agent/log")" >&2
    exit 1
  fi
done

# side KEY: the JSON figures of one side
side() {
  local k=$1 cpu=$2 hwm=$3 n=$4
  read -r cmin cmax < <(minmax < "$WORK/$k.cpu"); read -r amin amax < <(minmax < "$WORK/$k.anon")
  read -r rmin rmax < <(minmax < "$WORK/$k.rss")
  echo "\"cpu_percent\": $cpu, \"cpu_percent_windows\": {\"median\": $(median < "$WORK/$k.cpu"), \"min\": $cmin, \"max\": $cmax},
   \"rss_anon_mb\": {\"median\": $(median < "$WORK/$k.anon"), \"min\": $amin, \"max\": $amax},
   \"vm_rss_mb\": {\"median\": $(median < "$WORK/$k.rss"), \"min\": $rmin, \"max\": $rmax}, \"vm_hwm_mb\": $hwm, \"delivered\": $n"
}
A_ANON=$(median < "$WORK/a.anon"); B_ANON=$(median < "$WORK/b.anon")
A_RSS=$(median < "$WORK/a.rss"); B_RSS=$(median < "$WORK/b.rss")
ratio() { if [[ $(calc "$2 > 0") == 1 ]]; then calc "$1 / $2"; else echo null; fi; }  # null: a baseline of 0
shown() { if [[ $1 == null ]]; then echo n/a; else printf '%.2f' "$1"; fi; }
R_ANON=$(ratio "$B_ANON" "$A_ANON"); R_CPU=$(ratio "$B_CPU" "$A_CPU"); R_RSS=$(ratio "$B_RSS" "$A_RSS")
cat > "$RESULTS/agent.json" <<JSON
{"name": "agent", "target": "P14 RssAnon <= 5 MB, CPU <= 1 % of a core, floor VmRSS <= 12 MB (MB = 10^6 bytes)",
 "seconds": $SECONDS_MEASURED, "windows": $WINDOWS, "rate_per_s": 1, "tls": "mutual, EC P-256",
 "baseline": {"what": "mosquitto_pub -l -q 1 with the same TLS options, one line a second", $(side a "$A_CPU" "$A_HWM" "$A_N")},
 "sensorpipe": {"what": "sensorpipe-agent --simulate, interval 1 s, spool at its defaults", $(side b "$B_CPU" "$B_HWM" "$B_N")},
 "ratio": {"rss_anon": $R_ANON, "cpu": $R_CPU, "vm_rss": $R_RSS}, "machine": "$(machine_line)"}
JSON
printf 'mosquitto_pub: RssAnon %.2f MB, VmRSS %.2f MB (peak %.2f), CPU %.3f%% of a core\n' "$A_ANON" "$A_RSS" "$A_HWM" "$A_CPU"
printf 'sensorpipe-agent: RssAnon %.2f MB, VmRSS %.2f MB (peak %.2f), CPU %.3f%% of a core\n' "$B_ANON" "$B_RSS" "$B_HWM" "$B_CPU"
# Ratios are the agent's figure over mosquitto_pub's; the targets are absolute. RssAnon last, as the headline.
printf 'agent_vm_rss: ratio=%s (target <= 12 MB) value=%.2f MB\n' "$(shown "$R_RSS")" "$B_RSS"
printf 'agent_cpu: ratio=%s (target <= 1 %% of a core) value=%.3f %%\n' "$(shown "$R_CPU")" "$B_CPU"
printf 'agent: ratio=%s (target <= 5 MB RssAnon) value=%.2f MB RssAnon\n' "$(shown "$R_ANON")" "$B_ANON"
