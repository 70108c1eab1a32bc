#!/usr/bin/env bash
# The README's second command: installs what is missing, builds every target with the tests
# (Debug with AddressSanitizer and UndefinedBehaviorSanitizer, so assertions are on and memory
# errors fail the run, in the daemon and agent binaries too), and runs every test with CTest on
# two cores. SOAK=1 makes the repetition-heavy tests run their full counts.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# The Raspberry Pi's cross build (installing its toolchain when missing), which agent_arm64_test runs
# under qemu; with SP_REQUIRE_ARM64 that test fails instead of skipping when the build is absent.
scripts/build-arm64.sh
export SP_REQUIRE_ARM64=1
BUILD=${BUILD_DIR:-build-test}
# SP_WERROR: a compiler or linker warning fails the build, and so the test command.
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSP_SANITIZE=ON -DSP_BUILD_TESTS=ON -DSP_BUILD_BENCH=ON \
  -DSP_WERROR=ON
ninja -C "$BUILD" -j "${JOBS:-2}"
cd "$BUILD"
ctest --output-on-failure -j "${JOBS:-2}" "$@"
