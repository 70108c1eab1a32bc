#!/usr/bin/env bash
# P8, P9 and P10 over one lake: ROWS seed-shaped readings of 100 devices from ../shared/peers/gen.c
# (the generator, seed and values the peers were measured on, so B-VM's figures apply to the same
# rows), POSTed to /v1/ingest by http_load, delivered into raw objects by a clean stop, then:
#   P9  compaction rate: `sensorpipe compact --now` of the raw objects (each round on a fresh copy
#       of the raw lake) against B-DUCK, DuckDB's own COPY of the same objects to Parquet zstd
#       (bench/duck_sql.cc), alternating A B A B ... ROUNDS times; rows/s from each process's wall time
#   P8  compacted Parquet size, bytes per row: against gzip -6 of the same rows as NDJSON (the
#       messages sent) and B-VM's bytes per row from the peers' results
#   P10 hourly avg/min/max of temperature and humidity per device over the whole lake:
#       `sensorpipe query` (the readings view over the catalog's Parquet files) against DuckDB
#       alone with the same SQL over the same files, alternating; each a whole process, wall time
# Usage: bench/lake.sh [ROWS=10000000] [ROUNDS=5]   (ROW_GROUP_ROWS=N: compaction's [compaction] row_group_rows)
source "$(dirname "$0")/lib.sh"
ROWS=${1:-10000000}
ROUNDS=${2:-5}
DEVICES=100
bench_build duck_sql http_load
WORK=$(mktemp -d /tmp/sp-bench-XXXXXX)
cleanup() { kill "${SP_PID:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
step() { echo "[$(date -u +%T)] $*" >&2; }

# The peers' B-VM figures (bench/results/peers.json, else the shared peers' latest results).
PEERS=$RESULTS/peers.json
[[ -f $PEERS ]] || PEERS=$ROOT/../shared/peers/results/latest.json
read -r VM_BPR VM_HOURLY_MS < <(node -e 'const p = require(process.argv[1]);
  console.log(p.storage.victoriametrics.bytes_per_row, p.queries.hourly.ms.victoriametrics.median)' "$PEERS")

step "lake: $ROWS rows, $ROUNDS rounds; $(machine_line); load average $LOAD_START; B-VM from $PEERS: $VM_BPR B/row, hourly $VM_HOURLY_MS ms"
cc -O2 -o "$WORK/gen" "$ROOT/../shared/peers/gen.c" -lm
"$WORK/gen" "$DEVICES" $((ROWS / DEVICES)) "$WORK/rows"
rm -f "$WORK/rows.lp" "$WORK/rows.csv"
ROWS=$(wc -l < "$WORK/rows.ndjson")
step "generated $ROWS rows, $(( $(wc -c < "$WORK/rows.ndjson") / ROWS )) bytes each as NDJSON"

# Ingest. The daemon's own compactor must leave the hours alone (they ended long ago, so only a
# long grace keeps it waiting): compaction is what this benchmark times.
start_daemon "$WORK/sp" 'token = "bench-token"
[compaction]
objects = 100000
grace_s = 2592000'
step "ingesting through HTTP (http_load: 2 writers, 10,000-row batches)"
read -r INGEST_RPS INGEST_S _ < <("$ROOT/build/bench/http_load" "$HTTP_PORT" /v1/ingest "$WORK/rows.ndjson" 10000 2 bench-token) ||
  { cat "$WORK/sp/log" >&2; exit 1; }
step "ingested in ${INGEST_S} s (${INGEST_RPS} rows/s); stopping the daemon, which drains the log into the lake"
kill -TERM "$SP_PID"
wait "$SP_PID" || { echo "sensorpipe stopped with $?: $(tail -20 "$WORK/sp/log")" >&2; exit 1; }
unset SP_PID
rm -rf "$WORK/sp/data/log"  # not needed any more; frees the disk
PRISTINE=$WORK/sp/data

catalog() {  # catalog DATA_DIR FORMAT_CONDITION: records|bytes|files of the current readings files
  sqlite3 "$1/catalog.sqlite" "SELECT coalesce(sum(record_count), 0), coalesce(sum(file_size_bytes), 0), count(*)
    FROM data_file WHERE end_snapshot IS NULL AND view = 'readings' AND $2"
}
IFS='|' read -r RAW_ROWS RAW_BYTES RAW_FILES < <(catalog "$PRISTINE" "format <> 'parquet'")
[[ $RAW_ROWS == "$ROWS" ]] || { echo "the raw lake holds $RAW_ROWS rows, not $ROWS" >&2; exit 1; }
step "raw lake: $RAW_FILES objects, $RAW_BYTES bytes ($(calc "$RAW_BYTES / $ROWS") B/row)"

# P9. B-DUCK reads the same raw objects with the readings view's columns; sensorpipe compacts a
# copy of the raw lake (objects hard-linked, compaction only reads and later deletes them; the
# catalog copied), so every round starts from the same state.
COLUMNS="{device: 'VARCHAR', ts: 'TIMESTAMP', temperature: 'DOUBLE', humidity: 'DOUBLE', pressure: 'DOUBLE',
  pitch: 'DOUBLE', roll: 'DOUBLE', yaw: 'DOUBLE', seq: 'BIGINT', topic: 'VARCHAR', received_at: 'TIMESTAMP', extra: 'JSON'}"
DUCK_COPY="COPY (SELECT * FROM read_json('$PRISTINE/lake/raw/*/*/*.ndjson.zst', format = 'newline_delimited',
  compression = 'auto_detect', hive_partitioning = false, columns = $COLUMNS)) TO '$WORK/duck.parquet' (FORMAT parquet, COMPRESSION zstd)"
