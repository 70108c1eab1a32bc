#!/usr/bin/env bash
# P11: the time to answer one dashboard panel through /api/series, against DuckDB alone on the
# same lake files and VictoriaMetrics' figure from the peers' run on the same rows.
#   panel "one device": hourly avg, min and max of temperature and humidity for dev-042 over
#     2022-07-14 (UTC): the peers' Q2. sensorpipe answers it with six /api/series requests (one
#     metric and aggregation each) on one keep-alive connection; the time is their sum.
#   panel "1,000 devices": hourly avg, min and max of temperature over 24 h for 1,000 devices
#     reporting once a minute (three requests).
# Each dataset is POSTed to /v1/ingest, drained into the lake by a clean stop, compacted into
# Parquet (`sensorpipe compact --now`), and the daemon started again, so the rollup is rebuilt
# from the lake (its load time is printed). B-DUCK runs the same aggregation as one SQL statement over the
# same Parquet files in a fresh DuckDB (bench/duck_sql.cc, the statement's own time), alternating
# with sensorpipe, ROUNDS times each; medians and p95 are printed.
# Then the page itself (bench/dashboard_load.mjs): headless chromium opens the dashboard on the
# seed-like day (2022-07-14 UTC) in a new browser context each round and times navigation start ->
# window.sensorpipe.ready (every panel drawn), ROUNDS rounds (fewer, at least 5, once
# PAGE_BUDGET_S=120 s have gone), for dev-042 alone and all 100 devices of the peers' rows, and for
# all 1,000 devices of the fleet. There is no baseline system for it; the target is ours: 1 s from
# navigation to every panel drawn for one device (summary line dashboard_page_load).
# Usage: bench/dashboard.sh [ROUNDS=20]   (KEEP=1 keeps the scratch folder)
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-20}
bench_build duck_sql http_load
WORK=$(mktemp -d /tmp/sp-bench-XXXXXX)
cleanup() {
  kill "${SP_PID:-}" 2>/dev/null || true; wait 2>/dev/null || true
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
step() { echo "[$(date -u +%T)] $*" >&2; }
PEERS=$RESULTS/peers.json
[[ -f $PEERS ]] || PEERS=$ROOT/../shared/peers/results/latest.json
read -r VM_PANEL_MS VM_HOURLY_MS < <(node -e 'const q = require(process.argv[1]).queries;
  console.log(q.panel.ms.victoriametrics.median, q.hourly.ms.victoriametrics.median)' "$PEERS")
step "dashboard: $ROUNDS rounds; $(machine_line); load average $(cut -d' ' -f1-3 /proc/loadavg); B-VM panel $VM_PANEL_MS ms, hourly $VM_HOURLY_MS ms ($PEERS)"

# load NAME ROWS_FILE: ingest, drain, compact, restart; leaves the daemon running on $HTTP_PORT.
load() {
  local dir=$WORK/$1
  start_daemon "$dir" 'token = "bench-token"
[compaction]
objects = 100000
grace_s = 2592000'
  read -r rps secs _ < <("$ROOT/build/bench/http_load" "$HTTP_PORT" /v1/ingest "$2" 10000 2 bench-token) ||
    { cat "$dir/log" >&2; exit 1; }
  step "$1: ingested $(wc -l < "$2") rows in $secs s"
  kill -TERM "$SP_PID"; wait "$SP_PID"; unset SP_PID
  "$BIN/sensorpipe" compact --now --config "$dir/sensorpipe.toml" 2> "$dir/compact.log" || { cat "$dir/compact.log" >&2; exit 1; }
  PARQUET=$(sqlite3 "$dir/data/catalog.sqlite" "SELECT group_concat('''$dir/data/lake/' || path || '''', ', ')
    FROM data_file WHERE end_snapshot IS NULL AND view = 'readings' AND format = 'parquet'")
  local t0; t0=$(now)
  "$BIN/sensorpipe" run --config "$dir/sensorpipe.toml" >> "$dir/log" 2>&1 &
  SP_PID=$!
  wait_port "$HTTP_PORT"
  until [[ $(metric "$HTTP_PORT" sensorpipe_rollup_loaded) == 1 ]]; do sleep 0.05; done
  step "$1: compacted; the restarted daemon rebuilt its rollup from the lake in $(calc "($(now) - $t0) * 1000") ms ($(rss_mib "$SP_PID") MiB resident)"
}

# panel_ms URL...: the sum of the requests' times (ms) on one connection, after checking each answered 200
panel_ms() {
  local args=()
  for url in "$@"; do args+=(-o /dev/null "$url"); done
  curl -s -w '%{http_code} %{time_total}\n' "${args[@]}" |
    awk '$1 != 200 {bad = $1} {s += $2} END {if (bad) {print "a panel request answered " bad > "/dev/stderr"; exit 1}
      printf "%.4f\n", s * 1000}'
}
duck_ms() {  # duck_ms SQL EXPECTED_ROWS
  local out; out=$("$ROOT/build/bench/duck_sql" "$1")
  read -r secs rows _ <<< "$out"
  [[ $rows == "$2" ]] || { echo "DuckDB returned $rows rows, not $2" >&2; exit 1; }
  calc "$secs * 1000"
}
p95() { sort -g | awk '{a[NR]=$1} END {i = int(NR * 0.95 + 0.999); if (i > NR) i = NR; print a[i]}'; }

# page_load FILE LABEL QUERY: the page on the running daemon, viewing 2022-07-14 in UTC plus QUERY;
# writes $WORK/FILE.json (bench/dashboard_load.mjs's figures) and says what it saw. A page that
# never got ready is reported, not fatal: its JSON says so.
PAGE_DAY="range=custom&from=2022-07-14T00:00:00Z&to=2022-07-15T00:00:00Z&tz=UTC"
page_load() {
  local out=$WORK/$1.json
  node "$ROOT/bench/dashboard_load.mjs" "http://127.0.0.1:$HTTP_PORT/?$PAGE_DAY$3" "$ROUNDS" "${PAGE_BUDGET_S:-120}" > "$out" ||
    step "$2: the page did not get ready in every round (see below)"
  [[ -s $out ]] || echo '{"rounds": 0, "failed": ["dashboard_load.mjs printed nothing"]}' > "$out"
  step "$(node -e '
    const r = require(process.argv[1]);
    const panels = Object.entries(r.panels || {}).map(([id, p]) => `${id} ${p.state}${p.series ? ` (${p.series} series)` : ""}`).join(", ");
    console.log(`${process.argv[2]}: page load to all panels drawn ${r.ready_ms ? r.ready_ms.median : "-"} ms (median), p95 ${r.ready_ms ? r.ready_ms.p95 : "-"} ms, ` +
      `${r.rounds} rounds; last API answer at ${r.api_done_ms ? r.api_done_ms.median : "-"} ms (median), ${r.api_requests} requests, ` +
      `${((r.api_bytes || 0) / 1048576).toFixed(2)} MiB; panels: ${panels}` +
      (r.failed && r.failed.length ? `; FAILED: ${r.failed.join("; ")}` : "") +
      (r.console_errors && r.console_errors.length ? `; console errors: ${r.console_errors.join("; ")}` : ""));' "$out" "$2")"
}

# compare NAME SQL ROWS URL...: alternating rounds; sets A_MED B_MED B_P95
compare() {
  local name=$1 sql=$2 rows=$3; shift 3
  panel_ms "$@" > /dev/null; duck_ms "$sql" "$rows" > /dev/null  # warm-up
  : > "$WORK/a"; : > "$WORK/b"
  for _ in $(seq 1 "$ROUNDS"); do duck_ms "$sql" "$rows" >> "$WORK/a"; panel_ms "$@" >> "$WORK/b"; done
  A_MED=$(median < "$WORK/a"); B_MED=$(median < "$WORK/b"); B_P95=$(p95 < "$WORK/b")
  step "$name: DuckDB alone $A_MED ms (median), sensorpipe /api/series $B_MED ms (median), p95 $B_P95 ms"
}

# One device: the peers' rows (100 devices, 100,000 s each, one reading a second).
cc -O2 -o "$WORK/gen" "$ROOT/../shared/peers/gen.c" -lm
"$WORK/gen" 100 100000 "$WORK/peers"; rm -f "$WORK/peers.lp" "$WORK/peers.csv"
load peers "$WORK/peers.ndjson"
API="http://127.0.0.1:$HTTP_PORT/api/series?bucket=1h&device=dev-042&from=2022-07-14T00:00:00Z&to=2022-07-15T00:00:00Z"
URLS=()
for m in temperature humidity; do for a in avg min max; do URLS+=("$API&metric=$m&agg=$a"); done; done
SQL="SELECT device, epoch(date_trunc('hour', ts))::BIGINT AS h, avg(temperature), min(temperature), max(temperature),
  avg(humidity), min(humidity), max(humidity) FROM read_parquet([$PARQUET], hive_partitioning = false)
  WHERE device = 'dev-042' AND ts >= TIMESTAMP '2022-07-14 00:00:00' AND ts < TIMESTAMP '2022-07-15 00:00:00' GROUP BY ALL"
compare "one device, one day, hourly" "$SQL" 24 "${URLS[@]}"
ONE_DUCK=$A_MED ONE_SP=$B_MED ONE_P95=$B_P95
# P10 through the rollup: hourly avg/min/max of temperature and humidity for every device over the
# whole lake (28 hours), against DuckDB alone with the same aggregation over the same files and
# B-VM's time for the same question (the peers' "hourly" query).
API="http://127.0.0.1:$HTTP_PORT/api/series?bucket=1h&from=2022-07-14T00:00:00Z&to=2022-07-15T04:00:00Z"
URLS=()
for m in temperature humidity; do for a in avg min max; do URLS+=("$API&metric=$m&agg=$a"); done; done
SQL="SELECT device, epoch(date_trunc('hour', ts))::BIGINT AS h, avg(temperature), min(temperature), max(temperature),
  avg(humidity), min(humidity), max(humidity) FROM read_parquet([$PARQUET], hive_partitioning = false) GROUP BY ALL"
compare "P10: every device, every hour of the lake" "$SQL" 2800 "${URLS[@]}"
HOURLY_DUCK=$A_MED HOURLY_SP=$B_MED
page_load page_one "page, dev-042" "&device=dev-042"
page_load page_peers_all "page, all 100 devices" ""
kill -TERM "$SP_PID"; wait "$SP_PID"; unset SP_PID; rm -rf "$WORK/peers"*

# 1,000 devices, one reading a minute for 24 h, values shaped like the seed's.
node -e '
const out = require("fs").createWriteStream(process.argv[1]);
const t0 = Date.UTC(2022, 6, 14);
for (let m = 0; m < 1440; m++) {
  const ts = new Date(t0 + m * 60000).toISOString().replace("T", " ").slice(0, 19);
  const day = Math.sin((m / 1440 - 0.375) * 2 * Math.PI);
  let s = "";
  for (let d = 0; d < 1000; d++) {
    const t = (30 + (d % 50) / 10 + 5 * day + Math.random() * 0.3).toFixed(3);
    const h = (58 - 9 * day + Math.random()).toFixed(3);
    s += `{"client_id":"d-${String(d).padStart(4, "0")}","timestamp":"${ts}","temperature":${t},"humidity":${h},"pressure":1008.5,"count":${m}}\n`;
  }
  out.write(s);
}
out.end();' "$WORK/fleet.ndjson"
load fleet "$WORK/fleet.ndjson"
API="http://127.0.0.1:$HTTP_PORT/api/series?bucket=1h&metric=temperature&from=2022-07-14T00:00:00Z&to=2022-07-15T00:00:00Z"
SQL="SELECT device, epoch(date_trunc('hour', ts))::BIGINT AS h, avg(temperature), min(temperature), max(temperature)
  FROM read_parquet([$PARQUET], hive_partitioning = false)
  WHERE ts >= TIMESTAMP '2022-07-14 00:00:00' AND ts < TIMESTAMP '2022-07-15 00:00:00' GROUP BY ALL"
compare "1,000 devices, 24 h, hourly" "$SQL" 24000 "$API&agg=avg" "$API&agg=min" "$API&agg=max"
FLEET_DUCK=$A_MED FLEET_SP=$B_MED FLEET_P95=$B_P95
page_load page_fleet "page, 1,000 devices" ""
PAGE_ONE_MED=$(node -e 'const r = require(process.argv[1]); console.log(r.ready_ms && r.ready_ms.median != null ? r.ready_ms.median : "null")' "$WORK/page_one.json")

RATIO_VM=$(calc "$ONE_SP / $VM_PANEL_MS")
RATIO_DUCK=$(calc "$ONE_SP / $ONE_DUCK")
RATIO_FLEET=$(calc "$FLEET_SP / $FLEET_DUCK")
cat > "$RESULTS/dashboard_panel.json" <<JSON
{"name": "dashboard_panel", "machine": "$(machine_line)", "rounds": $ROUNDS,
 "one_device": {"what": "hourly avg/min/max of temperature and humidity, dev-042, 2022-07-14, the peers' 10M rows; six /api/series requests",
   "sensorpipe_ms": {"median": $ONE_SP, "p95": $ONE_P95}, "duckdb_ms": {"median": $ONE_DUCK}, "victoriametrics_ms": $VM_PANEL_MS,
   "ratio_vs_vm": $RATIO_VM, "ratio_vs_duckdb": $RATIO_DUCK},
 "fleet": {"what": "hourly avg/min/max of temperature, 1,000 devices x 1,440 readings over 24 h; three /api/series requests",
   "sensorpipe_ms": {"median": $FLEET_SP, "p95": $FLEET_P95}, "duckdb_ms": {"median": $FLEET_DUCK}, "ratio_vs_duckdb": $RATIO_FLEET},
 "hourly_all_devices": {"what": "P10 through the rollup: hourly avg/min/max of temperature and humidity, all 100 devices, 28 hours; six /api/series requests",
   "sensorpipe_ms": $HOURLY_SP, "duckdb_ms": $HOURLY_DUCK, "victoriametrics_ms": $VM_HOURLY_MS,
   "ratio_vs_vm": $(calc "$HOURLY_SP / $VM_HOURLY_MS"), "target": "<= 0.5 x B-VM"},
 "target": "one device <= B-VM; 1,000 devices p95 <= 100 ms; floor <= B-DUCK",
 "page_load": {"what": "headless chromium, a new context per round: navigation start to window.sensorpipe.ready (every panel drawn), dashboard on 2022-07-14 (UTC)",
   "target": "one device: median <= 1000 ms (ours; no baseline system)",
   "one_device": $(cat "$WORK/page_one.json"),
   "peers_all_100": $(cat "$WORK/page_peers_all.json"),
   "fleet_all_1000": $(cat "$WORK/page_fleet.json")}}
JSON
node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$RESULTS/dashboard_panel.json"
[[ $PAGE_ONE_MED != null ]] || { echo "the page never got ready for one device: $WORK/page_one.json" >&2; exit 1; }
printf 'lake_hourly_rollup: ratio=%.3f (target 0.5) value=%s ms\n' "$(calc "$HOURLY_SP / $VM_HOURLY_MS")" "$HOURLY_SP"
printf 'dashboard_page_load: ratio=%.3f (target 1) value=%s ms\n' "$(calc "$PAGE_ONE_MED / 1000")" "$PAGE_ONE_MED"
printf 'dashboard_panel_fleet: ratio=%.3f (target p95 <= 100 ms) value=%s ms p95\n' "$RATIO_FLEET" "$FLEET_P95"
printf 'dashboard_panel: ratio=%.3f (target 1) value=%s ms\n' "$RATIO_VM" "$ONE_SP"
