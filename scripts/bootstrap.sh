#!/usr/bin/env bash
# Installs what sensorpipe needs on Debian 12 and is missing: Debian packages, then DuckDB's C
# library and header from the npm registry (pinned, cached under .cache/, which git ignores).
# Safe to run again: it only installs what is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  mosquitto mosquitto-clients libmosquitto-dev
  libssl-dev openssl libsimdjson-dev libzstd-dev zstd zlib1g-dev libsqlite3-dev sqlite3
  libcurl4-openssl-dev libexpat1-dev librdkafka-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libtoml11-dev libcli11-dev libspdlog-dev libfmt-dev libhowardhinnant-date-dev tzdata
  curl bc prometheus chromium
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm fetch DuckDB and the web libraries; a machine that already has them (from any
# source) keeps its own, since Debian's nodejs conflicts with other installs.
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # --no-install-recommends keeps the machine lean; the daemons we need are listed explicitly.
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  # The Debian mosquitto package starts a system broker on :1883; sensorpipe runs its own broker
  # with its own config and port, so the system one is left alone (never stopped by us).
fi

scripts/fetch-duckdb.sh
scripts/fetch-web-deps.sh
scripts/fetch-test-tools.sh
