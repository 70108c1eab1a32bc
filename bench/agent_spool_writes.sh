#!/usr/bin/env bash
# What the device agent writes to its card per day at one reading a second, for each spool_sync
# policy: `always` (a sync per reading, the default until 2026-12), `interval:10000` (the default)
# and `none`. Three agents (--simulate, interval 1 s, spool at its defaults but for spool_sync) run
# side by side against one broker, which acknowledges every reading, through WINDOWS windows:
# at one reading a second they do not compete, so the same windows are the fairest pairing.
#
# Per window and agent: write_bytes of /proc/PID/io, the bytes the process caused to be written to
# the disk. Linux counts a page each time it goes from clean to dirty, so a sync per reading
# counts a 4 KiB page per reading, and readings synced together share their pages: this is the
# flash-write figure an SD card feels. Not counted, for any policy: the file system's journal
# commit that each fdatasync of a growing file adds (ext4: a few blocks each), which makes
# `always` costlier still than shown. Also per window: the agent's own counters from /metrics,
# fdatasync calls (sensorpipe_agent_spool_syncs_total) and bytes handed to write()
# (sensorpipe_agent_spool_written_bytes_total). Each is scaled to a day (x 86400 / window
# seconds); the medians over the windows are reported. The agents log to a pipe, so their log
# lines are not counted as spool writes. The spool is on WORKDIR's disk, which must not be tmpfs.
# The figures count pages and syncs, which the build type does not change: BENCH_BIN=DIR takes the
# agent from DIR (e.g. build-test/bin) instead of building the Release one, which needs the daemon.
# Usage: [BENCH_BIN=DIR] [WORKDIR=DIR] bench/agent_spool_writes.sh [SECONDS=300] [WINDOWS=5]
source "$(dirname "$0")/lib.sh"
SECONDS_MEASURED=${1:-300}
WINDOWS=${2:-5}
WARMUP=15
POLICIES=(always interval:10000 none)
if [[ -n ${BENCH_BIN:-} ]]; then
  BIN=$(cd "$BENCH_BIN" && pwd)
else
  # The Release build is shared: build it only while holding the build lock.
  exec 9> "$ROOT/.build.lock"
  flock 9
  bench_build
  flock -u 9
