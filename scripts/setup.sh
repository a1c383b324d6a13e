#!/usr/bin/env bash
# Installs what building, running and testing need on Debian 12, and the web packages.
# As root it runs apt-get; otherwise it prints the exact apt-get line to run and fails.
# Usage: scripts/setup.sh [run|test]   (test adds the packages only the tests and checks need)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
packages=(
  build-essential cmake pkg-config
  libboost-dev libspdlog-dev libcli11-dev nlohmann-json3-dev prometheus-cpp-dev
  libsqlite3-dev libpq-dev libssl-dev libargon2-dev libhiredis-dev libxxhash-dev
  libhowardhinnant-date-dev tzdata
  libeigen3-dev liblinear-dev
)
# Node.js may come from elsewhere than Debian (a newer release); only install Debian's when there
# is none, since the two conflict.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
if [ "$mode" = test ]; then
  packages+=(
    libgtest-dev libgmock-dev
    clang-format clang-tidy
    clang libclang-rt-14-dev libomp-dev
    postgresql-15 pgbouncer redis-server
    curl
    chromium
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

# The web packages: the UI's (React, Vite, Vitest, playwright-core) and Swagger UI for /docs,
# which is embedded in the binary from here.
if [ ! -d web/node_modules/vite ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  echo "setup: installing web packages"
  (cd web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
