#!/usr/bin/env bash
# The second, independent Parquet reader tests/parquet_reader_test.cc checks sensorpipe's compacted
# files with: hyparquet (plain JavaScript, no DuckDB inside) and its decompressors (zstd). It comes
# from the npm registry with every dependency pinned by scripts/parquet-reader/package-lock.json,
# into .cache/parquet-reader/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=scripts/parquet-reader
DEST=.cache/parquet-reader
if [[ -f $DEST/node_modules/hyparquet/package.json ]] && cmp -s "$SRC/package-lock.json" "$DEST/package-lock.json"; then
  exit 0
fi
echo "fetch-parquet-reader: installing the Parquet reader for the tests from npm ($SRC/package-lock.json)"
# Install beside the cache and move it in whole, so an interrupted install is never taken as done.
rm -rf "$DEST.tmp"
mkdir -p "$DEST.tmp"
cp "$SRC/package.json" "$SRC/package-lock.json" "$DEST.tmp/"
(cd "$DEST.tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --silent)
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