baseline_compact() {  # prints rows/s
  rm -f "$WORK/duck.parquet"
  local t0 out; t0=$(now)
  out=$("$ROOT/build/bench/duck_sql" "$DUCK_COPY")
  local t1; t1=$(now)
  read -r _ _ DUCK_ROWS <<< "$out"
  [[ $DUCK_ROWS == "$ROWS" ]] || { echo "DuckDB's COPY wrote $DUCK_ROWS rows, not $ROWS" >&2; exit 1; }
  echo "$ROWS / ($t1 - $t0)" | bc -l
}
sensorpipe_compact() {  # prints rows/s; leaves the compacted lake in $WORK/round
  rm -rf "$WORK/round"
  mkdir -p "$WORK/round/data"
  cp -al "$PRISTINE/lake" "$WORK/round/data/lake"
  cp "$PRISTINE"/catalog.sqlite* "$WORK/round/data/"
  printf 'data_dir = "data"\n%s' "${ROW_GROUP_ROWS:+[compaction]
row_group_rows = $ROW_GROUP_ROWS
}" > "$WORK/round/sensorpipe.toml"
  sync -f "$WORK/round/data/catalog.sqlite"
  local t0; t0=$(now)
  "$BIN/sensorpipe" compact --now --config "$WORK/round/sensorpipe.toml" 2> "$WORK/compact.log" ||
    { cat "$WORK/compact.log" >&2; exit 1; }
  local t1; t1=$(now)
  IFS='|' read -r OUT_ROWS PARQUET_BYTES PARQUET_FILES < <(catalog "$WORK/round/data" "format = 'parquet'")
  [[ $OUT_ROWS == "$ROWS" ]] || { echo "compaction wrote $OUT_ROWS rows, not $ROWS: $(tail "$WORK/compact.log")" >&2; exit 1; }
  echo "$ROWS / ($t1 - $t0)" | bc -l
}
step "P9: DuckDB COPY of the raw objects vs sensorpipe compact --now, alternating"
: > "$WORK/copy_a"; : > "$WORK/copy_b"
for r in $(seq 1 "$ROUNDS"); do
  a=$(baseline_compact); b=$(sensorpipe_compact)
  echo "$a" >> "$WORK/copy_a"; echo "$b" >> "$WORK/copy_b"
  step "$(printf 'round %d: DuckDB COPY %.0f rows/s, sensorpipe compaction %.0f rows/s (%s)' "$r" "$a" "$b" \
    "$(tail -1 "$WORK/compact.log")")"
done
DUCK_BYTES=$(stat -c %s "$WORK/duck.parquet")
IFS='|' read -r OUT_ROWS PARQUET_BYTES PARQUET_FILES < <(catalog "$WORK/round/data" "format = 'parquet'")
rm -f "$WORK/duck.parquet"

# P10 over the last round's compacted lake: its catalog lists only the Parquet files now.
HOURLY_SELECT="SELECT device, epoch(date_trunc('hour', ts))::BIGINT AS h, avg(temperature), min(temperature),
  max(temperature), avg(humidity), min(humidity), max(humidity) FROM"
