#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 60), with
# cargo-fuzz on the stable toolchain (RUSTC_BOOTSTRAP=1 lets it pass the
# sanitizer flags). The seeds are generated first (fuzz/examples/seeds.rs:
# the testkit's registrations, and ../shared/vectors when present) into
# fuzz/corpus/<target>/seed-*; the corpora grow there. A crash stops the run
# and leaves its input in fuzz/artifacts/<target>/. Set FUZZ_TARGETS to run
# some targets only; each target's final statistics go to
# target/fuzz-stats/<target>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz@0.13.1
export RUSTC_BOOTSTRAP=1
# The entry points the targets use, and the fixture they share, work.
cargo test -q -p fidogate-core --features fuzzing --lib attestation::fuzzing
(cd fuzz && cargo run -q --example seeds)
(cd fuzz && cargo fuzz build)
targets=${FUZZ_TARGETS:-$(cd fuzz && cargo fuzz list)}
mkdir -p target/fuzz-stats
for t in $targets; do
  mkdir -p "fuzz/corpus/$t"
  echo "== fuzz $t for ${seconds}s"
  (cd fuzz && cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -max_len=65536 \
     -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>&1 | tee "../target/fuzz-stats/$t.txt" | tail -n 3)
done
