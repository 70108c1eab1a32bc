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

source scripts/npm-lock-install.sh

npm_lock_install s3-server @20minutes/s3rver
npm_lock_install parquet-reader hyparquet
npm_lock_install browser playwright-core
