//! Counters for everything that can be dropped, evicted or skipped. Each thread owns its
//! own plain counters; they are summed once at exit, so the packet path has no atomics.

use serde::Serialize;

/// Counted by the capture thread.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct CaptureCounters {
    /// Frames read from the NIC or file.
    pub frames_captured: u64,
    /// Frames the kernel dropped (PACKET_STATISTICS), 0 offline.
    pub kernel_dropped: u64,
    /// Frames dropped inside oftsniff because a worker queue was full (live only).
    pub queue_dropped: u64,
}

/// Counted by each worker.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct WorkerCounters {
    pub frames: u64,
    pub non_tcp: u64,
    pub undecodable: u64,
    pub ip_fragments: u64,
    pub flows_seen: u64,
    pub flows_evicted: u64,
    pub flows_timed_out: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub overlaps_differing: u64,
    pub ooo_dropped_bytes: u64,
    /// Segments after which a direction's out-of-order buffer was over `max_ooo_bytes`
    /// and its oldest holes were given up as gaps.
    pub ooo_limit_gaps: u64,
    /// Directions whose buffered holes were given up because the worker's reassembly
    /// memory exceeded `max_reassembly_mem`.
    pub mem_limit_flushes: u64,
    pub held_frames_dropped: u64,
    /// TCP frames whose payload the snap length cut short (captured length below the
    /// original, fewer payload bytes than the IP header claims); the missing bytes
    /// become gaps.
    pub snaplen_truncated: u64,
}

impl WorkerCounters {
    pub fn add(&mut self, o: &WorkerCounters) {
        self.frames += o.frames;
        self.non_tcp += o.non_tcp;
        self.undecodable += o.undecodable;
        self.ip_fragments += o.ip_fragments;
        self.flows_seen += o.flows_seen;
        self.flows_evicted += o.flows_evicted;
        self.flows_timed_out += o.flows_timed_out;
        self.gaps += o.gaps;
        self.gap_bytes += o.gap_bytes;
        self.overlaps_differing += o.overlaps_differing;
        self.ooo_dropped_bytes += o.ooo_dropped_bytes;
        self.ooo_limit_gaps += o.ooo_limit_gaps;
        self.mem_limit_flushes += o.mem_limit_flushes;
        self.held_frames_dropped += o.held_frames_dropped;
        self.snaplen_truncated += o.snaplen_truncated;
    }
}

/// Counters of the whole run, reported once at exit.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StatsRecord {
    pub ts: f64,
    pub frames_captured: u64,
    pub kernel_dropped: u64,
    pub queue_dropped: u64,
    pub non_tcp: u64,
    pub undecodable: u64,
    pub ip_fragments: u64,
    pub flows_seen: u64,
    pub flows_evicted: u64,
    pub flows_timed_out: u64,
    pub reassembly_gaps: u64,
    pub gap_bytes: u64,
    pub overlaps_differing: u64,
    pub ooo_dropped_bytes: u64,
    /// Times a direction's out-of-order buffer passed `--max-ooo-bytes` and its oldest
    /// hole was given up as a gap.
    pub ooo_limit_gaps: u64,
    /// Times the worker's `--max-reassembly-mem` forced buffered holes to be given up.
    pub mem_limit_flushes: u64,
    pub held_frames_dropped: u64,
    /// Transfers ended early because `--max-transfers` were being followed.
    pub transfers_evicted: u64,
    /// Reports the event thread had to correlate before a slower worker caught up,
    /// because too many were held: their order may differ from a one-worker run.
    pub reports_forced: u64,
    /// The pcap writer's final counters; null without `-w` / `--pcap-dir`.
    pub pcap: Option<crate::output::pcap_out::PcapOutStats>,
    /// TCP frames whose payload the snap length cut short; their missing bytes are gaps.
    pub snaplen_truncated: u64,
}
