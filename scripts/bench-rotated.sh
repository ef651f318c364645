#!/usr/bin/env bash
# "A week of captures": oftsniff -r DIR over a rotated capture set of SIZE bytes, as a
# sensor leaves it (tcpdump -C 1000: files of ~1 GB), and a check that every transfer,
# those cut across a file boundary included, is reported once and complete.
#
# The set is generated as one stream, never as one big file on disk: oftgen writes a mix
# of 1 MB OFT transfers (90 % of the bytes, 50 at a time) and short non-OFT connections
# (many-flows, 10 %) to pipes, mergecap interleaves them by time, tcpdump -C 1000 cuts the
# stream into files (below 4 GB, files of a quarter of SIZE, so there are boundaries to
# cross). The set is deleted at exit (unless --keep).
#
# Prints, for --workers 1 and 2: wall time, CPU (user+sys), GB/s (set bytes / wall),
# peak RSS; then the number of file boundaries that fall inside a transfer's data, and
# whether every transfer's `file` event is there exactly once, complete, checksum ok.
# Figures are indicative (2 shared cores); nothing here asserts a target.
#
# Usage: scripts/bench-rotated.sh [SIZE] [--keep]
#   SIZE    total bytes of the set: 10G (default), 500M, 2G … (k, M, G: powers of 1000)
#   --keep  leave the set and the NDJSON in the printed directory
# Disk: refuses to start unless SIZE plus 25 GB are free where TMPDIR points.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SIZE=10G
KEEP=0
for a in "$@"; do
    case "$a" in
    --keep) KEEP=1 ;;
    -h | --help)
        sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    [0-9]*) SIZE=$a ;;
    *)
        echo "bench-rotated: unknown argument '$a' (try --help)" >&2
        exit 2
        ;;
    esac
done

bytes_of() { # 10G -> 10000000000
    local n=${1%[kKmMgG]} unit=${1##*[0-9]}
    case "$unit" in
    k | K) echo $((n * 1000)) ;;
    m | M) echo $((n * 1000 * 1000)) ;;
    g | G) echo $((n * 1000 * 1000 * 1000)) ;;
    *) echo "$n" ;;
    esac
}
TOTAL=$(bytes_of "$SIZE")

for tool in tcpdump mergecap jq /usr/bin/time; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "bench-rotated: '$tool' is missing (packages tcpdump, wireshark-common, jq, time)" >&2
        exit 2
    }
done

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/oftsniff-rotated.XXXXXX")
if [ "$KEEP" -eq 1 ]; then
    trap 'echo "kept: $SCRATCH" >&2' EXIT
else
    trap 'rm -rf "$SCRATCH"' EXIT
fi
FREE=$(($(df --output=avail -B1 "$SCRATCH" | tail -n 1)))
if [ "$FREE" -lt $((TOTAL + 25000000000)) ]; then
    echo "bench-rotated: $((FREE / 1000000000)) GB free in $SCRATCH; SIZE $SIZE needs it plus 25 GB" >&2
    exit 2
fi

echo "== building (cargo build --release)" >&2
cargo build --release --quiet
OFTSNIFF=$ROOT/target/release/oftsniff
OFTGEN=$ROOT/target/release/oftgen

# 1 MB OFT transfers take ~1.074 MB of capture each, a many-flows connection ~5.45 kB.
# tcpdump -C counts millions of bytes.
ROTATE_MB=1000
[ "$TOTAL" -ge 4000000000 ] || ROTATE_MB=$((TOTAL / 4 / 1000000))
[ "$ROTATE_MB" -ge 1 ] || ROTATE_MB=1
TRANSFERS=$((TOTAL * 9 / 10 / 1074000))
FLOWS=$((TOTAL / 10 / 5450))
[ "$TRANSFERS" -ge 1 ] || TRANSFERS=1
[ "$FLOWS" -ge 1 ] || FLOWS=1
SET=$SCRATCH/set
mkdir -p "$SET"
echo "== generating $TRANSFERS OFT transfers of 1 MB and $FLOWS other connections, rotated by tcpdump -C $ROTATE_MB" >&2
ZROOT=()
[ "$(id -u)" -ne 0 ] || ZROOT=(-Z root) # tcpdump would give up root for a user who cannot write here
t0=$(date +%s)
mergecap -F pcap -w - \
    <("$OFTGEN" oft-transfers /dev/stdout --transfers "$TRANSFERS" 2>/dev/null) \
    <("$OFTGEN" many-flows /dev/stdout --flows "$FLOWS" --concurrent 1000 2>/dev/null) |
    tcpdump -r - -w "$SET/part" -C "$ROTATE_MB" "${ZROOT[@]}" 2>/dev/null
