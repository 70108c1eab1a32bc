#!/usr/bin/env bash
# P1, P3 and P13 of two builds in one sitting: the sensorpipe binary in OLD_BIN_DIR (say, a Release
# build of the commit before a restructuring) against this tree's, alternating old new old new ...
# PAIRS times, each run a full bench/ingest.sh 0 and bench/http_ingest.sh with their own baselines.
# Prints each figure's median per build and new/old; writes bench/results/compare_builds.json.
# Usage: bench/compare_builds.sh OLD_BIN_DIR [PAIRS=2] [MESSAGES=300000] [ROWS=1000000] [ROUNDS=3]
source "$(dirname "$0")/lib.sh"
OLD=$(cd "${1:?usage: bench/compare_builds.sh OLD_BIN_DIR [PAIRS] [MESSAGES] [ROWS] [ROUNDS]}" && pwd)
PAIRS=${2:-2}
MESSAGES=${3:-300000}
ROWS=${4:-1000000}
ROUNDS=${5:-3}
[[ -x $OLD/sensorpipe ]] || { echo "no sensorpipe binary in $OLD" >&2; exit 2; }
bench_build http_load
WORK=$(mktemp -d /tmp/sp-compare-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# figure FILE JS-EXPRESSION: one number out of a results file (node reads JSON; bootstrap installs it)
figure() { node -e "const r = require('$1'); console.log($2)"; }

for p in $(seq 1 "$PAIRS"); do
  for side in old new; do
    dir=$WORK/$side-$p; mkdir -p "$dir"
    bin=$BIN; [[ $side == old ]] && bin=$OLD
    echo "compare_builds: pair $p of $PAIRS, $side build ($bin/sensorpipe)" >&2
    SENSORPIPE_BIN=$bin RESULTS_DIR=$dir "$ROOT/bench/ingest.sh" 0 "$MESSAGES" "$ROUNDS" > /dev/null
    SENSORPIPE_BIN=$bin RESULTS_DIR=$dir "$ROOT/bench/http_ingest.sh" "$ROWS" "$ROUNDS" > /dev/null
    figure "$dir/ingest_qos0.json" 'r.sensorpipe.median' >> "$WORK/p1_$side"
    figure "$dir/ingest_qos0.json" 'r.cpu_us_per_message.daemon' >> "$WORK/p3_$side"
    figure "$dir/http_ingest.json" 'r.sensorpipe.median' >> "$WORK/p13_$side"
  done
done

# The commits the two binaries were built from, when their folders are in git checkouts.
commit() { git -C "$1" rev-parse --short HEAD 2>/dev/null || echo unknown; }
json="{\"name\": \"compare_builds\", \"old\": \"$OLD/sensorpipe\", \"old_commit\": \"$(commit "$OLD")\","
json+=" \"new\": \"${BIN#"$ROOT"/}/sensorpipe\", \"new_commit\": \"$(commit "$ROOT")\", \"pairs\": $PAIRS,"
json+=" \"messages_per_round\": $MESSAGES, \"rows_per_round\": $ROWS, \"rounds\": $ROUNDS, \"figures\": {"
sep=""
for f in p1:msg/s p3:µs/msg p13:rows/s; do
  name=${f%%:*} unit=${f#*:}
  old=$(median < "$WORK/${name}_old") new=$(median < "$WORK/${name}_new")
  ratio=$(calc "$new / $old")
  printf '%s: old %s, new %s %s; new/old %.3f (runs: old %s; new %s)\n' "${name^^}" "$old" "$new" "$unit" "$ratio" \
    "$(paste -sd' ' "$WORK/${name}_old")" "$(paste -sd' ' "$WORK/${name}_new")"
  json+="$sep \"${name^^}\": {\"unit\": \"$unit\", \"old\": $old, \"new\": $new, \"new_over_old\": $ratio,"
  json+=" \"old_runs\": [$(paste -sd, "$WORK/${name}_old")], \"new_runs\": [$(paste -sd, "$WORK/${name}_new")]}"
  sep=","
done
echo "$json}, \"machine\": \"$(machine_line)\"}" > "$RESULTS/compare_builds.json"