fi
WORK=$(mktemp -d "${WORKDIR:-/var/tmp}/sp-bench-XXXXXX")
cleanup() {
  for pid in ${AGENT_PIDS[@]+"${AGENT_PIDS[@]}"} "${BROKER_PID:-}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
FS=$(df --output=fstype "$WORK" | tail -1)
if [[ $FS == tmpfs ]]; then
  echo "agent_spool_writes: $WORK is on tmpfs, which writes nothing to a disk: set WORKDIR" >&2
  exit 1
fi
echo "agent_spool_writes: ${SECONDS_MEASURED}s measured in $WINDOWS windows after ${WARMUP}s of warm-up, spool on $FS, $BIN/sensorpipe-agent; $(machine_line)" >&2

start_broker "$WORK/broker"
AGENT_PIDS=()
PORTS=()
for i in "${!POLICIES[@]}"; do
  dir=$WORK/agent$i
  mkdir -p "$dir"
  PORTS[i]=$(free_port)
  cat > "$dir/agent.toml" <<CONF
[agent]
device = "bench-spool-$i"
interval_s = 1
spool_sync = "${POLICIES[i]}"
metrics_listen = "127.0.0.1:${PORTS[i]}"
[mqtt]
url = "mqtt://127.0.0.1:$BROKER_PORT"
CONF
  "$BIN/sensorpipe-agent" --simulate --config "$dir/agent.toml" > >(cat > "$dir/log") 2>&1 &
  AGENT_PIDS[i]=$!
done
for i in "${!POLICIES[@]}"; do wait_port "${PORTS[i]}"; done
sleep "$WARMUP"

write_bytes() { awk '$1 == "write_bytes:" {print $2}' "/proc/$1/io"; }
# sample I: "write_bytes syncs written" of agent I now
sample() {
  echo "$(write_bytes "${AGENT_PIDS[$1]}") $(metric "${PORTS[$1]}" sensorpipe_agent_spool_syncs_total)" \
    "$(metric "${PORTS[$1]}" sensorpipe_agent_spool_written_bytes_total)"
}
WINDOW_S=$(calc "$SECONDS_MEASURED / $WINDOWS")
for w in $(seq 1 "$WINDOWS"); do
  declare -A before=()
  for i in "${!POLICIES[@]}"; do before[$i]=$(sample "$i"); done
  t0=$(now)
  sleep "$WINDOW_S"
  t1=$(now)
  line="window $w:"
  for i in "${!POLICIES[@]}"; do
    read -r b0 s0 x0 <<< "${before[$i]}"
    read -r b1 s1 x1 < <(sample "$i")
    day=$(calc "86400 / ($t1 - $t0)")
    calc "($b1 - $b0) * $day / 1000000" >> "$WORK/$i.disk"
    calc "($s1 - $s0) * $day" >> "$WORK/$i.syncs"
    calc "($x1 - $x0) * $day / 1000000" >> "$WORK/$i.written"
    line+=$(printf ' %s %.1f MB/day to the disk, %.0f syncs/day;' "${POLICIES[i]}" "$(tail -1 "$WORK/$i.disk")" \
      "$(tail -1 "$WORK/$i.syncs")")
  done
  echo "$line" >&2
done
for i in "${!POLICIES[@]}"; do
  if ! kill -0 "${AGENT_PIDS[i]}" 2>/dev/null; then
    echo "agent_spool_writes: the ${POLICIES[i]} agent died: $(tail -5 "$WORK/agent$i/log")" >&2
    exit 1
  fi
done

policy_json() {
  local i=$1
  read -r dmin dmax < <(minmax < "$WORK/$i.disk")
  echo "\"${POLICIES[i]}\": {\"disk_mb_per_day\": {\"median\": $(median < "$WORK/$i.disk"), \"min\": $dmin, \"max\": $dmax},
   \"syncs_per_day\": $(median < "$WORK/$i.syncs"), \"write_calls_mb_per_day\": $(median < "$WORK/$i.written")}"
}
ALWAYS=$(median < "$WORK/0.disk")
DEFAULT=$(median < "$WORK/1.disk")
NONE=$(median < "$WORK/2.disk")
RATIO=$(calc "$DEFAULT / $ALWAYS")
cat > "$RESULTS/agent_spool_writes.json" <<JSON
{"name": "agent_spool_writes", "target": "the default policy writes fewer bytes to the card than a sync per reading (ratio < 1)",
 "what": "sensorpipe-agent --simulate at 1 reading/s per spool_sync policy; write_bytes of /proc/PID/io scaled to a day (MB = 10^6 bytes); journal commits not counted",
 "seconds": $SECONDS_MEASURED, "windows": $WINDOWS, "filesystem": "$FS", "agent": "${BIN#"$ROOT"/}/sensorpipe-agent",
 "policies": {$(policy_json 0), $(policy_json 1), $(policy_json 2)},
 "ratio": $RATIO, "machine": "$(machine_line)"}
JSON
for i in "${!POLICIES[@]}"; do
  printf '%s: %.1f MB/day to the disk (median of %d windows), %.0f syncs/day, %.1f MB/day handed to write()\n' \
    "${POLICIES[i]}" "$(median < "$WORK/$i.disk")" "$WINDOWS" "$(median < "$WORK/$i.syncs")" "$(median < "$WORK/$i.written")"
done
printf 'agent_spool_writes_none: value=%.1f MB/day\n' "$NONE"
printf 'agent_spool_writes_always: value=%.1f MB/day\n' "$ALWAYS"
printf 'agent_spool_writes: ratio=%.3f (target < 1) value=%.1f MB/day\n' "$RATIO" "$DEFAULT"
