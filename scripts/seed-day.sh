#!/usr/bin/env bash
# Loads the seed's day into the running demo (scripts/demo.sh) and shows it as the README does:
# POSTs ../shared/fixtures/seed_day.ndjson (5,400 readings of 2022-07-14 recorded at UTC+9, their
# timestamps without an offset) to /v1/ingest with ?device_time_zone=Asia/Seoul, as device "seed"
# (its client_id is "raspberrypi", the host name of every Pi: rewritten here so the seed never
# shares an id with a real or simulated device), waits until the lake holds it, then prints the
# README's seed-day dashboard link and runs the README's report for that device.
#
# Loading twice changes nothing: readings are unique on (device, seq, ts).
# Environment: SP_DEMO_DIR (default ./demo), SP_BUILD_DIR (default ./build), as for demo.sh.
set -euo pipefail
usage() { echo "usage: scripts/seed-day.sh [FILE.ndjson]   (default ../shared/fixtures/seed_day.ndjson; needs scripts/demo.sh running)" >&2; exit 2; }
[[ $# -le 1 ]] || usage
[[ ${1:-} != -* ]] || usage
cd "$(dirname "$0")/.."
ROOT=$PWD
SEED=${1:-$ROOT/../shared/fixtures/seed_day.ndjson}
DEMO=${SP_DEMO_DIR:-$ROOT/demo}
BIN=${SP_BUILD_DIR:-$ROOT/build}/bin
CONFIG=$DEMO/sensorpipe.toml
DEVICE=seed
ZONE=Asia/Seoul
REPORT=("$BIN/sensorpipe" report --config "$CONFIG" --device "$DEVICE"
  --from 2022-07-14T00:00:00+09:00 --to 2022-07-14T15:00:00+09:00 --tz "$ZONE")

[[ -r $SEED ]] || { echo "seed-day: cannot read $SEED" >&2; exit 1; }
if [[ ! -f $CONFIG || ! -s $DEMO/http_token ]]; then
  echo "seed-day: no demo in $DEMO: start scripts/demo.sh first" >&2
  exit 1
fi
LISTEN=$(sed -n 's/^listen = "\(.*\)".*/\1/p' "$CONFIG")
if ! curl -sf -o /dev/null "http://$LISTEN/healthz"; then
  echo "seed-day: the demo is not running (nothing answers on http://$LISTEN/): start scripts/demo.sh first" >&2
  exit 1
fi

echo "seed-day: loading $SEED as device \"$DEVICE\", timestamps read in $ZONE..."
ANSWER=$(sed "s/\"client_id\": *\"[^\"]*\"/\"client_id\": \"$DEVICE\"/" "$SEED" |
  curl -sS --fail-with-body -H "Authorization: Bearer $(< "$DEMO/http_token")" --data-binary @- \
    "http://$LISTEN/v1/ingest?device_time_zone=$ZONE") || { echo "seed-day: the demo refused it: $ANSWER" >&2; exit 1; }
echo "$ANSWER"
ACCEPTED=$(sed -n 's/^{"accepted":\([0-9]*\),.*/\1/p' <<< "$ANSWER")
[[ -n $ACCEPTED ]] || { echo "seed-day: unexpected answer from the demo" >&2; exit 1; }

# The report reads the lake, which the demo's delivery fills every 10 s.
count() { "$BIN/sensorpipe" query --config "$CONFIG" --format csv "SELECT count(*) FROM readings WHERE device = '$DEVICE'" | tail -n 1 | tr -d '\r'; }  # CSV lines end with CRLF
for _ in $(seq 1 120); do
  [[ $(count) -ge $ACCEPTED ]] && break
  sleep 1
done
[[ $(count) -ge $ACCEPTED ]] || { echo "seed-day: the lake did not get the $ACCEPTED readings within 120 s" >&2; exit 1; }

cat <<INFO

The seed's day is in the demo as device "$DEVICE":
  Dashboard:  http://$LISTEN/?range=custom&from=2022-07-14T00:00:00%2B09:00&to=2022-07-15T00:00:00%2B09:00&tz=Asia/Seoul
  Report:     ${REPORT[*]}

INFO
"${REPORT[@]}"
