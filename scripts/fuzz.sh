#!/usr/bin/env bash
# Fuzzes the CSV and JSON readers: builds the libFuzzer targets with clang (ASan + UBSan) in
# build-fuzz and runs each for SECONDS (default 20), starting from the seed corpus in
# tests/fuzz/{csv,json}. New corpus entries stay in build-fuzz/corpus/; a crash is written to
# build-fuzz/findings/ and makes the script fail. Replay one with: build-fuzz/csv_reader_fuzz FILE
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
build=${FUZZ_BUILD:-build-fuzz}

CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPLAYGROUND_FUZZ=ON \
  -DPLAYGROUND_TESTS=OFF >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target csv_reader_fuzz json_reader_fuzz

mkdir -p "$build/findings"
for format in csv json; do
  target=$(find "$build" -type f -name "${format}_reader_fuzz" -perm -u+x | head -n 1)
  mkdir -p "$build/corpus/$format"
  echo "fuzz: $format for ${seconds}s"
  "$target" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$format-" "$build/corpus/$format" "tests/fuzz/$format"
done
echo "fuzz: no findings"
