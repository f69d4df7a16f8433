#!/usr/bin/env bash
# Runs every test: the workspace, the core suite once per crypto backend,
# fidogate.js's unit tests and the browser suite.
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
echo "== fidogate.js unit tests (node --test)"
node --test client/test/
echo "== the browser suite (Chromium with virtual authenticators, fidogate run, the demo app)"
bash scripts/browser.sh
echo "== the scenario table through fidogate run (a test-clock build of the binary)"
cargo test -p fidogate-proxy --features test-clock --test scenarios
echo "== doc tests (under the feature sets built above, not a new union of them)"
cargo test -p fidogate-core --doc
cargo test --workspace --exclude fidogate-core --doc