echo "== generated in $(($(date +%s) - t0)) s" >&2
FILES=$(find "$SET" -type f | wc -l)
SETBYTES=$(du -sb "$SET" | cut -f1)
# Warm the page cache when it can hold the set, so runs measure oftsniff, not the disk.
cat "$SET"/* >/dev/null

echo
echo "oftsniff rotated-set benchmark, $(nproc) cores, $(uname -r), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
awk -v s="$SETBYTES" -v f="$FILES" -v t="$TRANSFERS" -v c="$FLOWS" -v r="$ROTATE_MB" 'BEGIN {
    printf "set: %.2f GB in %d files (tcpdump -C %d), %d OFT transfers of 1 MB, %d other connections\n",
        s / 1e9, f, r, t, c }'
for n in 1 2; do
    out=$SCRATCH/events-w$n.ndjson
    t0=$(date +%s%N)
    /usr/bin/time -v -o "$SCRATCH/time" "$OFTSNIFF" -r "$SET" --workers "$n" --json "$out" -q \
        2>"$SCRATCH/err" >/dev/null || {
        echo "oftsniff failed:" >&2
        cat "$SCRATCH/err" >&2
        exit 1
    }
    t1=$(date +%s%N)
    awk -F': ' -v n="$n" -v ns=$((t1 - t0)) -v s="$SETBYTES" '
        /User time|System time/ { cpu += $2 }
        /Maximum resident set size/ { rss = $2 }
        END { w = ns / 1e9; printf "  oftsniff -r DIR --workers %d --json FILE -q: %.2f s wall, %.2f s cpu, %.2f GB/s, peak RSS %.0f MB\n", n, w, cpu, s / w / 1e9, rss / 1024 }' \
        "$SCRATCH/time"
done
# Boundaries: the packet time each file after the first starts at.
mapfile -t CUTS < <(for f in $(ls "$SET" | sort -V | tail -n +2); do
    tcpdump -r "$SET/$f" -c 1 -tt 2>/dev/null | awk '{print $1}'
done)
EV=$SCRATCH/events-w1.ndjson
jq -s --argjson cuts "[$(
    IFS=,
    echo "${CUTS[*]:-}"
)]" --argjson want "$TRANSFERS" '
    [.[] | select(.event == "file")] as $f
    | {
        file_events: ($f | length),
        distinct_names: ($f | map(.name) | unique | length),
        complete: ($f | map(select(.status == "complete" and .checksum_ok == true and .bytes == 1000000)) | length),
        cut_by_a_boundary: ($f | map(. as $e | select(any($cuts[]; $e.first_data_ts < . and . < $e.last_data_ts))) | length),
        cut_complete: ($f | map(. as $e | select(any($cuts[]; $e.first_data_ts < . and . < $e.last_data_ts)) | select(.status == "complete")) | length),
        expected: $want
      }
    | "  transfers: \(.file_events) file events, \(.distinct_names) distinct, \(.complete) complete with checksum ok (expected \(.expected)); \(.cut_by_a_boundary) cut by a file boundary, \(.cut_complete) of them complete",
      (if .file_events == .expected and .distinct_names == .expected and .complete == .expected and .cut_by_a_boundary > 0 and .cut_complete == .cut_by_a_boundary
       then "  OK: every transfer reported once and complete, those cut across files included"
       else "  MISMATCH: see the line above" end)
' -r "$EV"
# Events of equal timestamps may come in another order with more workers: compare sets.
cmp -s <(grep -v '"event":"stats"' "$SCRATCH/events-w1.ndjson" | sort) \
    <(grep -v '"event":"stats"' "$SCRATCH/events-w2.ndjson" | sort) &&
    echo "  --workers 1 and 2 wrote the same events" ||
    echo "  --workers 1 and 2 wrote different events"
