#!/usr/bin/env bash
# Optional: a real browser registration through the gateway. Installs
# Debian's chromium and playwright-core (into a temporary folder) when
# missing, starts the demo app and the gateway on the default config, and
# registers a passkey on http://localhost:8080/ with a virtual authenticator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if ! command -v chromium >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y -q chromium >/dev/null
fi
pw=$(mktemp -d)
(cd "$pw" && npm init -y >/dev/null && npm install -q playwright-core@1 >/dev/null)
cp tests/browser/register.mjs "$pw/"
cargo build --release -q -p fidogate-proxy -p fidogate-examples
target/release/demo-app >/dev/null 2>&1 &
app=$!
target/release/fidogate run --config config/fidogate.yaml >/dev/null 2>&1 &
gw=$!
trap 'kill $app $gw 2>/dev/null || true; rm -rf "$pw"' EXIT
for _ in $(seq 50); do curl -sf localhost:8080/healthz >/dev/null && break; sleep 0.2; done
node "$pw/register.mjs"
