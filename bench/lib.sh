# Shared by the benchmark scripts: build, machine line, a broker on a free port, medians, results.
# Sourced, not run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/build/bin
# SENSORPIPE_BIN=DIR runs the daemon from another build (bench/compare_builds.sh: the binary from
# before a change beside the one after), and RESULTS_DIR=DIR writes its results there.
SENSORPIPE=${SENSORPIPE_BIN:-$BIN}/sensorpipe
RESULTS=${RESULTS_DIR:-$ROOT/bench/results}
mkdir -p "$RESULTS"

bench_build() {
  "$ROOT/scripts/bootstrap.sh" >&2
  cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSP_BUILD_TESTS=OFF -DSP_BUILD_BENCH=ON >&2
  ninja -C "$ROOT/build" sensorpipe sensorpipe-agent "$@" >&2
}

machine_line() {
  echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), mosquitto $(mosquitto -h 2>/dev/null | awk 'NR==1 {print $3}')"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start_broker DIR [EXTRA_CONF]: a mosquitto with the same no-loss config as the tests; sets
# BROKER_PID, BROKER_PORT.
start_broker() {
  local dir=$1 extra=${2:-}
  mkdir -p "$dir"
  BROKER_PORT=$(free_port)
  # As root, mosquitto drops to the "mosquitto" user, which cannot write this private folder.
  cat > "$dir/mosquitto.conf" <<CONF
$( ((EUID == 0)) && echo 'user root')
listener $BROKER_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $dir/
max_queued_messages 0
max_inflight_messages 1000
log_dest file $dir/mosquitto.log
$extra
CONF
  mosquitto -c "$dir/mosquitto.conf" > "$dir/stdout.log" 2>&1 &
  BROKER_PID=$!
  wait_port "$BROKER_PORT"
}

# The ingest benchmarks (P1-P4, P12, P13) measure subscribe -> rules -> durable append -> lake
# objects. Compaction is a stage of its own, measured by bench/lake.sh (P9): it costs about what
# DuckDB's own COPY does, some 3 us of CPU per row, and would run during these rounds. It is
# deferred here (an hour is compacted only once quiet, after the run) unless COMPACT_OBJECTS says
# otherwise, e.g. COMPACT_OBJECTS=20 for the default.
# SP_EXTRA_CONF is appended to it, for an A/B of daemon settings (tables allowed), e.g.
# SP_EXTRA_CONF=$'[log]\nshards = 4' bench/ingest.sh 0.
COMPACTION_CONF=$'[compaction]\nobjects = '"${COMPACT_OBJECTS:-100000}"$'\n'"${SP_EXTRA_CONF:-}"

# start_daemon DIR [MORE]: `sensorpipe run` with its data under DIR, subscribed to bench/# on the
# broker start_broker started (if any), its HTTP listener on a free port; MORE is appended to the
# config right after [http] listen, so it may hold [http] keys and then tables. Sets SP_PID,
# HTTP_PORT; returns once the daemon is connected to the broker (or, without one, listening).
start_daemon() {
  local dir=$1 more=${2:-}
  HTTP_PORT=$(free_port)
  mkdir -p "$dir"
  cat > "$dir/sensorpipe.toml" <<CONF
data_dir = "data"
[mqtt]
url = "mqtt://127.0.0.1:${BROKER_PORT:-1}"
topics = ["bench/#"]
[http]
listen = "127.0.0.1:$HTTP_PORT"
$more
CONF
  "$SENSORPIPE" run --config "$dir/sensorpipe.toml" > "$dir/log" 2>&1 &
  SP_PID=$!
  wait_port "$HTTP_PORT"
  [[ -n ${BROKER_PORT:-} ]] || return 0
  for _ in $(seq 1 500); do [[ $(metric "$HTTP_PORT" sensorpipe_mqtt_connected) == 1 ]] && return 0; sleep 0.02; done
  echo "sensorpipe did not connect to the broker: $(cat "$dir/log")" >&2
  return 1
}

wait_port() {
  for _ in $(seq 1 500); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.02
  done
  echo "nothing listens on port $1" >&2
  return 1
}

now() { date +%s.%N; }
# calc EXPR: bc's answer as a JSON number (bc writes .5 for 0.5)
calc() { printf '%.10g\n' "$(echo "$1" | bc -l)"; }

# cpu_seconds PID: user + system CPU time the process has used so far
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
# steal_seconds: CPU time the hypervisor has taken from this VM so far, all cores together (a
# slow window with much of it was the host's, not ours)
steal_seconds() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / {print $9 / hz}' /proc/stat; }
# rss_mib PID [FIELD=VmRSS]: resident memory (VmHWM: its peak so far) in MiB
rss_mib() { awk -v f="${2:-VmRSS}:" '$1 == f {printf "%.1f\n", $2 / 1024}' "/proc/$1/status"; }

# median of the numbers on stdin
# (numbers printed by awk, so bc's .5 comes out as 0.5, valid JSON)
median() { sort -g | awk -v OFMT=%.10g '{a[NR]=$1+0} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
minmax() { sort -g | awk -v OFMT=%.10g 'NR==1 {min=$1+0} {max=$1+0} END {print min, max}'; }

# metric PORT SAMPLE: one sample's value from the daemon's /metrics (0 when absent)
metric() {
  curl -s "http://127.0.0.1:$1/metrics" | awk -v s="$2" '$1 == s {print $2; found=1} END {if (!found) print 0}'
}

# seed-shaped JSON lines of about 102 bytes, the size the baselines were measured with: 100
# devices each sending one a second, so event time moves on one second every 100 lines (as
# ../shared/peers generates its rows), not one a line through a whole day of partitions
gen_lines() {
  awk -v n="$1" 'BEGIN {
    for (i = 0; i < n; i++) {
      s = int(i / 100) % 86400
      printf "{\"client_id\":\"dev%03d\",\"timestamp\":\"2022-07-14 %02d:%02d:%02d\",\"humidity\":%.2f,\"temperature\":%.2f,\"count\":%d}\n",
        i % 100, int(s / 3600), int(s / 60) % 60, s % 60, 40 + (i % 300) / 10, 20 + (i % 170) / 10, i
    }
  }'
}
