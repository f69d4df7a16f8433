#!/usr/bin/env bash
# The main job: build fidogate, register a credential with the software
# authenticator, and verify it with `fidogate verify webauthn`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
cargo build --release -q -p fidogate-proxy -p fidogate-testkit
challenge=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
for fmt in none packed-self packed fido-u2f; do
  echo "== $fmt"
  target/release/soft-register --fmt "$fmt" --rp-id localhost --origin http://localhost:8080 --challenge "$challenge" \
    | target/release/fidogate verify webauthn --rp-id localhost --origin http://localhost:8080 --challenge "$challenge" -
done
