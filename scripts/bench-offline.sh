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
# Peers on the same files in the same run, each with its ratio to `oftsniff --workers 1
# --json /dev/null`: Suricata 7 (`--runmode single`, default config: stream reassembly
# on; one loud skip line when it is not installed; bookworm-backports has it) and
# `tshark -r FILE -q` (slow: BENCH_TSHARK=0 leaves it out).
#
# Scaling: 1k, 10k and 100k transfers of 200-byte files (oftgen oft-transfers), each
# with and without --no-classify, printing wall and CPU (user+sys) microseconds per
# transfer and peak RSS of each: the cost per transfer should stay flat as transfers
# multiply. oftgen packs them tight (10k in 0.24 s of packet time), so this is also
# where transfers held after they end (--max-held-transfers) would show as memory.
#
# Workers: --workers 1 against 2 on the issue's two workloads (oft-transfers, and oft-mix:
# 10,000 transfers of 2 kB among 50,000 other connections), median of 5 runs of wall and
# CPU each, and the CPU of each thread (ns on CPU from /proc/PID/task/*/schedstat, sampled
# every 10 ms until exit) of a sixth run, to see which thread limits the speedup.
#
# Usage: scripts/bench-offline.sh [--keep] [--regen] [--scaling-only] [--workers-only]
#   --keep          generate into target/bench-data (kept for the next run) instead of a
#                   temp dir
#   --regen         regenerate even when target/bench-data already holds the workloads
#   --scaling-only  only the scaling run
#   --workers-only  only the workers run
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
KEEP=0
REGEN=0
SCALING_ONLY=0
WORKERS_ONLY=0
for a in "$@"; do
    case "$a" in
    --scaling-only) SCALING_ONLY=1 ;;
    --workers-only) WORKERS_ONLY=1 ;;
    --keep) KEEP=1 ;;
    --regen) REGEN=1 ;;
    -h | --help)
        sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'
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
LAST_CPU=0
LAST_RSS_KB=0
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
    LAST_RSS_KB=$rss_kb
    LAST_CPU=$(awk -F': ' '/User time|System time/ {c += $2} END {printf "%.3f", c}' "$SCRATCH/time")
    awk -v l="$label" -v s="$size" -v f="$frames" -v ns="$((t1 - t0))" -v rss="$rss_kb" \
        -v cpu="$LAST_CPU" 'BEGIN {
        sec = ns / 1e9; if (sec <= 0) sec = 1e-9
        printf "  %-42s %8.3f s %8.2f Gbit/s %9.0f kpps %8.1f MB  cpu %.2f s\n",
            l, sec, s * 8 / sec / 1e9, f / sec / 1e3, rss / 1024, cpu
    }'
}

# ratio LABEL PEER_NS OFT_NS PEER_CPU OFT_CPU: how many times longer the peer took.
ratio() {
    [ "$2" -gt 0 ] && [ "$3" -gt 0 ] || return 0
    awk -v l="$1" -v p="$2" -v o="$3" -v pc="$4" -v oc="$5" 'BEGIN {
        printf "  %-42s %8.2fx wall, %.2fx cpu (peer / oftsniff --workers 1 --json)\n",
            "  ratio " l ":", p / o, (oc > 0 ? pc / oc : 0) }'
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
    local pipe_ns oft_ns=0 oft_cpu=0
    for n in 1 2; do
        row "oftsniff --workers $n --no-classify --json" "$file" "$frames" \
            "$OFTSNIFF" -r "$file" --workers "$n" --no-classify --json /dev/null
        pipe_ns=$LAST_NS
        row "oftsniff --workers $n --json /dev/null" "$file" "$frames" \
            "$OFTSNIFF" -r "$file" --workers "$n" --json /dev/null
        if [ "$n" = 1 ]; then
            oft_ns=$LAST_NS
            oft_cpu=$LAST_CPU
            # Recognition without the per-file SHA-256 (most of it on big transfers).
            row "oftsniff --workers 1 --json --hash none" "$file" "$frames" \
                "$OFTSNIFF" -r "$file" --workers 1 --json /dev/null --hash none
        fi
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
        row "suricata -r --runmode single" "$file" "$frames" \
            suricata -r "$file" -l "$SCRATCH/suricata" --runmode single -k none
        ratio suricata "$LAST_NS" "$oft_ns" "$LAST_CPU" "$oft_cpu"
    else
        echo "  SKIPPED suricata: not installed (apt-get install -t bookworm-backports suricata)"
    fi
    if [ "${BENCH_TSHARK:-1}" = 1 ] && command -v tshark >/dev/null 2>&1; then
        row "tshark -r -q" "$file" "$frames" tshark -r "$file" -q
        ratio tshark "$LAST_NS" "$oft_ns" "$LAST_CPU" "$oft_cpu"
    elif [ "${BENCH_TSHARK:-1}" = 1 ]; then
        echo "  SKIPPED tshark: not installed"
    fi
}

