#!/usr/bin/env bash
# Runs one libFuzzer target for a while, adding what it finds to the committed corpus.
#   scripts/fuzz.sh rule_sql_fuzz 600     # ten minutes
#   scripts/fuzz.sh payload_fuzz 600
# Builds with Debian's clang (libFuzzer + ASan + UBSan) in build-fuzz/. A crash leaves its input
# in build-fuzz/findings/ and the exit status non-zero; add the input to the corpus once fixed, so
# the replay test (ctest -R _fuzz_replay) keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh rule_sql_fuzz|payload_fuzz SECONDS}
seconds=${2:-600}
corpus=fuzz/corpus/${target%_fuzz}
[ -d "$corpus" ] || { echo "no corpus folder $corpus" >&2; exit 2; }
command -v clang++ >/dev/null || { echo "clang++ is missing: apt-get install clang" >&2; exit 2; }

bash scripts/fetch-duckdb.sh >/dev/null
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSP_FUZZ=ON \
  -DSP_BUILD_TESTS=OFF -DSP_BUILD_BENCH=OFF >/dev/null
ninja -C build-fuzz "$target"

mkdir -p build-fuzz/findings build-fuzz/new-corpus
# New inputs go to a scratch folder first and are merged (minimised) into the corpus at the end,
# so the committed corpus stays small. -print_final_stats shows the coverage reached.
status=0
"build-fuzz/bin/$target" build-fuzz/new-corpus "$corpus" -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=2048 -artifact_prefix=build-fuzz/findings/ -print_final_stats=1 || status=$?
"build-fuzz/bin/$target" -merge=1 "$corpus" build-fuzz/new-corpus >/dev/null 2>&1 || true
echo "fuzz $target: ${seconds}s, exit $status, corpus $(ls "$corpus" | wc -l) files"
exit $status
