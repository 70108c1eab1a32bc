#!/usr/bin/env bash
# DuckDB is not packaged by Debian. Its C library and header come from the npm registry, pinned
# to the versions ARCHITECTURE.md names, unpacked into .cache/duckdb/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=.cache/duckdb
VERSION=1.4.4
case "$(uname -m)" in
  x86_64) LIBPKG=@duckdb/node-bindings-linux-x64@1.4.4-r.4 ;;
  aarch64) LIBPKG=@duckdb/node-bindings-linux-arm64@1.4.4-r.3 ;;
  *) echo "fetch-duckdb: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
if [[ -f $DEST/lib/libduckdb.so && -f $DEST/include/duckdb.h && "$(cat $DEST/VERSION 2>/dev/null)" == "$LIBPKG" ]]; then
  exit 0
fi
echo "fetch-duckdb: fetching $LIBPKG and duckdb@$VERSION's header from npm"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$LIBPKG" >/dev/null && npm pack --silent "duckdb@$VERSION" >/dev/null)
mkdir -p "$tmp/lib" "$tmp/hdr" "$DEST/lib" "$DEST/include"
tar -xzf "$tmp"/duckdb-node-bindings-linux-*.tgz -C "$tmp/lib"
tar -xzf "$tmp/duckdb-$VERSION.tgz" -C "$tmp/hdr" package/src/duckdb/src/include/duckdb.h
cp "$tmp/lib/package/libduckdb.so" "$DEST/lib/"
cp "$tmp/hdr/package/src/duckdb/src/include/duckdb.h" "$DEST/include/"
echo "$LIBPKG" > "$DEST/VERSION"
