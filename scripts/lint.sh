#!/usr/bin/env bash
# Formatting (clang-format, every tracked C++ file) and static analysis (clang-tidy with
# .clang-tidy). clang-tidy runs on every source file in CI (CI=true) or with LINT_ALL=1, and
# otherwise on the sources changed against origin/main (or HEAD when there is none).
# Usage: scripts/lint.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

files=$(git ls-files '*.cpp' '*.h' 2>/dev/null || find src tests -name '*.cpp' -o -name '*.h')
echo "lint: clang-format on $(echo "$files" | wc -w) files"
clang-format --dry-run --Werror $files

if [ "${CI:-}" = true ] || [ "${LINT_ALL:-}" = 1 ]; then
  sources=$(git ls-files 'src/*.cpp' | grep -v '_test\.cpp$' || true)
else
  base=$(git rev-parse --verify -q origin/main || echo HEAD)
  sources=$( (git diff --name-only --diff-filter=d "$base" -- 'src/*.cpp'; git ls-files --others --exclude-standard 'src/*.cpp') |
    grep -v '_test\.cpp$' | sort -u || true)
fi
[ -z "$sources" ] && { echo "lint: no sources for clang-tidy"; exit 0; }
echo "lint: clang-tidy on $(echo "$sources" | wc -w) files"
report=$(echo "$sources" | xargs -P "${JOBS:-2}" -n 1 clang-tidy -p "$build" --quiet 2>/dev/null || true)
if echo "$report" | grep -qE '(warning|error):'; then
  echo "$report" | grep -E -A3 '(warning|error):'
  echo "lint: clang-tidy found problems" >&2
  exit 1
fi
echo "lint: ok"
