#!/usr/bin/env bash
# The README's first command: installs what is missing, builds in Release, and runs the pipeline
# on this machine: a mosquitto broker of the demo's own, `sensorpipe run`, and one simulated
# SenseHAT publishing the seed's message to sensor/data every second at QoS 1. Ctrl-C stops the
# device, then the daemon (which flushes everything to the lake), then the broker.
#
# Environment: SP_DEMO_DIR (default ./demo), SP_BUILD_DIR (default ./build), SP_SKIP_BUILD=1 to use
# binaries already built there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO=${SP_DEMO_DIR:-$ROOT/demo}
BUILD=${SP_BUILD_DIR:-$ROOT/build}
BIN=$BUILD/bin

if [[ -z ${SP_SKIP_BUILD:-} ]]; then
  scripts/bootstrap.sh
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSP_BUILD_TESTS=OFF -DSP_BUILD_BENCH=OFF > /dev/null
  ninja -C "$BUILD" sensorpipe sensorpipe-agent
fi

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
first_free_port() {
  local p=$1
  while listening "$p"; do p=$((p + 1)); done
  echo "$p"
}
wait_until() {  # wait_until SECONDS COMMAND...: true once COMMAND succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

mkdir -p "$DEMO/broker"
DEMO=$(cd "$DEMO" && pwd)
BROKER_PORT=$(first_free_port 1884)
HTTP_PORT=$(first_free_port 8080)
sed -e "s|@PORT@|$BROKER_PORT|" -e "s|@DIR@|$DEMO/broker|" scripts/mosquitto.conf.in > "$DEMO/broker/mosquitto.conf"
# Started as root, mosquitto drops to its own user: that user must be able to write its data.
if [[ $EUID -eq 0 ]] && id mosquitto > /dev/null 2>&1; then chown -R mosquitto "$DEMO/broker"; fi
cat > "$DEMO/sensorpipe.toml" <<CONF
# Written by scripts/demo.sh; see the README for every key.
data_dir = "data"
[mqtt]
url = "mqtt://127.0.0.1:$BROKER_PORT"
topics = ["sensor/#"]
client_id = "sensorpipe-demo"
[ingest]
device_time_zone = "UTC"
[delivery]
interval_s = 10   # short, so the first page fills quickly
[http]
listen = "127.0.0.1:$HTTP_PORT"
CONF

# Children run in their own sessions, so a Ctrl-C reaches only this script, which stops them in
# order (a daemon stopped before its producer would leave the last readings with the broker).
PIDS=()
start() {  # start NAME COMMAND...
  local name=$1; shift
  setsid "$@" >> "$DEMO/$name.log" 2>&1 &
  PIDS+=($!)
  eval "${name//-/_}_PID=$!"
}
stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2> /dev/null || return 0
  for _ in $(seq 1 300); do kill -0 "$pid" 2> /dev/null || return 0; sleep 0.1; done
  echo "demo: pid $pid did not stop in 30 s; killing it" >&2
  kill -KILL "$pid" 2> /dev/null || true
}
STOPPING=
stop_all() {
  [[ -n $STOPPING ]] && return
  STOPPING=1
  echo
  echo "demo: stopping the device, the pipeline and the broker..."
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
  wait 2> /dev/null || true
  echo "demo: stopped. Data stays in $DEMO/data; query it with:"
  echo "  $BIN/sensorpipe query --config $DEMO/sensorpipe.toml \"SELECT count(*) FROM readings\""
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT
died() {
  echo "demo: $1 exited early; the end of its log ($DEMO/$1.log):" >&2
  tail -n 20 "$DEMO/$1.log" >&2
  exit 1
}

start mosquitto mosquitto -c "$DEMO/broker/mosquitto.conf"
wait_until 20 listening "$BROKER_PORT" || died mosquitto
start sensorpipe "$BIN/sensorpipe" run --config "$DEMO/sensorpipe.toml"
wait_until 60 curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/metrics" || died sensorpipe
start agent "$BIN/sensorpipe-agent" --simulate --url "mqtt://127.0.0.1:$BROKER_PORT" --device raspberrypi \
  --topic sensor/data --interval 1

cat <<INFO

sensorpipe is running.
  Dashboard:  http://127.0.0.1:$HTTP_PORT/    (health: /healthz, metrics: /metrics)
  Broker:     mqtt://127.0.0.1:$BROKER_PORT   (one simulated SenseHAT publishes to sensor/data every second)
  Logs:       $DEMO/{mosquitto,sensorpipe,agent}.log
  Query (readings reach the lake every 10 s):
    $BIN/sensorpipe query --config $DEMO/sensorpipe.toml \\
      "SELECT date_trunc('hour', ts) AS hour, avg(temperature), avg(humidity) FROM readings GROUP BY 1 ORDER BY 1"
Press Ctrl-C to stop.
INFO

while true; do
  for name in mosquitto sensorpipe agent; do
    pid_var="${name}_PID"
    kill -0 "${!pid_var}" 2> /dev/null || died "$name"
  done
  sleep 1
done
