#!/usr/bin/env bash
# The dashboard's front-end libraries from the npm registry, each with every dependency pinned by
# scripts/web-deps/package-lock.json, installed into .cache/web-deps/ (ignored by git):
#   uplot             the chart library (dist/uPlot.iife.min.js, dist/uPlot.min.css)
#   @fontsource/inter the page's font (latin woff2 files only are used)
# src/web/CMakeLists.txt embeds the files it needs into the daemon, which serves them under
# /assets/, so the page makes no request outside the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/npm-lock-install.sh
npm_lock_install web-deps uplot
