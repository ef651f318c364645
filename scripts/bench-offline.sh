#!/usr/bin/env bash
# Offline throughput benchmark: oftsniff -r on three generated workloads, next to
# `tcpdump -r FILE -w /dev/null` as the read ceiling. One run per row; numbers are indicative
# (2 shared cores), so nothing here asserts a target.
#
# OFT recognition: each workload also runs with --no-classify (the capture, reassembly and
# flow-record pipeline alone); the "OFT recognition cost" line compares the normal run
# with it, both with --json /dev/null.
#
# Pcap output: each workload also runs with `-w FILE` on the same disk as the data (the
# output is deleted after each row); the "-w cost" line compares it with the same run
# without -w. elephants and many-flows hold no OFT, so -w writes nothing there (it measures
# the cost of holding frames until a flow is classified); oft-transfers is all OFT, so
# every frame is written and -w pays for real.
#
# Usage: scripts/bench-offline.sh [--keep] [--regen]
#   --keep   generate into target/bench-data (kept for the next run) instead of a temp dir
#   --regen  regenerate even when target/bench-data already holds the workloads
# Env: BENCH_TSHARK=1 adds a `tshark -r FILE -q` row (slow); a `suricata -r` row is added
#      automatically when suricata is installed.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
KEEP=0
REGEN=0
for a in "$@"; do
    case "$a" in
    --keep) KEEP=1 ;;
    --regen) REGEN=1 ;;
    -h | --help)
        sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "bench-offline: unknown argument '$a' (try --help)" >&2
        exit 2
        ;;
    esac
done

# Tools: GNU time for peak RSS, tcpdump for the ceiling.
need_pkg() { # command package
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bench-offline: installing $2" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    else
        echo "bench-offline: '$1' is missing; install the '$2' package" >&2
        exit 2
    fi
}
need_pkg tcpdump tcpdump
[ -x /usr/bin/time ] || need_pkg /usr/bin/time time

echo "== building (cargo build --release)" >&2
cargo build --release --quiet
OFTSNIFF=$ROOT/target/release/oftsniff
OFTGEN=$ROOT/target/release/oftgen

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

KEPT=$ROOT/target/bench-data
if [ "$KEEP" -eq 1 ] || { [ "$REGEN" -eq 0 ] && [ -s "$KEPT/elephants.pcap" ] && [ -s "$KEPT/many-flows.pcap" ] && [ -s "$KEPT/oft-transfers.pcap" ]; }; then
    DATA=$KEPT
    mkdir -p "$DATA"
else
    DATA=$SCRATCH/data
    mkdir -p "$DATA"
fi

# generate NAME: writes $DATA/NAME.pcap unless reusable; records its frame count beside it.
generate() {
    local name=$1 file=$DATA/$1.pcap
    if [ "$REGEN" -eq 0 ] && [ -s "$file" ] && [ -s "$file.frames" ]; then
        echo "== reusing $file" >&2
        return
    fi
    echo "== generating $file" >&2
    "$OFTGEN" "$name" "$file" 2>"$SCRATCH/gen.log" || {
        cat "$SCRATCH/gen.log" >&2
        exit 1
    }
    cat "$SCRATCH/gen.log" >&2
    # "oftgen: N frames, B bytes in S s"
    awk '{print $2}' "$SCRATCH/gen.log" >"$file.frames"
}

now_ns() { date +%s%N; }

# row LABEL FILE FRAMES CMD...: runs CMD once under GNU time, prints one table row and
# leaves the wall time (ns) in $LAST_NS (0 when the command failed).
LAST_NS=0
row() {
    local label=$1 file=$2 frames=$3
    shift 3
    local size t0 t1 rc=0
    size=$(stat -c %s "$file")
    t0=$(now_ns)
    /usr/bin/time -v -o "$SCRATCH/time" "$@" >/dev/null 2>"$SCRATCH/err" || rc=$?
    t1=$(now_ns)
    LAST_NS=0
    if [ "$rc" -ne 0 ]; then
        local why
        why=$(grep -v '^\s*$' "$SCRATCH/err" | head -n 1 | cut -c1-70)
        printf '  %-42s  failed (exit %d): %s\n' "$label" "$rc" "${why:-no message}"
        return 0
    fi
    LAST_NS=$((t1 - t0))
    local rss_kb
    rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$SCRATCH/time")
    awk -v l="$label" -v s="$size" -v f="$frames" -v ns="$((t1 - t0))" -v rss="$rss_kb" 'BEGIN {
        sec = ns / 1e9; if (sec <= 0) sec = 1e-9
        printf "  %-42s %8.3f s %8.2f Gbit/s %9.0f kpps %8.1f MB\n",
            l, sec, s * 8 / sec / 1e9, f / sec / 1e3, rss / 1024
    }'
}

