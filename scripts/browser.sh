#!/usr/bin/env bash
# The browser suite: Debian's Chromium, driven by playwright-core (pinned
# in tests/browser/package-lock.json), registers on the demo page through
# `fidogate run` in front of the demo app, in every WebAuthn dialect, with
# virtual authenticators; everything on 127.0.0.1. bootstrap.sh installs
# what it needs. A failure leaves screenshots under target/browser/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
cargo build -q -p fidogate-proxy --bin fidogate -p fidogate-examples --bin demo-app
echo "browser suite: $(chromium --version 2>/dev/null | head -1), node $(node --version)," \
  "playwright-core $(node -p 'require("./tests/browser/node_modules/playwright-core/package.json").version')"
FIDOGATE_BIN="$PWD/target/debug/fidogate" DEMO_APP_BIN="$PWD/target/debug/demo-app" \
  node tests/browser/suite.js
