#!/usr/bin/env bash
# The web UI (web/): build it into web/dist when its sources changed, and test it.
# Usage: scripts/web.sh build
#        scripts/web.sh test BUILD_DIR   (Vitest, then the end-to-end test in Chromium against
#                                         BUILD_DIR/playground; screenshots in BUILD_DIR/web-e2e)
set -euo pipefail
cd "$(dirname "$0")/../web"

build() {
  local stamp=dist/index.html
  if [ -f "$stamp" ] && [ -z "$(find index.html src public package-lock.json vite.config.ts tsconfig.json -newer "$stamp" -print -quit)" ]; then
    return 0
  fi
  echo "web: building the UI into web/dist"
  npm run --silent build
}

case "${1:-build}" in
  build) build ;;
  test)
    build_dir=$(cd "../${2:?the build directory}" && pwd)
    build
    npx --no-install vitest run
    node e2e/run.mjs --binary "$build_dir/playground" --artifacts "$build_dir/web-e2e"
    ;;
  *) echo "usage: scripts/web.sh build | test BUILD_DIR" >&2; exit 2 ;;
esac
