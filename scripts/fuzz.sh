#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 60), with
# cargo-fuzz on the stable toolchain (RUSTC_BOOTSTRAP=1 lets it pass the
# sanitizer flags). Corpora grow in fuzz/corpus/<target>/ (seeded from
# the project's own files there); a crash stops the run and leaves its
# input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz@0.13.1
export RUSTC_BOOTSTRAP=1
targets=$(cd fuzz && cargo fuzz list)
for t in $targets; do
  mkdir -p "fuzz/corpus/$t"
  echo "== fuzz $t for ${seconds}s"
  (cd fuzz && cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -max_len=65536 \
     -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>&1 | tail -n 12)
done
