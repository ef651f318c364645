//! Runs last in `cargo test` (test binaries run in name order): one loud line counting the
//! tests (or parts of tests) this run skipped for want of root or a tool, so a green run is
//! never mistaken for a tested one. Each skip was tallied by the helper that announced it
//! (`tests/common/netns.rs`, `record_skip`).

#[path = "common/netns.rs"]
mod netns;

#[test]
fn count_what_this_run_skipped() {
    use std::io::Write;
    let tally = netns::skip_tally();
    let text = std::fs::read_to_string(&tally).unwrap_or_default();
    let _ = std::fs::remove_file(&tally);
    let n = text.lines().count();
    let line = if n == 0 {
        "== nothing skipped: every live and tool-dependent check ran ==".to_string()
    } else {
        format!(
            "== {n} tests or checks SKIPPED in this run (not tested, although they passed): {} ==",
            text.lines().collect::<Vec<_>>().join("; ")
        )
    };
    let _ = writeln!(std::io::stderr(), "\n{line}\n");
}
