#!/usr/bin/env bash
# Runs every test: the workspace, and the core suite once per crypto backend.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export FIDOGATE_VECTORS="${FIDOGATE_VECTORS:-$(cd .. && pwd)/shared/vectors}"
echo "== core, pure-Rust crypto backend"
cargo test -p fidogate-core --all-targets
echo "== core, aws-lc crypto backend"
cargo test -p fidogate-core --all-targets --features aws-lc
echo "== workspace (the fidogate binary uses aws-lc)"
cargo test --workspace --all-targets --exclude fidogate-core
echo "== the scenario table through fidogate run (a test-clock build of the binary)"
cargo test -p fidogate-proxy --features test-clock --test scenarios
echo "== doc tests"
cargo test --workspace --doc