bench() {
    local name=$1 file=$DATA/$1.pcap frames size
    frames=$(cat "$file.frames")
    size=$(stat -c %s "$file")
    # Warm the page cache so the first row does not pay for the disk.
    cat "$file" >/dev/null
    echo
    awk -v n="$name" -v s="$size" -v f="$frames" 'BEGIN {
        printf "%s: %.1f MB, %d frames, %.0f bytes/frame\n", n, s / 1e6, f, s / f }'
    printf '  %-42s %10s %15s %14s %11s\n' "" "time" "throughput" "rate" "peak RSS"
    row "tcpdump -r -w /dev/null (ceiling)" "$file" "$frames" tcpdump -r "$file" -w /dev/null
    row "oftsniff --workers 1" "$file" "$frames" "$OFTSNIFF" -r "$file" --workers 1
    row "oftsniff --workers 2" "$file" "$frames" "$OFTSNIFF" -r "$file" --workers 2
    # OFT recognition against the pipeline alone (--no-classify: reassembly into a
    # consumer that only counts, flow records still written), both with --json.
    local pipe_ns
    for n in 1 2; do
        row "oftsniff --workers $n --no-classify --json" "$file" "$frames" \
            "$OFTSNIFF" -r "$file" --workers "$n" --no-classify --json /dev/null
        pipe_ns=$LAST_NS
        row "oftsniff --workers $n --json /dev/null" "$file" "$frames" \
            "$OFTSNIFF" -r "$file" --workers "$n" --json /dev/null
        if [ "$pipe_ns" -gt 0 ] && [ "$LAST_NS" -gt 0 ]; then
            awk -v a="$pipe_ns" -v b="$LAST_NS" -v n="$n" 'BEGIN {
                printf "  %-42s %8.0f %% of the pipeline-only throughput\n",
                    "  OFT recognition cost, --workers " n ":", a / b * 100 }'
        fi
    done
    # -w to a file on the same disk as the input, next to the same run without it.
    local out=$DATA/$name.out.pcap w_ns
    for n in 1 2; do
        row "oftsniff --workers $n -q" "$file" "$frames" "$OFTSNIFF" -r "$file" --workers "$n" -q
        local base_ns=$LAST_NS
        row "oftsniff --workers $n -q -w FILE" "$file" "$frames" \
            "$OFTSNIFF" -r "$file" --workers "$n" -q -w "$out"
        w_ns=$LAST_NS
        local wrote
        wrote=$(stat -c %s "$out" 2>/dev/null || echo 0)
        rm -f "$out"
        if [ "$base_ns" -gt 0 ] && [ "$w_ns" -gt 0 ]; then
            awk -v a="$base_ns" -v b="$w_ns" -v n="$n" -v w="$wrote" 'BEGIN {
                printf "  %-42s %8.0f %% of the throughput without -w (%.1f MB written)\n",
                    "  -w cost, --workers " n ":", a / b * 100, w / 1e6 }'
        fi
    done
    if command -v suricata >/dev/null 2>&1; then
        mkdir -p "$SCRATCH/suricata"
        row "suricata -r (default config)" "$file" "$frames" \
            suricata -r "$file" -l "$SCRATCH/suricata"
    fi
    if [ "${BENCH_TSHARK:-0}" = 1 ] && command -v tshark >/dev/null 2>&1; then
        row "tshark -r -q" "$file" "$frames" tshark -r "$file" -q
    fi
}

generate elephants
generate many-flows
# 400 × 1 MB direct OFT transfers, 50 at a time (≈ 420 MB, every frame part of a transfer).
generate oft-transfers
echo
echo "oftsniff offline benchmark, $(nproc) cores, $(uname -r), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "(one run each, file in page cache; Gbit/s = capture file bytes x 8 / wall time; RSS from GNU time)"
bench elephants
bench many-flows
bench oft-transfers
