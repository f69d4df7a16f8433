#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 60), with
# cargo-fuzz on the stable toolchain (RUSTC_BOOTSTRAP=1 lets it pass the
# sanitizer flags). The seeds are generated first (fuzz/examples/seeds.rs:
# the testkit's registrations, and ../shared/vectors when present) into
# fuzz/corpus/<target>/seed-*; the corpora grow there. A crash or a hang
# stops the run (exit status 1) and leaves its input in
# fuzz/artifacts/<target>/. Each target's final statistics go to
# target/fuzz-stats/<target>.txt.
#
#   FUZZ_TARGETS="engine path_normalise"  only these targets
#   FUZZ_CONFIG=0                          leave out config_yaml, the one
#                                          target that needs the proxy crate
#                                          (Pingora, aws-lc) built with the
#                                          fuzzing flags (CI does: it would
#                                          add minutes of build to every run)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-60}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz@0.13.1
export RUSTC_BOOTSTRAP=1
# One target folder with the workspace: the seed generator reuses its
# builds; cargo-fuzz's own (instrumented) builds go to
# target/<host triple>/release.
export CARGO_TARGET_DIR="$root/target"
features=()
if [ "${FUZZ_CONFIG:-1}" = 1 ]; then features=(--features config); fi
# The entry points the targets use, and the fixture they share, work.
cargo test -q -p fidogate-core --features fuzzing --lib attestation::fuzzing
(cd fuzz && cargo run -q --example seeds)
(cd fuzz && cargo fuzz build "${features[@]}")
targets=${FUZZ_TARGETS:-$(cd fuzz && cargo fuzz list)}
if [ "${FUZZ_CONFIG:-1}" != 1 ]; then targets=$(echo "$targets" | tr ' ' '\n' | grep -vx config_yaml); fi
mkdir -p target/fuzz-stats
for t in $targets; do
  mkdir -p "fuzz/corpus/$t"
  echo "== fuzz $t for ${seconds}s"
  if ! (cd fuzz && cargo fuzz run "${features[@]}" "$t" "corpus/$t" -- -max_total_time="$seconds" \
       -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       > "$root/target/fuzz-stats/$t.txt" 2>&1); then
    tail -n 40 "target/fuzz-stats/$t.txt"
    echo "fuzz: $t failed; its input is in fuzz/artifacts/$t/ (replay: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run ${features[*]} $t artifacts/$t/<file>)" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|DONE" "target/fuzz-stats/$t.txt" | tail -n 2
done
