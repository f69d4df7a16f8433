#!/usr/bin/env bash
# Every table of BENCHMARKS.md, on this machine: the verification and
# engine benches (criterion) with each crypto backend, webauthn-rs-core
# beside them, then the gateway load harness (127.0.0.1 only, bounded:
# about 25 minutes as last timed whole, the comparison with apps that verify
# themselves included; the store comparison starts a
# redis-server of its own on 127.0.0.1; the TLS pass-through comparison
# makes its own certificate; the comparison with apps that verify
# themselves runs webauthn-rs and the Node.js app in benches/simplewebauthn,
# whose packages bootstrap.sh installs from its lock file). Results go to
# benches/results (or $FIDOGATE_BENCH_OUT); extra arguments go to the
# harness (`target/release/gateway-load --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
out=${FIDOGATE_BENCH_OUT:-benches/results}
mkdir -p "$out"
rm -rf target/criterion
for backend in rust-crypto aws-lc; do
  echo "== criterion, $backend backend"
  cargo bench -p fidogate-bench --no-default-features --features "$backend" \
    --bench verify --bench gateway --bench metadata -- --noplot
done
echo "== gateway load harness"
cargo build --release -p fidogate-proxy -p fidogate-load
target/release/gateway-load criterion-tables --dir target/criterion --out "$out"
target/release/gateway-load --out "$out" "$@"
echo "== challenge stores: memory vs Redis, options flood"
target/release/gateway-load stores --out "$out"
echo "== pass-through over TLS: bare Pingora vs fidogate"
target/release/gateway-load tls --out "$out"
echo "== against verifying in the app: an axum app on webauthn-rs, a Node.js app on @simplewebauthn/server"
target/release/gateway-load alternatives --warmup 3 --out "$out"
