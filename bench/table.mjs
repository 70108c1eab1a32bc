#!/usr/bin/env node
// Prints the README's table of figures from bench/results/*.json: the latest run of each benchmark,
// its baseline or peer, the ratio, the command that measured it and the file it wrote. The README
// holds this output between its two "figures" comments; with --check README.md it exits 1 (and
// says so) when they differ, so a new results file or a hand edit cannot leave the README stale.
// Usage: bench/table.mjs [--check README.md]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
const load = (name) => JSON.parse(readFileSync(join(resultsDir, name + '.json'), 'utf8'));

// n with `digits` decimals and thousands separators: 123459.6 -> "123,460".
const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

const rows = [];
// One row: what is measured, sensorpipe's figure, the baseline's, the ratio, the command, the file.
const row = (what, ours, theirs, ratio, command, file) => rows.push([what, ours, theirs, ratio, '`' + command + '`', '`' + file + '`']);

{
  const r = load('ingest_qos0');
  row('P1 ingest, QoS 0: publish → durable in the log', `${fmt(r.sensorpipe.median)} msg/s`,
      `B-MQ0 (\`mosquitto_sub\`): ${fmt(r.baseline.median)} msg/s`, fmt(r.ratio, 2),
      'bench/ingest.sh 0 300000 5', 'ingest_qos0.json');
  const c = r.cpu_us_per_message;
  row('P3 daemon CPU a message, QoS 0 (same run)', `${fmt(c.daemon, 2)} µs`, `the broker: ${fmt(c.broker, 2)} µs`,
      fmt(c.ratio, 2), 'bench/ingest.sh 0 300000 5', 'ingest_qos0.json');
}
{
  const r = load('ingest_qos0_lake');
  row('P1 ingest, QoS 0: publish → in a lake object, compaction running',
      `${fmt(r.sensorpipe.median)} msg/s, peak RSS ${fmt(r.daemon_peak_rss_mib, 1)} MiB`,
      `B-MQ0: ${fmt(r.baseline.median)} msg/s`, fmt(r.ratio, 2), 'UNTIL=lake bench/ingest.sh 0 300000 5',
      'ingest_qos0_lake.json');
}
{
  const r = load('ingest_qos1');
  row('P2 ingest, QoS 1: PUBACK after the durable append', `${fmt(r.sensorpipe.median)} msg/s`,
      `B-MQ1: ${fmt(r.baseline.median)} msg/s`, fmt(r.ratio, 2), 'bench/ingest.sh 1 120000 5', 'ingest_qos1.json');
}
{
  const r = load('ingest_latency');
  const m = r.measured;
  row(`P4 publish → durable, p99 at ${fmt(m.rate)} msg/s`, `${fmt(m.sensorpipe_ms.p99, 2)} ms`,
      `B-LAT p99 + one group commit: ${fmt(r.target_ms, 2)} ms`, fmt(r.ratio, 2),
      `bench/ingest_latency.sh ${m.rate} ${m.seconds_per_round} ${m.rounds}`, 'ingest_latency.json');
}
{
  const r = load('ingest_sustained');
  const vmPeakMib = 225;  // B-VM's peak, from the target BENCHMARKS.md sets (in the file's "target")
  row('P1 sustained and P12 memory: QoS 0 flat out for 10 min',
      `${fmt(r.msg_per_s.median)} msg/s (slowest 10 s: ${fmt(r.msg_per_s.min_10s_window)}), peak RSS ${fmt(r.rss_mib.peak, 1)} MiB`,
      `B-VM peak: ${vmPeakMib} MiB`, fmt(r.rss_mib.peak / vmPeakMib, 2), `bench/ingest_sustained.sh ${r.seconds}`,
      'ingest_sustained.json');
}
{
  const r = load('http_ingest');
  row('P13 HTTP ingest, answered after the durable write', `${fmt(r.sensorpipe.median)} rows/s`,
      `VictoriaMetrics \`/write\`: ${fmt(r.baseline.median)} rows/s`, fmt(r.ratio, 2),
      `bench/http_ingest.sh ${r.rows_per_round} ${r.rounds}`, 'http_ingest.json');
}
{
  const r = load('log_append');
  row('P5 log append, 100-byte records, one shard', `${fmt(r.one_shard.median)} records/s`,
      `B-SYNC: ${fmt(r.baseline.median_bytes_per_s / 1e6)} MB/s`, `${fmt(r.ratio, 2)} (bytes/s)`,
      `bench/log_append.sh ${r.rounds} ${r.seconds_per_round}`, 'log_append.json');
}
{
  const r = load('lake_latency');
  row(`P7 publish → in a lake object, \`interval_s = ${r.interval_s}\``, `slowest ${fmt(r.worst_s, 3)} s`,
      `the interval: ${r.interval_s} s`, fmt(r.ratio, 2), `bench/lake_latency.sh ${r.interval_s} ${r.probes_per_phase}`,
      'lake_latency.json');
}
{
  const r = load('lake_parquet_size');
  const lake = `bench/lake.sh ${r.rows} ${load('lake_compaction').rounds}`;
  row('P8 compacted Parquet, bytes a row', `${fmt(r.sensorpipe.bytes_per_row, 2)} B`,
      `B-VM: ${fmt(r.baselines.victoriametrics.bytes_per_row, 2)} B`, fmt(r.ratio, 2), lake, 'lake_parquet_size.json');
  const c = load('lake_compaction');
  row('P9 compaction', `${fmt(c.sensorpipe.median)} rows/s`, `B-DUCK \`COPY\`: ${fmt(c.baseline.median)} rows/s`,
      fmt(c.ratio, 2), lake, 'lake_compaction.json');
  const q = load('lake_hourly_query');
  row('P10 hourly query over the lake (`sensorpipe query`)', `${fmt(q.sensorpipe.median)} ms`,
      `DuckDB alone: ${fmt(q.baseline.median)} ms`, fmt(q.ratio, 2), lake, 'lake_hourly_query.json');
}
{
  const r = load('dashboard_panel');
  const command = `bench/dashboard.sh ${r.rounds}`;
  const all = r.hourly_all_devices;
  row('P10 hourly query through the rollup, 100 devices', `${fmt(all.sensorpipe_ms, 2)} ms`,
      `B-VM: ${fmt(all.victoriametrics_ms)} ms`, fmt(all.ratio_vs_vm, 3), command, 'dashboard_panel.json');
  const one = r.one_device;
  row('P11 dashboard panel, one device', `${fmt(one.sensorpipe_ms.median, 2)} ms`,
      `B-VM: ${fmt(one.victoriametrics_ms, 2)} ms`, fmt(one.ratio_vs_vm, 2), command, 'dashboard_panel.json');
  const page = r.page_load.one_device.ready_ms;
  row('P11 dashboard in the browser, every panel drawn, one device', `${fmt(page.median)} ms`,
      'our target: 1,000 ms', fmt(page.median / 1000, 2), command, 'dashboard_panel.json');
}
{
  const r = load('agent');
  row('P14 device agent at 1 reading/s over mutual TLS, own memory (RssAnon)',
      `${fmt(r.sensorpipe.rss_anon_mb.median, 2)} MB`, `\`mosquitto_pub -l\`: ${fmt(r.baseline.rss_anon_mb.median, 2)} MB`,
      fmt(r.ratio.rss_anon, 2), `bench/agent.sh ${r.seconds}`, 'agent.json');
}
{
  const r = load('agent_spool_writes');
  const p = r.policies;
  row('Agent spool, bytes to the disk a day at the default `spool_sync`',
      `${fmt(p['interval:10000'].disk_mb_per_day.median, 1)} MB`, `\`always\`: ${fmt(p.always.disk_mb_per_day.median, 1)} MB`,
      fmt(r.ratio, 2), `bench/agent_spool_writes.sh ${r.seconds} ${r.windows}`, 'agent_spool_writes.json');
}

const table = [
  '| figure | sensorpipe | baseline or peer | ratio | command | `bench/results/` |',
  '|---|---|---|---|---|---|',
  ...rows.map((cells) => '| ' + cells.join(' | ') + ' |'),
].join('\n') + '\n';

const check = process.argv.indexOf('--check');
if (check < 0) {
  process.stdout.write(table);
} else {
  const readme = readFileSync(process.argv[check + 1], 'utf8');
  const begin = readme.indexOf('<!-- figures');
  const from = readme.indexOf('\n', begin) + 1;
  const end = readme.indexOf('<!-- end of figures -->', from);
  if (begin < 0 || end < 0) {
    console.error(`${process.argv[check + 1]}: no "<!-- figures ... -->" and "<!-- end of figures -->" around the table`);
    process.exit(1);
  }
  if (readme.slice(from, end) !== table) {
    console.error(`${process.argv[check + 1]}'s table of figures is not what bench/table.mjs prints from ` +
                  'bench/results/; replace it with:\n' + table);
    process.exit(1);
  }
}
