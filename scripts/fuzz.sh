#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/, cargo-fuzz on nightly) and runs each for SECONDS
# (default 600), one after another; prints per target the executions, exec/s, coverage
# (libFuzzer's final cov/ft) and findings (files under fuzz/artifacts/<target>/).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# New inputs go to fuzz/target/work-corpus/<target>/; the committed seeds in
# fuzz/corpus/<target>/ are only read. A finding becomes a regression test: copy it to
# tests/data/fuzz/<target>/ (tests/fuzz_regressions.rs replays it on stable).
# Needs: rustup's nightly toolchain and `cargo install cargo-fuzz`.
set -euo pipefail

secs=${1:-600}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

if ! build=$(cargo +nightly fuzz build -O 2>&1); then
    printf '%s\n' "$build" >&2
    exit 2
fi

logs=$(mktemp -d /tmp/oftsniff-fuzz.XXXXXX)
printf '%-12s %12s %9s %7s %7s  %s\n' target executions exec/s cov ft findings
status=0
for t in "${targets[@]}"; do
    work="target/work-corpus/$t"
    mkdir -p "$work" "artifacts/$t"
    before=$(find "artifacts/$t" -type f | wc -l)
    # -rss_limit_mb: an input that makes the process grow past 2 GiB is a finding;
    # -timeout: one input running 10 s is a hang.
    if ! cargo +nightly fuzz run -O "$t" "$work" "corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 >"$logs/$t.log" 2>&1; then
        status=1
    fi
    runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$logs/$t.log" | grep -oE '[0-9]+$' || echo 0)
    took=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$logs/$t.log" | grep -oE 'in [0-9]+' | grep -oE '[0-9]+' || echo "$secs")
    last=$(grep -E '^#[0-9]+.*cov: ' "$logs/$t.log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo -)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo -)
    after=$(find "artifacts/$t" -type f | wc -l)
    found=$((after - before))
    rate=$((runs / (took > 0 ? took : 1)))
    what=$found
    if [ "$found" -gt 0 ]; then
        what="$found: $(find "artifacts/$t" -type f -newer "$logs" -printf '%f ' 2>/dev/null)"
        status=1
    fi
    printf '%-12s %12s %9s %7s %7s  %s\n' "$t" "$runs" "$rate" "$cov" "$ft" "$what"
done
echo "libFuzzer logs: $logs"
exit $status