# Cost per transfer as transfers multiply: N transfers of 200-byte files.
scaling() {
    echo
    echo "scaling: oftgen oft-transfers --file-bytes 200, oftsniff --workers 1 --json /dev/null -q"
    printf '  %-10s %10s %10s %9s %13s %13s %9s %7s\n' transfers "wall us/tr" "cpu us/tr" "RSS MB" \
        "no-cls wall" "no-cls cpu" "RSS MB" "cpu x"
    local n file cls_ns cls_cpu cls_rss
    for n in 1000 10000 100000; do
        file=$DATA/scaling-$n.pcap
        if [ ! -s "$file" ] || [ "$REGEN" -eq 1 ]; then
            "$OFTGEN" oft-transfers "$file" --transfers "$n" --file-bytes 200 2>/dev/null
        fi
        cat "$file" >/dev/null
        row "with recognition" "$file" 1 "$OFTSNIFF" -r "$file" --workers 1 --json /dev/null -q \
            >/dev/null
        cls_ns=$LAST_NS
        cls_cpu=$LAST_CPU
        cls_rss=$LAST_RSS_KB
        row "--no-classify" "$file" 1 "$OFTSNIFF" -r "$file" --workers 1 --json /dev/null -q \
            --no-classify >/dev/null
        awk -v n="$n" -v a="$cls_ns" -v ac="$cls_cpu" -v ar="$cls_rss" -v b="$LAST_NS" \
            -v bc="$LAST_CPU" -v br="$LAST_RSS_KB" 'BEGIN {
            printf "  %-10d %10.2f %10.2f %9.1f %13.2f %13.2f %9.1f %6.2fx\n", n, a / 1e3 / n,
                ac * 1e6 / n, ar / 1024, b / 1e3 / n, bc * 1e6 / n, br / 1024, (bc > 0 ? ac / bc : 0) }'
        [ "$KEEP" -eq 1 ] || rm -f "$file"
    done
}

# thread_cpu CMD...: runs CMD, samples each thread's time on CPU until it exits, prints
# one line per thread name (threads of one name summed, e.g. the workers).
thread_cpu() {
    "$@" >/dev/null 2>&1 &
    local pid=$! t c s rest
    : >"$SCRATCH/threads"
    while kill -0 "$pid" 2>/dev/null; do
        # Builtins only: a fork per thread and sample would take CPU from the run.
        for t in /proc/"$pid"/task/*; do
            # name, tid, ns on CPU; a thread gone meanwhile is skipped.
            { read -r c <"$t/comm" && read -r s rest <"$t/schedstat"; } 2>/dev/null || continue
            echo "$c ${t##*/} $s" >>"$SCRATCH/threads"
        done
        sleep 0.01
    done
    wait "$pid" || true
    # Largest sample of each thread, summed by name (worker-0 and worker-1 stay apart).
    awk '$3 > max[$1 " " $2] {max[$1 " " $2] = $3}
        END {for (k in max) {split(k, a, " "); s[a[1]] += max[k]}
        for (n in s) if (s[n] >= 5e6) printf "%s=%.2fs ", n, s[n] / 1e9; print ""}' \
        "$SCRATCH/threads"
}

# median5 CMD...: five runs; prints "wall W cpu C" (each the median of its five).
median5() {
    local i
    for i in 1 2 3 4 5; do
        /usr/bin/time -f "%e %U %S" -o "$SCRATCH/t" "$@" >/dev/null 2>&1 || true
        awk '{printf "%s %.2f\n", $1, $2 + $3}' "$SCRATCH/t"
    done >"$SCRATCH/runs"
    local w c
    w=$(cut -d' ' -f1 "$SCRATCH/runs" | sort -n | sed -n 3p)
    c=$(cut -d' ' -f2 "$SCRATCH/runs" | sort -n | sed -n 3p)
    # cores used: how much of the machine the run got (cpu / wall).
    awk -v w="$w" -v c="$c" 'BEGIN { printf "wall %s s cpu %s s (%.2f cores)", w, c, c / w }'
}

# --workers 1 against 2: medians, speedup, and where each thread's CPU went.
workers() {
    local name file w1 w2
    if [ ! -s "$DATA/oft-mix.pcap" ] || [ "$REGEN" -eq 1 ]; then
        echo "== generating $DATA/oft-mix.pcap" >&2
        mergecap -F pcap -w "$DATA/oft-mix.pcap" \
            <("$OFTGEN" oft-transfers /dev/stdout --transfers 10000 --file-bytes 2000 2>/dev/null) \
            <("$OFTGEN" many-flows /dev/stdout --flows 50000 2>/dev/null)
    fi
    echo
    echo "workers: oftsniff -r FILE --json /dev/null -q, median of 5 (wall, user+sys)"
    for name in oft-transfers oft-mix; do
        file=$DATA/$name.pcap
        cat "$file" >/dev/null
        w1=$(median5 "$OFTSNIFF" -r "$file" --workers 1 --json /dev/null -q)
        w2=$(median5 "$OFTSNIFF" -r "$file" --workers 2 --json /dev/null -q)
        printf '  %-14s --workers 1: %s   --workers 2: %s' "$name" "$w1" "$w2"
        awk -v a="$w1" -v b="$w2" 'BEGIN { split(a, x, " "); split(b, y, " ");
            printf "   speedup %.2fx wall\n", x[2] / y[2] }'
        echo "    (threads: on-CPU time of one more run each; threads under 5 ms left out)"
        for n in 1 2; do
            printf '    threads, --workers %d: %s\n' "$n" \
                "$(thread_cpu "$OFTSNIFF" -r "$file" --workers "$n" --json /dev/null -q)"
        done
    done
}

if [ "$WORKERS_ONLY" -eq 1 ]; then
    command -v mergecap >/dev/null 2>&1 || need_pkg mergecap wireshark-common
    echo "oftsniff workers benchmark, $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    generate oft-transfers
    workers
    exit 0
fi

if [ "$SCALING_ONLY" -eq 1 ]; then
    echo "oftsniff scaling benchmark, $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    scaling
    exit 0
fi

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
scaling
if command -v mergecap >/dev/null 2>&1; then
    workers
else
    echo "SKIPPED workers: mergecap (wireshark-common) is not installed"
fi
