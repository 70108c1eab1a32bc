#!/usr/bin/env bash
# The README's first command: installs what is missing, builds in Release, and runs the pipeline
# on this machine: a mosquitto broker of the demo's own, `sensorpipe run`, and one simulated
# SenseHAT, device "sim-pi" (never the seed's "raspberrypi"), publishing the seed's message to
# sensor/data every second at QoS 1. Ctrl-C stops the device, then the daemon (which flushes
# everything to the lake), then the broker.
#
# --secure runs it with the trust model of docs/trust.md instead: a device CA from `sensorpipe
# certs` (kept in demo/certs across runs), the broker from `sensorpipe broker-config` (TLS, client
# certificates required, the ACL), the daemon subscribing with sensorpipe's own certificate and the
# device publishing to sensor/sim-pi/data with its own. The plain mode stays the default so
# that a message can be sent to the demo with a bare mosquitto_pub.
#
# The daemon takes HTTP ingest with a token generated on the first run and kept in demo/http_token;
# scripts/seed-day.sh loads the seed's day into the running demo with it.
#
# Environment: SP_DEMO_DIR (default ./demo), SP_BUILD_DIR (default ./build), SP_SKIP_BUILD=1 to use
# binaries already built there, SP_DEMO_HTTP_PORT to serve HTTP on that port (default: the first
# free one from 8080).
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
HTTP_PORT=${SP_DEMO_HTTP_PORT:-$(first_free_port 8080)}
# The token for POST /v1/ingest: made once, kept across runs so scripts and devices keep working.
if [[ ! -s $DEMO/http_token ]]; then
  (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$DEMO/http_token")
fi
TOKEN=$(< "$DEMO/http_token")
if [[ -z $SECURE ]]; then
  sed -e "s|@PORT@|$BROKER_PORT|" -e "s|@DIR@|$DEMO/broker|" scripts/mosquitto.conf.in > "$DEMO/broker/mosquitto.conf"
  BROKER_URL="mqtt://127.0.0.1:$BROKER_PORT"
  MQTT_EXTRA='client_id = "sensorpipe-demo"'
  AGENT_ARGS=(--url "$BROKER_URL" --device sim-pi --topic sensor/data --interval 1)
  PUBLISHES="publishes to sensor/data"
else
  CERTS=$DEMO/certs
  if [[ ! -f $CERTS/ca.crt ]]; then "$BIN/sensorpipe" certs init --dir "$CERTS"; fi
  if [[ ! -f $CERTS/devices/sim-pi.crt ]]; then "$BIN/sensorpipe" certs issue sim-pi --dir "$CERTS"; fi
  "$BIN/sensorpipe" broker-config --certs "$CERTS" --port "$BROKER_PORT" --data "$DEMO/broker" \
    --out "$DEMO/broker/mosquitto.conf"
  BROKER_URL="mqtts://127.0.0.1:$BROKER_PORT"
  MQTT_EXTRA='ca_file = "certs/ca.crt"
cert_file = "certs/sensorpipe.crt"
key_file = "certs/sensorpipe.key"'
  cat > "$DEMO/agent.toml" <<CONF
# Written by scripts/demo.sh --secure: the simulated device with its own certificate.
[agent]
device = "sim-pi"
interval_s = 1
[mqtt]
url = "$BROKER_URL"
ca_file = "certs/ca.crt"
cert_file = "certs/devices/sim-pi.crt"
key_file = "certs/devices/sim-pi.key"
CONF
  AGENT_ARGS=(--config "$DEMO/agent.toml")
  PUBLISHES="publishes to sensor/sim-pi/data with its certificate; TLS, client certificates of $CERTS"
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
token = "$TOKEN"   # for POST /v1/ingest; kept in http_token
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
# What the script says once it stops: its output may be a pipe whose reader is gone (`demo.sh |
# tee log` and Ctrl-C: tee dies first), where a write would kill the script with SIGPIPE before
# it stopped anything. So SIGPIPE is ignored from here on and a failed write is not an error.
say() { printf '%s\n' "$@" 2> /dev/null || true; }
# The broker acknowledges a reading to the device before it has passed it on to the daemon, so the
# device's last readings may still be on their way when the device has stopped. Stopping the daemon
# then would lose nothing (the broker keeps them in the daemon's session), but they would reach the
# lake only at its next start: so wait until the daemon has received nothing new for a second
# (at most 10 s) before stopping it.
received() {
  curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" 2> /dev/null | awk '$1 == "sensorpipe_messages_received_total" {print $2}'
}
settle_daemon() {
  local last now
  last=$(received)
  for _ in $(seq 1 10); do
    sleep 1
    now=$(received)
    [[ $now == "$last" ]] && return
    last=$now
  done
}
STOPPING=
stop_all() {
  trap '' PIPE
  set +e
  [[ -n $STOPPING ]] && return
  STOPPING=1
  say "" "demo: stopping the device, the pipeline and the broker..."
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    [[ ${PIDS[$i]} == "${sensorpipe_PID:-}" ]] && settle_daemon
    stop_pid "${PIDS[$i]}"
  done
  wait 2> /dev/null
  say "demo: stopped. Data stays in $DEMO/data; query it with:" \
    "  $BIN/sensorpipe query --config $DEMO/sensorpipe.toml \"SELECT count(*) FROM readings\""
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT
died() {
  trap '' PIPE
  echo "demo: $1 exited early; the end of its log ($DEMO/$1.log):" >&2 || true
  tail -n 20 "$DEMO/$1.log" >&2 || true
  exit 1
}
# Ready: the daemon this script started is alive and its own /healthz answers (it names its pid),
# not whatever else may answer on the port.
daemon_ready() {
  kill -0 "$sensorpipe_PID" 2> /dev/null || died sensorpipe
  curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" 2> /dev/null | grep -q "\"pid\":$sensorpipe_PID[,}]"
}

start mosquitto mosquitto -c "$DEMO/broker/mosquitto.conf"
wait_until 20 listening "$BROKER_PORT" || died mosquitto
start sensorpipe "$BIN/sensorpipe" run --config "$DEMO/sensorpipe.toml"
wait_until 60 daemon_ready || died sensorpipe
start agent "$BIN/sensorpipe-agent" --simulate --spool "$DEMO/spool" "${AGENT_ARGS[@]}"

cat <<INFO

sensorpipe is running.
  Dashboard:  http://127.0.0.1:$HTTP_PORT/    (health: /healthz, metrics: /metrics)
  Broker:     $BROKER_URL   (one simulated SenseHAT $PUBLISHES, every second)
  HTTP ingest token: $TOKEN   (kept in $DEMO/http_token)
    curl -H "Authorization: Bearer $TOKEN" --data-binary @FILE.ndjson http://127.0.0.1:$HTTP_PORT/v1/ingest
  The seed's day (2022-07-14 in Seoul, as device "seed"), its dashboard link and report: scripts/seed-day.sh
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
