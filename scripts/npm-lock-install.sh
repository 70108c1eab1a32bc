# Sourced by the fetch scripts: npm_lock_install NAME PACKAGE installs scripts/NAME's package.json
# with every dependency pinned by its package-lock.json into .cache/NAME/ (ignored by git), unless
# PACKAGE is there already from the same lock.
npm_lock_install() {
  local src=scripts/$1 dest=.cache/$1
  if [[ -f $dest/node_modules/$2/package.json ]] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
    return 0
  fi
  echo "$(basename "$0" .sh): installing $1 from npm ($src/package-lock.json)"
  # Install beside the cache and move it in whole, so an interrupted install is never taken as done.
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  cp "$src/package.json" "$src/package-lock.json" "$dest.tmp/"
  (cd "$dest.tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --silent)
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
}
