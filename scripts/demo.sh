#!/usr/bin/env bash
# demo.sh — oftsniff live on a small AIM LAN made of network namespaces, in one command:
#
#   sudo scripts/demo.sh
#
# Builds oftsniff and oftpeer (release) if needed, brings up the test bed of testbed.sh,
# starts oftsniff on the bed's monitor port with its log on this terminal, runs a direct and
# a proxied file transfer between the sender and receiver namespaces (oftpeer), stops
# oftsniff, and says where the pcap, the NDJSON events and the carved files are
# (./demo-out/ unless OFT_DEMO_OUT says otherwise; OFT_DEMO_BIN runs binaries built elsewhere). The bed is torn down on exit, Ctrl-C
# included. Only 198.18.0.0/24 inside private namespaces is used; nothing leaves the machine.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "demo.sh: must run as root (it builds network namespaces): sudo $0" >&2
    exit 1
fi

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="${OFT_DEMO_OUT:-$ROOT/demo-out}"
export OFT_TESTBED_PREFIX="${OFT_TESTBED_PREFIX:-oftdemo}"
P="$OFT_TESTBED_PREFIX"
# OFT_DEMO_BIN: a directory already holding oftsniff and oftpeer (the test suite passes its
# own build); nothing is built then.
BIN="${OFT_DEMO_BIN:-$ROOT/target/release}"
SNIFF_PID=""
PIDS=()

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cleanup() {
    local rc=$?
    # Everything below must run to the end: no `set -e` (a `wait` for a program killed by
    # the same Ctrl-C returns non-zero), and a second Ctrl-C must not cut it short.
    set +e
    trap - EXIT
    trap '' INT TERM
    if [ -n "$SNIFF_PID" ]; then
        # Already stopping if the Ctrl-C reached it too: a repeat within 1 s is the same stop.
        kill -INT "$SNIFF_PID" 2>/dev/null
        wait "$SNIFF_PID" 2>/dev/null
    fi
    # The peers, and a receiver still waiting in `transfer`.
    for pid in "${PIDS[@]}" $(jobs -p); do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    "$ROOT/scripts/testbed.sh" down >/dev/null 2>&1
    exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo.sh: interrupted"; exit 130' INT TERM

command -v ip >/dev/null || { echo "demo.sh: iproute2 'ip' not found" >&2; exit 1; }

# Build as the user who ran sudo (their toolchain, their file ownership in target/);
# cargo does nothing when everything is fresh.
if [ -n "${OFT_DEMO_BIN:-}" ]; then
    [ -x "$BIN/oftsniff" ] && [ -x "$BIN/oftpeer" ] || {
        echo "demo.sh: OFT_DEMO_BIN=$BIN holds no oftsniff and oftpeer" >&2
        exit 1
    }
elif [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    say "building (cargo build --release; quick when up to date)"
    sudo -u "$SUDO_USER" -H bash -lc "cd '$ROOT' && cargo build --release --bins"
elif command -v cargo >/dev/null; then
    say "building (cargo build --release; quick when up to date)"
    cargo build --release --bins
elif [ ! -x "$BIN/oftsniff" ] || [ ! -x "$BIN/oftpeer" ]; then
    echo "demo.sh: cargo not found and no release build: run 'cargo build --release' first" >&2
    exit 1
fi

say "test bed up (namespaces $P-*)"
"$ROOT/scripts/testbed.sh" down >/dev/null 2>&1 || true
"$ROOT/scripts/testbed.sh" up >/dev/null
cat <<EOF
  $P-snd  198.18.0.1   alice, file sender
  $P-rcv  198.18.0.2   bob, file receiver
  $P-prx  198.18.0.10  ARS rendezvous proxy (oftpeer proxy)
  $P-bos  198.18.0.20  FLAP/BOS relay (oftpeer bos)
  $P-mon  oftmon0      monitor port: sees every frame on the bridge; oftsniff listens here
EOF

rm -rf "$OUT"
mkdir -p "$OUT/carved" "$OUT/received" "$OUT/src"
head -c 3000000 /dev/urandom >"$OUT/src/holiday-photos.zip"
head -c 1200000 /dev/urandom >"$OUT/src/thesis-draft.pdf"

# Background programs are started with a plain `ip netns exec` (it execs the program, so
# $! is the program itself); a shell function in the background would be a subshell that
# ignores SIGINT.

say "oftsniff live on oftmon0 (its log follows as it happens)"
ip netns exec "$P-mon" "$BIN/oftsniff" -i oftmon0 --json "$OUT/events.ndjson" -w "$OUT/transfers.pcap" \
    --extract "$OUT/carved" &
SNIFF_PID=$!
ip netns exec "$P-bos" "$BIN/oftpeer" bos --listen 198.18.0.20:5190 2>"$OUT/bos.log" &
PIDS+=($!)
ip netns exec "$P-prx" "$BIN/oftpeer" proxy --listen 198.18.0.10:5190 2>"$OUT/proxy.log" &
PIDS+=($!)
sleep 1

# One transfer: bob waits for an offer, alice sends; the peers' own logs go to files.
transfer() {
    local label="$1"; shift
    ip netns exec "$P-rcv" "$BIN/oftpeer" recv --bos 198.18.0.20:5190 --sn bob --out "$OUT/received" \
        2>>"$OUT/peers.log" &
    local rcv=$!
    ip netns exec "$P-snd" "$BIN/oftpeer" send --bos 198.18.0.20:5190 --sn alice --to bob "$@" \
        2>>"$OUT/peers.log" || echo "demo.sh: $label: sender failed (see $OUT/peers.log)" >&2
    wait "$rcv" || echo "demo.sh: $label: receiver failed (see $OUT/peers.log)" >&2
}

say "transfer 1: direct, alice -> bob, holiday-photos.zip (3 MB)"
transfer direct "$OUT/src/holiday-photos.zip"
sleep 1
say "transfer 2: through the rendezvous proxy, alice -> bob, thesis-draft.pdf (1.2 MB)"
transfer proxied --proxy 198.18.0.10:5190 "$OUT/src/thesis-draft.pdf"
sleep 1.5

say "stopping oftsniff (SIGINT)"
kill -INT "$SNIFF_PID"
wait "$SNIFF_PID" || true
SNIFF_PID=""

say "results in $OUT"
cat <<EOF
  pcap of the two transfers' connections:  $OUT/transfers.pcap   (open in Wireshark)
  events, one JSON object per line:       $OUT/events.ndjson    (e.g. jq -c 'select(.event=="file")')
  carved files:                           $OUT/carved/
  what bob received (for comparison):     $OUT/received/
  peer logs:                              $OUT/peers.log
EOF
echo
for f in "$OUT"/src/*; do
    n="$(basename "$f")"
    if cmp -s "$f" "$OUT/carved/$n"; then
        echo "  carved $n is identical to the file alice sent"
    else
        echo "  carved $n differs from the file alice sent (or is missing)"
    fi
done
echo
echo "test bed torn down on exit."
