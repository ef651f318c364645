//! The end-of-run summary on stderr, as tcpdump prints its counters.

use super::Summary;
use crate::output::pcap_out::PcapOutStats;

/// tcpdump-style counters for stderr: every counter of the registry that is not zero
/// (and the usual ones even when they are), then the pcap writer's.
pub fn print_counters(summary: &Summary) {
    for (i, line) in summary.stats.counters.lines().iter().enumerate() {
        eprintln!("{line}");
        if i == 0 {
            // Next to the frames captured: what they held.
            eprintln!(
                "{} transfers, {} files reported",
                summary.transfers, summary.files
            );
        }
    }
    if let Some(p) = &summary.stats.pcap {
        print_pcap_counters(p);
    }
}

/// A counter line printed only when something was counted.
fn say_if_any(n: u64, what: &str) {
    if n > 0 {
        eprintln!("{n} {what}");
    }
}

/// The same, for counts of things that belong in the output but are not there.
fn warn_if_any(n: u64, what: &str) {
    if n > 0 {
        eprintln!("oftsniff: warning: {n} {what}");
    }
}

fn print_pcap_counters(p: &PcapOutStats) {
    eprintln!(
        "{} frames written to pcap ({} bytes, {} files, {} per-transfer files with {} frames), writer fell behind {} times",
        p.frames_written,
        p.bytes_written,
        p.files,
        p.transfer_files,
        p.transfer_frames_written,
        p.writer_stalls
    );
    if p.written_out_of_order + p.late_frames > 0 {
        eprintln!(
            "{} frames written out of timestamp order (after the reorder window), {} frames after their transfer ended (-w only)",
            p.written_out_of_order, p.late_frames
        );
    }
    say_if_any(
        p.transfers_evicted,
        "transfers' per-transfer files closed early (too many followed at once)",
    );
    // Frames that belong in the output but are not there: say so loudly.
    warn_if_any(p.link_mismatch, "frames not written to -w: their link type differs from the file's (a pcapng mixing link types; --pcap-dir keeps them)");
    warn_if_any(p.transfer_link_mismatch, "frames not written to their --pcap-dir file: their link type differs from the transfer's first frame");
    warn_if_any(
        p.frames_not_written,
        "frames not written to -w after a write error",
    );
}
