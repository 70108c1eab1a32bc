#!/usr/bin/env bash
# Front-end and browser-test packages from the npm registry, installed into .cache/web/ (ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=.cache/web
[[ -f $DEST/package.json ]] && cmp -s web/package.json $DEST/package.json && [[ -d $DEST/node_modules ]] && exit 0
mkdir -p $DEST
cp web/package.json $DEST/package.json
(cd $DEST && npm install --silent --no-audit --no-fund --ignore-scripts)
