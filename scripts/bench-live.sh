#!/usr/bin/env bash
# Live capture benchmark (root): a veth pair between the root namespace and a scratch
# one (addresses in 198.18.0.0/15), `tcpreplay --topspeed` of a 1M-frame mix of 66-byte
# ACKs and 1514-byte data frames (oftgen elephants, cut to 1,000,000 frames) into one
# end, and on the other end, one after another in the same run: oftsniff with each
# backend (ring, pnet) and tcpdump. Per capture: frames offered (tcpreplay), captured,
# dropped by the kernel and inside the capturer, and CPU nanoseconds per offered frame
# for each thread and in total, spent during the replay (from /proc/PID/task/*/schedstat,
# read just before the replay and again just before the capturer is stopped). What the
# capturer spent before the replay (start-up: the ring backend's kernel zeroes its 64 MB
# ring, ~170 ms on the development VM) is printed apart, and once more folded into a
# total, since a 1M-frame run is too short to hide it. Numbers are indicative (shared
# cores); nothing asserts them.
#
# Usage: [OFTSNIFF=BINARY] [BACKENDS="ring pnet"] scripts/bench-live.sh [FRAMES]   (default 1000000)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
FRAMES=${1:-1000000}
if [ "$(id -u)" -ne 0 ]; then
    echo "bench-live: SKIPPED: needs root (network namespaces, raw sockets)" >&2
    exit 2
fi
for c in tcpreplay tcpdump editcap ip; do
    command -v "$c" >/dev/null 2>&1 || {
        echo "bench-live: '$c' is missing (apt-get install tcpreplay tcpdump tshark iproute2)" >&2
        exit 2
    }
done

echo "== building (cargo build --release)" >&2
cargo build --release --quiet
# OFTSNIFF=PATH measures another build (say, of the commit before a change) with the same
# capture and script.
OFTSNIFF=${OFTSNIFF:-$ROOT/target/release/oftsniff}
OFTGEN=$ROOT/target/release/oftgen

SCRATCH=$(mktemp -d)
NS=oftbl$$
VA=obla$$
VB=oblb$$
cleanup() {
    ip link del "$VA" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

# The mix: bulk flows, each data frame 1514 bytes, each ACK 66.
MIX=$SCRATCH/mix.pcap
"$OFTGEN" elephants "$SCRATCH/el.pcap" --flows $((FRAMES / 1000 + 1)) >/dev/null 2>&1
editcap -r "$SCRATCH/el.pcap" "$MIX" "1-$FRAMES" >/dev/null
rm -f "$SCRATCH/el.pcap"

ip netns add "$NS"
ip link add "$VA" type veth peer name "$VB"
ip link set "$VB" netns "$NS"
ip addr add 198.18.250.1/30 dev "$VA"
ip link set "$VA" up
ip netns exec "$NS" ip addr add 198.18.250.2/30 dev "$VB"
ip netns exec "$NS" ip link set "$VB" up
ip netns exec "$NS" ip link set lo up

# cpu_ns PID: "thread-name ns" for each thread, on-CPU time from schedstat.
cpu_ns() {
    local t
    for t in /proc/"$1"/task/*; do
        printf '%s %s\n' "$(tr ' ' '_' <"$t/comm")" "$(cut -d' ' -f1 "$t/schedstat")"
    done
}

# measure LABEL CMD...: starts CMD in the namespace, replays the mix, reads per-thread
# CPU, stops CMD with SIGINT and prints its counters.
measure() {
    local label=$1
    shift
    ip netns exec "$NS" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" &
    local pid=$!
    sleep 1.5
    # The capturer itself (ip netns exec execs it, so the PID is its own).
    cpu_ns "$pid" >"$SCRATCH/cpu0"
    local offered
    offered=$(tcpreplay -i "$VA" --topspeed "$MIX" 2>&1 | awk '/Successful packets:/ {print $3}')
    sleep 1
    cpu_ns "$pid" >"$SCRATCH/cpu"
    kill -INT "$pid"
    wait "$pid" || true
    echo
    echo "$label: offered ${offered:-?} frames"
    case "$label" in
    tcpdump*)
        awk '/packets captured|packets received by filter|packets dropped by kernel/ {print "  " $0}' \
            "$SCRATCH/err"
        ;;
    *)
        awk '/frames captured|dropped by kernel|dropped by oftsniff/ {print "  " $0}' "$SCRATCH/err"
        ;;
    esac
    # Thread names repeat (the ring backend's "oftsniff" main thread is one of a kind, but
    # be safe): sum by name, before (file 1) and at the end (file 2).
    awk -v n="${offered:-0}" 'FNR == NR { t0[$1] += $2; start += $2; next }
        { ns[$1] += $2 - t0[$1]; tot += $2 - t0[$1] }
        END {
            for (t in ns) if (ns[t] > 0)
                printf "  thread %-16s %10.1f ms  %8.1f ns/frame\n", t, ns[t] / 1e6, (n > 0 ? ns[t] / n : 0)
            printf "  %-23s %10.1f ms  %8.1f ns/frame\n", "total during replay", tot / 1e6, (n > 0 ? tot / n : 0)
            printf "  %-23s %10.1f ms\n", "start-up (before)", start / 1e6
            printf "  %-23s %10.1f ms  %8.1f ns/frame\n", "total with start-up", (tot + start) / 1e6, (n > 0 ? (tot + start) / n : 0)
        }' "$SCRATCH/cpu0" "$SCRATCH/cpu"
}

echo "oftsniff live benchmark, $(nproc) cores, $(uname -r), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)$(git diff --quiet HEAD 2>/dev/null || echo +changes), binary $OFTSNIFF"
echo "(tcpreplay --topspeed of $FRAMES frames over veth; CPU from /proc/PID/task/*/schedstat, during the replay)"
for backend in ${BACKENDS:-ring pnet}; do
    measure "oftsniff --backend $backend" "$OFTSNIFF" -i "$VB" --backend "$backend" -q \
        --no-status --json /dev/null
done
measure "tcpdump -w /dev/null" tcpdump -i "$VB" -w /dev/null
