// The second Parquet reader of tests/parquet_reader_test.cc: hyparquet, a Parquet implementation in
// plain JavaScript that shares no code with DuckDB (pinned in scripts/parquet-reader/, installed by
// scripts/fetch-test-tools.sh into .cache/parquet-reader). It reads FILE and prints one JSON
// document:
//   {"num_rows": N, "row_groups": G,
//    "columns": [{"name", "type", "logical", "converted", "repetition"}, ...],   // leaf columns, in order
//    "rows": [[v, ...], ...]}                                                   // one array per row, in column order
// Values as the file holds them, nothing rounded on the way: INT64 as a decimal string (a double
// cannot hold every one), timestamps as a decimal string of the unit the file stores (µs for
// TIMESTAMP(MICROS)), JSON and strings as the stored text, doubles as numbers (printed in the
// shortest form that reads back as the same double), null as null.
// Usage: node parquet_read.mjs PACKAGE_DIR FILE
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [packageDir, file] = process.argv.slice(2);
if (!packageDir || !file) {
  console.error('usage: node parquet_read.mjs PACKAGE_DIR FILE');
  process.exit(2);
}
// The packages live in the cache, not beside this script: resolve them from there.
const require = createRequire(path.join(path.resolve(packageDir), 'package.json'));
const load = async (name) => import(pathToFileURL(require.resolve(name)).href);
const { asyncBufferFromFile, parquetMetadataAsync, parquetRead } = await load('hyparquet');
const { compressors } = await load('hyparquet-compressors');

const decoder = new TextDecoder();
const raw = (x) => (typeof x === 'bigint' ? x.toString() : x);
const parsers = {
  timestampFromMilliseconds: raw,
  timestampFromMicroseconds: raw,
  timestampFromNanoseconds: raw,
  dateFromDays: (d) => d,
  stringFromBytes: (b) => b && decoder.decode(b),
  jsonFromBytes: (b) => b && decoder.decode(b),  // the text as stored, not re-serialised
};

const buffer = await asyncBufferFromFile(file);
const metadata = await parquetMetadataAsync(buffer);
const columns = metadata.schema
  .filter((e) => e.num_children === undefined)
  .map((e) => ({
    name: e.name,
    type: e.type,
    logical: e.logical_type ? e.logical_type.type + (e.logical_type.unit ? `(${e.logical_type.unit})` : '') : null,
    converted: e.converted_type ?? null,
    repetition: e.repetition_type ?? null,
  }));

let rows;
await parquetRead({
  file: buffer,
  metadata,
  compressors,
  parsers,
  utf8: true,
  rowFormat: 'array',
  onComplete: (data) => { rows = data; },
});

process.stdout.write(JSON.stringify({
  num_rows: Number(metadata.num_rows),
  row_groups: metadata.row_groups.length,
  columns,
  rows,
}, (key, value) => raw(value)));
process.stdout.write('\n');
