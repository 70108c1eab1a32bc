#!/usr/bin/env bash
# The S3-compatible server the S3 object store's tests run on loopback: @20minutes/s3rver, a
# maintained fork of s3rver that checks SigV4 signatures. It comes from the npm registry with every
# dependency pinned by scripts/s3-server/package-lock.json, into .cache/s3-server/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=scripts/s3-server
DEST=.cache/s3-server
if [[ -f $DEST/node_modules/@20minutes/s3rver/package.json ]] && cmp -s "$SRC/package-lock.json" "$DEST/package-lock.json"; then
  exit 0
fi
echo "fetch-s3-server: installing the S3 test server from npm ($SRC/package-lock.json)"
# Install beside the cache and move it in whole, so an interrupted install is never taken as done.
rm -rf "$DEST.tmp"
mkdir -p "$DEST.tmp"
cp "$SRC/package.json" "$SRC/package-lock.json" "$DEST.tmp/"
(cd "$DEST.tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --silent)
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
