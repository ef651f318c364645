//! Every limit of the pipeline in one place, with the defaults `--help` shows.

/// Bounds on per-flow and global state. Anything cut by one of these is counted.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Concurrent TCP flows per worker; the longest-idle flow is evicted past it.
    pub max_flows: usize,
    /// Out-of-order bytes buffered per direction before the hole is given up as a gap.
    pub max_ooo_bytes: usize,
    /// Out-of-order bytes buffered across all flows of a worker.
    pub max_reassembly_mem: usize,
    /// Idle time (packet time, seconds) after which a flow expires.
    pub idle_timeout_secs: u64,
    /// Time (packet time, seconds) a closed or fully FIN'd flow lingers so its late frames
    /// (the final ACK, retransmissions) still reach it instead of opening a new flow.
    pub close_linger_secs: u64,
    /// Frames held per not-yet-recognized flow so its pcap can start at the SYN.
    pub max_held_frames: usize,
    /// Bytes of a midstream direction scanned for an OFT2 header at segment starts.
    pub midstream_scan_bytes: usize,
    /// Transfers followed at once by the correlator; past it the longest idle end early.
    pub max_transfers: usize,
    /// Frames per batch handed from the capture thread to a worker.
    pub batch_frames: usize,
    /// Batches queued per worker channel.
    pub queue_batches: usize,
    /// Delivered bytes kept per direction to compare retransmissions with, so one whose
    /// content differs is counted in `overlaps_differing` (0: none kept, only buffered
    /// out-of-order bytes are compared). Costs up to twice this per flow.
    pub overlap_window_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_flows: 262_144,
            max_ooo_bytes: 1 << 20,
            max_reassembly_mem: 256 << 20,
            idle_timeout_secs: 120,
            close_linger_secs: 5,
            max_held_frames: 256,
            midstream_scan_bytes: 256 << 10,
            max_transfers: 65_536,
            batch_frames: 256,
            queue_batches: 64,
            // Off by default: even a small window, times two directions of up to
            // `max_flows` flows per worker, could add gigabytes at the flow limit.
            overlap_window_bytes: 0,
        }
    }
}
