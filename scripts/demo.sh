#!/usr/bin/env bash
# The README's first command: installs what is missing, builds in Release, and runs the pipeline
# on this machine: a mosquitto broker of the demo's own, `sensorpipe run`, and one simulated
# SenseHAT publishing the seed's message to sensor/data every second at QoS 1. Ctrl-C stops the
# device, then the daemon (which flushes everything to the lake), then the broker.
#
# --secure runs it with the trust model of docs/trust.md instead: a device CA from `sensorpipe
# certs` (kept in demo/certs across runs), the broker from `sensorpipe broker-config` (TLS, client
# certificates required, the ACL), the daemon subscribing with sensorpipe's own certificate and the
# device publishing to sensor/raspberrypi/data with its own. The plain mode stays the default so
# that a message can be sent to the demo with a bare mosquitto_pub.
#
# Environment: SP_DEMO_DIR (default ./demo), SP_BUILD_DIR (default ./build), SP_SKIP_BUILD=1 to use
# binaries already built there.
set -euo pipefail
SECURE=
for arg in "$@"; do
  case $arg in
    --secure) SECURE=1 ;;
    *) echo "usage: scripts/demo.sh [--secure]   (unknown argument: $arg)" >&2; exit 2 ;;
  esac
done
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
if [[ -z $SECURE ]]; then
  sed -e "s|@PORT@|$BROKER_PORT|" -e "s|@DIR@|$DEMO/broker|" scripts/mosquitto.conf.in > "$DEMO/broker/mosquitto.conf"
  BROKER_URL="mqtt://127.0.0.1:$BROKER_PORT"
  MQTT_EXTRA='client_id = "sensorpipe-demo"'
  AGENT_ARGS=(--url "$BROKER_URL" --device raspberrypi --topic sensor/data --interval 1)
  PUBLISHES="publishes to sensor/data"
else
  CERTS=$DEMO/certs
  if [[ ! -f $CERTS/ca.crt ]]; then "$BIN/sensorpipe" certs init --dir "$CERTS"; fi
  if [[ ! -f $CERTS/devices/raspberrypi.crt ]]; then "$BIN/sensorpipe" certs issue raspberrypi --dir "$CERTS"; fi
  "$BIN/sensorpipe" broker-config --certs "$CERTS" --port "$BROKER_PORT" --data "$DEMO/broker" \
    --out "$DEMO/broker/mosquitto.conf"
  BROKER_URL="mqtts://127.0.0.1:$BROKER_PORT"
  MQTT_EXTRA='ca_file = "certs/ca.crt"
cert_file = "certs/sensorpipe.crt"
key_file = "certs/sensorpipe.key"'
  cat > "$DEMO/agent.toml" <<CONF
# Written by scripts/demo.sh --secure: the simulated device with its own certificate.
[agent]
device = "raspberrypi"
interval_s = 1
[mqtt]
url = "$BROKER_URL"
ca_file = "certs/ca.crt"
cert_file = "certs/devices/raspberrypi.crt"
key_file = "certs/devices/raspberrypi.key"
CONF
  AGENT_ARGS=(--config "$DEMO/agent.toml")
  PUBLISHES="publishes to sensor/raspberrypi/data with its certificate; TLS, client certificates of $CERTS"
fi
# Started as root, mosquitto drops to its own user: that user must be able to write its data (and,
# in secure mode, read the broker's 0600 key).
if [[ $EUID -eq 0 ]] && id mosquitto > /dev/null 2>&1; then
  chown -R mosquitto "$DEMO/broker"
  if [[ -n $SECURE ]]; then chown mosquitto "$CERTS/server.key"; fi
fi
cat > "$DEMO/sensorpipe.toml" <<CONF
# Written by scripts/demo.sh; see the README for every key.
data_dir = "data"
[mqtt]
url = "$BROKER_URL"
topics = ["sensor/#"]
$MQTT_EXTRA
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
start agent "$BIN/sensorpipe-agent" --simulate --spool "$DEMO/spool" "${AGENT_ARGS[@]}"

cat <<INFO

sensorpipe is running.
  Dashboard:  http://127.0.0.1:$HTTP_PORT/    (health: /healthz, metrics: /metrics)
  Broker:     $BROKER_URL   (one simulated SenseHAT $PUBLISHES, every second)
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
