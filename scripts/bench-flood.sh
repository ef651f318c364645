#!/usr/bin/env bash
# Memory under floods: generates the hostile captures of issue 14 with oftgen (into a temp
# dir, removed after), runs release oftsniff on each under GNU time, and prints peak RSS
# next to --memcap, the evictions by cause (the counters' stderr lines) and the result of
# the transfer that the SYN flood surrounds. Nothing here asserts: the figures are read.
#
#   syn-flood     1,000,000 SYN-only connections, a 2 MB transfer half before, half after
#   held-flood    as syn-flood, each connection's SYN followed by 4 bytes ("OFT2"): too few
#                 to name it, so with -w every connection holds two frames
#   ooo-holes     1 connection, 200,000 out-of-order segments behind a hole never filled
#   ooo-many      10,000 connections, each holding 1 MiB out of order (a ~10 GB capture)
#   flap-garbage  a FLAP connection carrying 50 MB of garbage
#   prompt-huge   a PROMPT announcing 4 GB, then 1 GB of data
#
# Usage: scripts/bench-flood.sh [MEMCAP ...]     (default: 64M 512M)
# Env:   FLOOD_SCALE=N divides every size by N (a quick look: FLOOD_SCALE=10)
#        OFTSNIFF_BEFORE=PATH also runs that binary (e.g. a build of main) on each capture
#        FLOOD_ONLY="syn-flood ooo-holes" runs only these
#        FLOOD_WRITE=1 also runs each capture with -w (a temp pcap, the held frames charged)
#        FLOOD_WORKERS="1 2" runs each with these --workers counts (default: oftsniff's own)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
MEMCAPS=("$@")
[ ${#MEMCAPS[@]} -gt 0 ] || MEMCAPS=(64M 512M)
SCALE=${FLOOD_SCALE:-1}
ONLY=${FLOOD_ONLY:-syn-flood held-flood ooo-holes ooo-many flap-garbage prompt-huge}

[ -x /usr/bin/time ] || { echo "bench-flood: needs GNU time (/usr/bin/time)" >&2; exit 2; }

echo "== building (cargo build --release)" >&2
cargo build --release --quiet
OFTSNIFF=$ROOT/target/release/oftsniff
OFTGEN=$ROOT/target/release/oftgen

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# generate NAME ARGS...: writes $SCRATCH/NAME.pcap.
generate() {
    local name=$1
    shift
    echo "== generating $name ($*)" >&2
    "$OFTGEN" "$name" "$SCRATCH/$name.pcap" "$@" 2>&1 | sed 's/^/   /' >&2
}

# run LABEL BIN MEMCAP FILE [ARGS...]: one run, its peak RSS, evictions and transfer lines.
run() {
    local label=$1 bin=$2 memcap=$3 file=$4 rc=0
    shift 4
    local args=(-r "$file" "$@")
    [ "$memcap" = "-" ] || args+=(--memcap "$memcap")
    /usr/bin/time -v -o "$SCRATCH/time" "$bin" "${args[@]}" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
    local rss wall
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$SCRATCH/time")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$SCRATCH/time")
    # RSS less the budget: what the fixed base (README, Memory) must cover.
    local over=""
    if [ "$memcap" != "-" ]; then
        local capk
        capk=$(numfmt --from=iec "$memcap")
        over=$(printf '  RSS-memcap %6.1f MiB' "$(echo "($rss * 1024 - $capk) / 1048576" | bc -l)")
    fi
    printf '  %-26s memcap %-6s peak RSS %8.1f MiB%s  wall %s  exit %d\n' \
        "$label" "$memcap" "$(echo "$rss / 1024" | bc -l)" "$over" "$wall" "$rc"
    grep -E 'evicted|holes given up|flows seen|bytes discarded|dropped|written to pcap' "$SCRATCH/err" | sed 's/^/      /' || true
    grep -E '^\S+ +T[0-9]+ +(file|transfer) ' "$SCRATCH/out" | sed 's/^/      /' | cut -c1-150 || true
}

bench() {
    local name=$1 file=$SCRATCH/$1.pcap
    echo
    printf '%s: %.1f MB capture\n' "$name" "$(echo "$(stat -c %s "$file") / 1000000" | bc -l)"
    cat "$file" >/dev/null
    for w in ${FLOOD_WORKERS:--}; do
        local wargs=() wl=""
        [ "$w" = "-" ] || { wargs=(--workers "$w"); wl=" --workers $w"; }
        for m in "${MEMCAPS[@]}"; do
            run "oftsniff$wl" "$OFTSNIFF" "$m" "$file" "${wargs[@]}"
            if [ -n "${FLOOD_WRITE:-}" ]; then
                run "oftsniff -w$wl" "$OFTSNIFF" "$m" "$file" -w "$SCRATCH/written.pcap" "${wargs[@]}"
                rm -f "$SCRATCH/written.pcap"
            fi
        done
    done
    if [ -n "${OFTSNIFF_BEFORE:-}" ]; then
        run "before ($(basename "$OFTSNIFF_BEFORE"))" "$OFTSNIFF_BEFORE" - "$file"
    fi
    rm -f "$file"
}

echo "oftsniff flood benchmark, $(nproc) cores, $(uname -r), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), scale 1/$SCALE"
# The fixed base: the same binary on a capture of 10 connections.
generate syn-flood --connections 10 --transfer 2000000
mv "$SCRATCH/syn-flood.pcap" "$SCRATCH/base.pcap"
bench base
for f in $ONLY; do
    case $f in
    syn-flood) generate syn-flood --connections $((1000000 / SCALE)) --transfer 2000000 ;;
    held-flood)
        generate syn-flood --connections $((1000000 / SCALE)) --transfer 2000000 --opening
        mv "$SCRATCH/syn-flood.pcap" "$SCRATCH/held-flood.pcap"
        ;;
    ooo-holes) generate ooo-holes --segments $((200000 / SCALE)) ;;
    ooo-many) generate ooo-many --connections $((10000 / SCALE)) --bytes $((1 << 20)) ;;
    flap-garbage) generate flap-garbage --bytes $((50000000 / SCALE)) ;;
    prompt-huge) generate prompt-huge --announced 4000000000 --bytes $((1000000000 / SCALE)) ;;
    *) echo "bench-flood: unknown capture '$f'" >&2; exit 2 ;;
    esac
    bench "$f"
done