PARQUET_LIST=$(sqlite3 "$WORK/round/data/catalog.sqlite" "SELECT group_concat('''$WORK/round/data/lake/' || path || '''', ', ')
  FROM data_file WHERE end_snapshot IS NULL AND view = 'readings' AND format = 'parquet'")
GROUPS_WANTED=$(( DEVICES * ((ROWS / DEVICES + 3599) / 3600) ))
baseline_query() {  # prints ms
  local t0 out; t0=$(now)
  out=$("$ROOT/build/bench/duck_sql" "$HOURLY_SELECT read_parquet([$PARQUET_LIST], hive_partitioning = false) GROUP BY ALL")
  local t1; t1=$(now)
  read -r _ n _ <<< "$out"
  [[ $n == "$GROUPS_WANTED" ]] || { echo "DuckDB returned $n groups, not $GROUPS_WANTED" >&2; exit 1; }
  echo "($t1 - $t0) * 1000" | bc -l
}
sensorpipe_query() {  # prints ms
  local t0; t0=$(now)
  "$BIN/sensorpipe" query --config "$WORK/round/sensorpipe.toml" --format csv "$HOURLY_SELECT readings GROUP BY ALL" > "$WORK/hourly.csv"
  local t1; t1=$(now)
  local n=$(( $(wc -l < "$WORK/hourly.csv") - 1 ))
  [[ $n == "$GROUPS_WANTED" ]] || { echo "sensorpipe returned $n groups, not $GROUPS_WANTED" >&2; exit 1; }
  echo "($t1 - $t0) * 1000" | bc -l
}
# Where sensorpipe's time goes: the same CLI with DuckDB's SQL over the files, without the view.
direct_query() {  # prints ms
  local t0; t0=$(now)
  "$BIN/sensorpipe" query --config "$WORK/round/sensorpipe.toml" --format csv \
    "$HOURLY_SELECT read_parquet([$PARQUET_LIST], hive_partitioning = false) GROUP BY ALL" > "$WORK/direct.csv"
  local t1; t1=$(now)
  echo "($t1 - $t0) * 1000" | bc -l
}
step "P10: hourly avg/min/max per device, DuckDB alone vs sensorpipe query, alternating (one warm-up each);"
step "     also sensorpipe query of DuckDB's SQL over the files without the view, to show where the time goes"
baseline_query > /dev/null; sensorpipe_query > /dev/null; direct_query > /dev/null
: > "$WORK/q_a"; : > "$WORK/q_b"; : > "$WORK/q_c"
for r in $(seq 1 "$ROUNDS"); do
  a=$(baseline_query); b=$(sensorpipe_query); c=$(direct_query)
  echo "$a" >> "$WORK/q_a"; echo "$b" >> "$WORK/q_b"; echo "$c" >> "$WORK/q_c"
  step "$(printf 'round %d: DuckDB %.0f ms, sensorpipe query %.0f ms (without the view %.0f ms)' "$r" "$a" "$b" "$c")"
done

# P8, then the text baselines (untimed work, after the timed rounds).
step "P8: gzip -6 and zstd -3 of the NDJSON sent (about a minute)"
GZIP_BYTES=$(gzip -6 -c "$WORK/rows.ndjson" | wc -c)
ZSTD_BYTES=$(zstd -3 -T1 -q -c "$WORK/rows.ndjson" | wc -c)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

MACHINE="$(machine_line); load average $LOAD_START at the start, $LOAD_END at the end; tree $(git -C "$ROOT" describe --always --dirty)"
BPR=$(calc "$PARQUET_BYTES / $ROWS"); GZIP_BPR=$(calc "$GZIP_BYTES / $ROWS")
SIZE_RATIO_VM=$(calc "$BPR / $VM_BPR"); SIZE_RATIO_GZIP=$(calc "$BPR / $GZIP_BPR")
cat > "$RESULTS/lake_parquet_size.json" <<JSON
{"name": "lake_parquet_size", "target": "P8 <= B-VM's bytes per row on the same rows, floor <= 0.6 x gzip-6", "unit": "B/row",
 "rows": $ROWS, "devices": $DEVICES, "data": "../shared/peers/gen.c (the peers' rows)",
 "sensorpipe": {"what": "compacted Parquet (sensorpipe compact --now: one file per hour, deduplicated, sorted by device and ts, zstd, V2)",
   "bytes": $PARQUET_BYTES, "files": $PARQUET_FILES, "bytes_per_row": $BPR},
 "baselines": {
   "victoriametrics": {"bytes_per_row": $VM_BPR, "from": "$PEERS"},
   "ndjson_gzip6": {"bytes": $GZIP_BYTES, "bytes_per_row": $GZIP_BPR},
   "ndjson_zstd3": {"bytes": $ZSTD_BYTES, "bytes_per_row": $(calc "$ZSTD_BYTES / $ROWS")},
   "duckdb_copy_unsorted_v1": {"bytes": $DUCK_BYTES, "bytes_per_row": $(calc "$DUCK_BYTES / $ROWS")},
   "sensorpipe_raw_objects": {"bytes": $RAW_BYTES, "files": $RAW_FILES, "bytes_per_row": $(calc "$RAW_BYTES / $ROWS")}},
 "ratio": $SIZE_RATIO_VM, "ratio_to_gzip6": $SIZE_RATIO_GZIP, "machine": "$MACHINE"}
JSON

A=$(median < "$WORK/copy_a"); B=$(median < "$WORK/copy_b")
read -r AMIN AMAX < <(minmax < "$WORK/copy_a"); read -r BMIN BMAX < <(minmax < "$WORK/copy_b")
COPY_RATIO=$(calc "$B / $A")
cat > "$RESULTS/lake_compaction.json" <<JSON
{"name": "lake_compaction", "target": "P9 >= 0.5 x B-DUCK COPY of the same rows, floor 300k rows/s", "unit": "rows/s",
 "rows": $ROWS, "rounds": $ROUNDS, "raw_objects": $RAW_FILES, "ingest_rows_per_s": $INGEST_RPS,
 "baseline": {"what": "duck_sql: COPY (SELECT * FROM read_json(raw objects, the view's columns)) TO x.parquet (FORMAT parquet, COMPRESSION zstd); process wall time",
   "median": $A, "min": $AMIN, "max": $AMAX},
 "sensorpipe": {"what": "sensorpipe compact --now on a copy of the raw lake: $PARQUET_FILES hours, each deduplicated, sorted, zstd V2, put and committed; process wall time",
   "median": $B, "min": $BMIN, "max": $BMAX},
 "ratio": $COPY_RATIO, "machine": "$MACHINE"}
JSON

QA=$(median < "$WORK/q_a"); QB=$(median < "$WORK/q_b")
read -r QAMIN QAMAX < <(minmax < "$WORK/q_a"); read -r QBMIN QBMAX < <(minmax < "$WORK/q_b")
QUERY_RATIO=$(calc "$QB / $QA")
cat > "$RESULTS/lake_hourly_query.json" <<JSON
{"name": "lake_hourly_query", "target": "P10 <= 0.5 x B-VM's time, floor <= B-DUCK's time (the ratio here is to B-DUCK)", "unit": "ms",
 "rows": $ROWS, "groups": $GROUPS_WANTED, "rounds": $ROUNDS, "parquet_files": $PARQUET_FILES,
 "baseline": {"what": "duck_sql: the same SELECT over read_parquet(the same files); process wall time", "median": $QA, "min": $QAMIN, "max": $QAMAX},
 "sensorpipe": {"what": "sensorpipe query --format csv over the readings view (catalog, dedup window); process wall time", "median": $QB, "min": $QBMIN, "max": $QBMAX},
 "sensorpipe_without_view": {"what": "sensorpipe query --format csv of the baseline's SQL over read_parquet(the same files): the CLI without the view", "median": $(median < "$WORK/q_c")},
 "ratio": $QUERY_RATIO,
 "victoriametrics_ms": {"value": $VM_HOURLY_MS, "from": "$PEERS", "ratio": $(calc "$QB / $VM_HOURLY_MS"), "note": "another sitting"},
 "machine": "$MACHINE"}
JSON

printf 'P8: %.2f B/row compacted; gzip -6 %.2f, zstd -3 %.2f, raw objects %.2f, DuckDB COPY (unsorted, V1) %.2f; B-VM %s\n' \
  "$BPR" "$GZIP_BPR" "$(calc "$ZSTD_BYTES / $ROWS")" "$(calc "$RAW_BYTES / $ROWS")" "$(calc "$DUCK_BYTES / $ROWS")" "$VM_BPR" >&2
printf 'P10: sensorpipe query %.0f ms against B-VM %s ms (another sitting): ratio %.2f (target 0.5)\n' "$QB" "$VM_HOURLY_MS" \
  "$(calc "$QB / $VM_HOURLY_MS")" >&2
printf 'lake_parquet_size_gzip: ratio=%.3f (target 0.6) value=%.2f B/row\n' "$SIZE_RATIO_GZIP" "$BPR"
printf 'lake_parquet_size: ratio=%.3f (target 1) value=%.2f B/row\n' "$SIZE_RATIO_VM" "$BPR"
printf 'lake_compaction: ratio=%.2f (target 0.5) value=%.0f rows/s\n' "$COPY_RATIO" "$B"
printf 'lake_hourly_query: ratio=%.2f (target 1) value=%.0f ms\n' "$QUERY_RATIO" "$QB"
