#!/usr/bin/env bash
# Installs what a fresh machine lacks to build fidogate. Idempotent.
set -euo pipefail
need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v cc >/dev/null 2>&1 || need+=(build-essential)
# OpenSSL headers: webauthn-rs-core, the peer the verify bench compares with.
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
# A real Redis for the shared challenge store's tests (they start their
# own on 127.0.0.1; no system service is used).
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The browser suite: Debian's Chromium, and Node.js (20 or later) for
# fidogate.js's unit tests and the suite's driver.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "bootstrap: installing ${need[*]}"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
command -v cargo >/dev/null 2>&1 || { echo "bootstrap: cargo is required (https://rustup.rs)" >&2; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "bootstrap: Node.js 20 or later is required (found $(node --version))" >&2
  exit 1
fi
# playwright-core, exactly as tests/browser/package-lock.json pins it, into
# tests/browser/node_modules (the project's folder; nothing global). It
# drives the system Chromium: no browser is downloaded.
cd "$(dirname "$0")/../tests/browser"
want=$(node -p 'require("./package-lock.json").packages["node_modules/playwright-core"].version')
have=$(node -p 'try { require("./node_modules/playwright-core/package.json").version } catch { "" }')
if [ "$have" != "$want" ]; then
  echo "bootstrap: installing playwright-core $want into tests/browser/node_modules (npm ci)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
# @simplewebauthn/server, exactly as benches/simplewebauthn/package-lock.json
# pins it, into benches/simplewebauthn/node_modules: the Node.js app the
# benchmark compares fidogate with (`gateway-load alternatives`).
cd ../../benches/simplewebauthn
want=$(node -p 'require("./package-lock.json").packages["node_modules/@simplewebauthn/server"].version')
have=$(node -p 'try { require("./node_modules/@simplewebauthn/server/package.json").version } catch { "" }')
if [ "$have" != "$want" ]; then
  echo "bootstrap: installing @simplewebauthn/server $want into benches/simplewebauthn/node_modules (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
