#!/usr/bin/env bash
# The dashboard's front-end libraries from the npm registry, each with every dependency pinned by
# scripts/web-deps/package-lock.json, installed into .cache/web-deps/ (ignored by git):
#   uplot             the chart library (dist/uPlot.iife.min.js, dist/uPlot.min.css)
#   @fontsource/inter the page's font (latin woff2 files only are used)
# src/web/CMakeLists.txt embeds the files it needs into the daemon, which serves them under
# /assets/, so the page makes no request outside the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
src=scripts/web-deps dest=.cache/web-deps
if [[ -f $dest/node_modules/uplot/package.json ]] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
  exit 0
fi
echo "fetch-web-deps: installing the dashboard's libraries from npm ($src/package-lock.json)"
# Install beside the cache and move it in whole, so an interrupted install is never taken as done.
rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
cp "$src/package.json" "$src/package-lock.json" "$dest.tmp/"
(cd "$dest.tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --silent)
rm -rf "$dest"
mv "$dest.tmp" "$dest"
