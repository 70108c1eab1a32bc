#!/usr/bin/env bash
# The test tools that come from the npm registry, each with every dependency pinned by its
# scripts/<tool>/package-lock.json, installed into .cache/<tool>/ (ignored by git):
#   s3-server       @20minutes/s3rver, a maintained fork of s3rver that checks SigV4 signatures: the
#                   S3-compatible server the S3 tests run on loopback
#   parquet-reader  hyparquet (plain JavaScript, no DuckDB inside) and its decompressors: the
#                   second, independent Parquet reader of tests/parquet_reader_test.cc
#   browser         playwright-core, which drives Debian's chromium headless for the dashboard's
#                   browser tests (tests/browser/dashboard.mjs, run by tests/dashboard_test.cc)
set -euo pipefail
cd "$(dirname "$0")/.."

install() {  # install TOOL PACKAGE: npm ci of scripts/TOOL into .cache/TOOL unless PACKAGE is there from the same lock
  local src=scripts/$1 dest=.cache/$1
  if [[ -f $dest/node_modules/$2/package.json ]] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
    return 0
  fi
  echo "fetch-test-tools: installing $1 from npm ($src/package-lock.json)"
  # Install beside the cache and move it in whole, so an interrupted install is never taken as done.
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  cp "$src/package.json" "$src/package-lock.json" "$dest.tmp/"
  (cd "$dest.tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --silent)
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
}

install s3-server @20minutes/s3rver
install parquet-reader hyparquet
install browser playwright-core
