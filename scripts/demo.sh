#!/usr/bin/env bash
# The main job: the fidogate gateway on its default configuration
# (config/fidogate.yaml: HTTP on 127.0.0.1:8080, HTTPS with HTTP/2 on
# 127.0.0.1:8443 with a self-signed certificate made at first start, metrics
# on 127.0.0.1:9108) in front of the bundled demo app (127.0.0.1:3000), until
# Ctrl-C. Open http://localhost:8080/ in a browser to register a passkey, or
# run the terminal client:
#   target/release/fidogate-client webauthn alice   (also nevis, dfns, uaf)
#   curl --http2 -k https://localhost:8443/healthz
#   curl -s localhost:9108/metrics | grep ^fidogate_
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
cargo build --release -q -p fidogate-proxy -p fidogate-examples
target/release/fidogate check-config --config config/fidogate.yaml
target/release/demo-app &
app=$!
trap 'kill $app 2>/dev/null || true' EXIT INT TERM
echo "demo app on 127.0.0.1:3000; gateway on http://localhost:8080/ and https://localhost:8443/, metrics on http://127.0.0.1:9108/metrics (Ctrl-C stops both)"
target/release/fidogate run --config config/fidogate.yaml
