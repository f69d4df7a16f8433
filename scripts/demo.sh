#!/usr/bin/env bash
# The main job: the fidogate gateway on its default configuration
# (config/fidogate.yaml, listening on 127.0.0.1:8080) in front of the bundled
# demo app (127.0.0.1:3000), until Ctrl-C. Open http://localhost:8080/ in a
# browser to register a passkey, or run the terminal client:
#   target/release/fidogate-client webauthn alice   (also nevis, dfns, uaf)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
cargo build --release -q -p fidogate-proxy -p fidogate-examples
target/release/fidogate check-config --config config/fidogate.yaml
target/release/demo-app &
app=$!
trap 'kill $app 2>/dev/null || true' EXIT INT TERM
echo "demo app on 127.0.0.1:3000; gateway on http://localhost:8080/ (Ctrl-C stops both)"
target/release/fidogate run --config config/fidogate.yaml
