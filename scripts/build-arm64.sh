#!/usr/bin/env bash
# Cross-builds the device side for the Raspberry Pi (arm64): build-arm64/bin/sensorpipe-agent,
# Release, with Debian's cross toolchain and the :arm64 builds of the libraries the agent links.
# Installs what is missing first (the arm64 architecture, the toolchain, those libraries and
# qemu-user, which the agent_arm64_test runs the binary under); quiet when everything is there.
# Only the agent is configured (SP_AGENT_ONLY): the daemon's libraries are not needed, and
# simdjson could not be, since Debian's libsimdjson-dev is not multi-arch.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  crossbuild-essential-arm64 qemu-user file
  libmosquitto-dev:arm64 libssl-dev:arm64 libspdlog-dev:arm64 libfmt-dev:arm64 libhowardhinnant-date-dev:arm64
  # Header-only and architecture-independent (Architecture: all): the host's copy serves both.
  libtoml11-dev libcli11-dev
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "build-arm64: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

BUILD=build-arm64  # agent_arm64_test looks here
# --no-warn-unused-cli: a configured tree ignores the toolchain file on later runs, and would say so.
cmake -S . -B "$BUILD" -G Ninja --log-level=WARNING --no-warn-unused-cli -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=Release -DSP_AGENT_ONLY=ON -DSP_BUILD_TESTS=OFF -DSP_BUILD_BENCH=OFF -DSP_WERROR=ON > /dev/null
ninja -C "$BUILD" --quiet -j "${JOBS:-2}" sensorpipe-agent | { grep -v '^ninja: no work to do' || true; }

# A host binary slipping through (a toolchain file not applied) would pass every later check here.
if ! file -b "$BUILD/bin/sensorpipe-agent" | grep -q 'ELF 64-bit LSB .*ARM aarch64'; then
  echo "build-arm64: $BUILD/bin/sensorpipe-agent is not an aarch64 ELF: $(file -b "$BUILD/bin/sensorpipe-agent")" >&2
  exit 1
fi
