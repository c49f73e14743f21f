#!/usr/bin/env bash
# Proves that the default (production) wawp binary verifies WhatsApp's certificate chain: pointed at
# fakewa, whose chain is signed by fakewa's own root key and not WhatsApp's, it never gets past the
# Noise handshake, so a session never shows a QR code.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"

# Two separate builds: one `cargo build -p wawp -p fakewa` would unify fakewa's skip feature into wawp.
cargo build -p fakewa --bin fakewa
cargo build -p wawp --bin wawp
if "$target/debug/wawp" --help | grep -q sandbox; then
    echo "FAIL: the default wawp build has the sandbox command"; exit 1
fi

work=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fw_port=$(free_port)
api_port=$(free_port)

"$target/debug/fakewa" --listen "127.0.0.1:$fw_port" --data-dir "$work/fakewa" > "$work/fakewa.log" 2>&1 &
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$fw_port/" > /dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$fw_port/" > /dev/null || { echo "FAIL: fakewa did not start"; cat "$work/fakewa.log"; exit 1; }

token=$("$target/debug/wawp" token create --name ci --data-dir "$work/wawp" | tail -n 1)
WAWP_WHATSAPP_VERSION=2.3000.0 RUST_LOG=info,whatsapp_rust=debug,wacore=debug \
    "$target/debug/wawp" serve --listen "127.0.0.1:$api_port" --data-dir "$work/wawp" \
    --whatsapp-url "ws://127.0.0.1:$fw_port/ws/chat" > "$work/wawp.log" 2>&1 &
api="http://127.0.0.1:$api_port"
for _ in $(seq 200); do curl -sf "$api/ready" > /dev/null && break; sleep 0.1; done

id=$(curl -sf -X POST "$api/v2/session/create" -H "Authorization: Bearer $token" \
    | python3 -c 'import sys, json; print(json.load(sys.stdin)["instance_id"])')
# A session that completed the handshake would show a QR code within a second; give it 10 s.
for _ in $(seq 100); do
    status=$(curl -sf -X POST "$api/v2/session/info" -H "Authorization: Bearer $token" -d "instance_id=$id" \
        | python3 -c 'import sys, json; print(json.load(sys.stdin)["status"])')
    if [ "$status" = "SCAN_QR_CODE" ] || [ "$status" = "WORKING" ]; then
        echo "FAIL: the default wawp build accepted fakewa's certificate chain (status $status)"
        exit 1
    fi
    sleep 0.1
done
if ! grep -qiE 'cert' "$work/wawp.log"; then
    echo "FAIL: no certificate error in wawp's log"; tail -n 40 "$work/wawp.log"; exit 1
fi
echo "OK: the default wawp build refused fakewa's certificate chain:"
grep -iE 'cert' "$work/wawp.log" | head -n 3
