//! What a run does, decided once: `cli` parses the command line and turns it into a
//! [`Config`] (the only place that sees clap's `Args`); `pipeline::run` and every stage
//! below it take plain typed settings from here. Every limit and queue capacity of the
//! pipeline is a named field of [`Limits`], with its default.

use crate::capture::{Backend, FilterExpr, LiveOptions};
use std::path::PathBuf;

/// Seconds of packet time between `progress` events by default (`--progress`).
pub const DEFAULT_PROGRESS_SECS: u64 = 5;

/// Everything a run needs, built once from the command line.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where frames come from.
    pub input: Input,
    /// Capture filter (tcpdump's grammar), checked by libpcap's compiler when parsed.
    pub filter: Option<FilterExpr>,
    /// What is written, and where.
    pub outputs: Outputs,
    pub limits: Limits,
    /// Worker threads (`--workers`, default: available cores; 1 to 256).
    pub workers: usize,
    /// `-c`: frames to capture over all capture threads (`u64::MAX`: no limit).
    pub count: u64,
    /// `--no-classify`: reassemble and count bytes, recognize nothing.
    pub no_classify: bool,
    /// `--compare A B`: the two transfers to set side by side (each a capture file and a
    /// transfer id); empty for an ordinary run.
    pub compare: Vec<TransferRef>,
    /// `-Z USER`: the user to become once the source and outputs are open.
    pub user: Option<String>,
    /// Installs the seccomp filter after start (`--no-sandbox` turns it off).
    pub sandbox: bool,
    /// `-s`: bytes of each frame kept, live or read (tcpdump's 262,144 by default);
    /// also the snapshot length written in `-w`/`--pcap-dir` file headers.
    pub snaplen: u32,
}

/// One transfer of one capture, as `--compare` names it: `FILE:T3`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferRef {
    pub file: PathBuf,
    pub transfer: crate::session::TransferId,
}

impl TransferRef {
    /// Parses `FILE:Tn` (the last `:` separates, so a path may hold colons).
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("oftsniff: --compare takes FILE:Tn (e.g. capture.pcap:T1), not {s:?}");
        let (file, id) = s.rsplit_once(':').ok_or_else(bad)?;
        let n: u64 = id
            .strip_prefix('T')
            .or_else(|| id.strip_prefix('t'))
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)?;
        if file.is_empty() {
            return Err(bad());
        }
        Ok(TransferRef {
            file: PathBuf::from(file),
            transfer: crate::session::TransferId(n),
        })
    }
}

/// The frame source.
#[derive(Clone, Debug)]
pub enum Input {
    /// `-r FILE`: a pcap or pcapng file (`-` is standard input).
    File(PathBuf),
    /// `-r` more than once, or a directory: the files read as one capture in timestamp
    /// order.
    Files(Vec<PathBuf>),
    /// `-i IFACE`: live capture.
    Live(LiveCapture),
}

/// Live capture settings.
#[derive(Clone, Debug)]
pub struct LiveCapture {
    pub interface: String,
    pub backend: Backend,
    /// Capture threads (`--capture-threads`, 1 to 64), each with its own socket, joined
    /// in a PACKET_FANOUT hash group (`options.fanout_group`) when more than one.
    pub threads: usize,
    /// Promiscuous mode, ring geometry, pnet's receive buffer.
    pub options: LiveOptions,
}

/// The outputs of a run.
#[derive(Clone, Debug, Default)]
pub struct Outputs {
    /// `--json PATH`: NDJSON events (`-` is standard output).
    pub json: Option<PathBuf>,
    /// The readable log on standard output (off with `-q`).
    pub human: bool,
    /// `-v`: also a log line per TCP connection.
    pub verbose: bool,
    /// The live status area under the log when stdout is a terminal (off with
    /// `--no-status`).
    pub status: bool,
    /// `-w FILE`: every frame of every recognized transfer.
    pub write: Option<PathBuf>,
    /// `-C MB`: rotate `-w` past this many millions of bytes.
    pub rotate_mb: Option<u64>,
    /// `-W N`: with `-C`, a ring of this many files.
    pub rotate_files: Option<u32>,
    /// `--pcap-dir DIR`: one pcap per transfer.
    pub pcap_dir: Option<PathBuf>,
    /// `--with-rendezvous`: pcap output also gets the FLAP frames of the rendezvous.
    pub with_rendezvous: bool,
    /// `--messages`: report the instant messages of the OSCAR connections (personal
    /// data: off by default).
    pub messages: bool,
    /// `--extract DIR`: carve transferred files.
    pub extract: Option<PathBuf>,
    /// `--explain`: a packet ladder per transfer after the run.
    pub explain: bool,
    /// `--report FILE`: an HTML report of the run, written at exit.
    pub report: Option<PathBuf>,
    /// `--report-interval SECS`: live, also rewrite the report this often (0: at exit
    /// only).
    pub report_interval_secs: u64,
    /// `--progress SECS`: packet time between progress events (0: off; default
    /// [`DEFAULT_PROGRESS_SECS`]).
    pub progress_secs: u64,
    /// `--stats-interval SECS`: wall time between counters so far (stderr and an
    /// interim `stats` event); `None`: off (`SIGUSR1` still asks for one).
    pub stats_interval: Option<std::time::Duration>,
    /// `--hash`: the digest of each file's bytes (SHA-256 unless told).
    pub hash: crate::session::digest::HashAlg,
}

impl Outputs {
    /// Frames of recognized transfers go to a pcap writer (`-w` or `--pcap-dir`).
    pub fn pcap(&self) -> bool {
        self.write.is_some() || self.pcap_dir.is_some()
    }

    /// The run's transfers, files and ladders are kept for a view drawn after it.
    pub fn record(&self) -> bool {
        self.report.is_some()
    }

    /// Workers keep ladder lines: `--explain`, or a view that draws the ladder.
    pub fn ladders(&self) -> bool {
        self.explain || self.record()
    }

    /// `flow` records are made only where they can be seen: NDJSON or `-v`.
    pub fn flow_records(&self) -> bool {
        self.json.is_some() || self.verbose
    }
}

/// Bounds on per-flow and global state, and the capacities of the queues between
/// threads. Anything cut by one of these is counted (see `stats::Counters`).
#[derive(Clone, Debug)]
pub struct Limits {
    /// One memory budget for the whole process, in bytes (`--memcap`, default 512 MiB):
    /// flows, their session state, reassemblers and out-of-order bytes of every worker
    /// are charged to it, and past it flows are evicted, the longest idle first and
    /// recognized transfers last (see `reassembly::table::memory`). The limits below
    /// stay as finer bounds inside it.
    pub memcap: usize,
    /// Concurrent TCP flows per worker; the longest-idle flow is evicted past it
    /// (`--max-flows`, default 262,144).
    pub max_flows: usize,
    /// Out-of-order bytes buffered per direction before the hole is given up as a gap
    /// (`--max-ooo-bytes`, default 1 MiB).
    pub max_ooo_bytes: usize,
    /// Out-of-order bytes buffered across all flows of a worker
    /// (`--max-reassembly-mem`, default 256 MiB).
    pub max_reassembly_mem: usize,
    /// Idle time (packet time, seconds) after which a flow expires (`--idle-timeout`,
    /// default 120).
    pub idle_timeout_secs: u64,
    /// Time (packet time, seconds) a closed or fully FIN'd flow lingers so its late frames
    /// (the final ACK, retransmissions) still reach it instead of opening a new flow
    /// (default 5).
    pub close_linger_secs: u64,
    /// Time (packet time, milliseconds) a direction's in-order bytes are still delivered
    /// after the peer's RST (`--rst-linger-ms`, default 2000): a receiver that cancels
    /// resets the connection while the sender's segments already in flight keep
    /// crossing the wire. 2 s is many round trips on a LAN and covers a sender draining
    /// a full window over a slow link (64 KiB at 256 kbit/s); 0 ends the connection at
    /// the RST.
    pub rst_linger_ms: u64,
    /// With `--messages`, packet time (seconds) a message between two screen names with
    /// no transfer yet is held back, waiting for one to be proposed
    /// (`--message-link-secs`, default 60); at most `max_transfers` messages are held,
    /// past it the oldest is written unlinked.
    pub message_link_secs: u64,
    /// Frames held per not-yet-recognized flow so its pcap can start at the SYN
    /// (`--max-held-frames`, default 256).
    pub max_held_frames: usize,
    /// Bytes of each midstream direction scanned for an OFT2 header at segment starts
    /// (`--midstream-scan-bytes`, default 256 KiB); past it a direction is counted but no
    /// longer probed, and the connection is given up once the other carried anything but
    /// OFT headers.
    pub midstream_scan_bytes: usize,
    /// Transfers followed at once by the correlator; past it the longest idle end early
    /// (`--max-transfers`, default 65,536).
    pub max_transfers: usize,
    /// Transfers the correlator holds after they are over: at most this many wait out
    /// their linger (5 s of packet time after their last connection closed, for legs
    /// reported late), and as many are remembered once reported (60 s, for late
    /// reports); past it the oldest is reported or forgotten at once (counted in
    /// `transfers_reported_early`, `transfers_forgotten_early`). Keeps memory flat when
    /// many short transfers end within a few seconds (`--max-held-transfers`, default
    /// 1,024).
    pub max_held_transfers: usize,
    /// Delivered bytes kept per direction to compare retransmissions with, so one whose
    /// content differs is counted in `overlaps_differing` (0: none kept, only buffered
    /// out-of-order bytes are compared). Costs up to twice this per flow
    /// (`--overlap-window-bytes`, default 0).
    pub overlap_window_bytes: usize,
    /// Ladder lines kept per connection for `--explain`; later ones are counted in
    /// `ladder_lines_dropped` (default 10,000).
    pub max_ladder_lines: usize,
    /// Frames per batch handed from a capture thread to a worker (default 256).
    pub batch_frames: usize,
    /// Frame batches queued per worker channel (default 64). Offline the capture thread
    /// waits when one is full; live the batch is dropped (`queue_dropped`).
    pub queue_batches: usize,
    /// Report batches queued from the workers to the event thread (default 64); a full
    /// queue makes the workers wait.
    pub report_queue_batches: usize,
    /// Messages queued to the pcap writer thread (default 64). Each is a whole report
    /// batch's frames (up to a frame batch), so a short queue bounds the memory they hold
    /// and pushes back on the event thread early (`writer_stalls`).
    pub pcap_queue_batches: usize,
    /// Reports the event thread holds to merge the workers' reports in packet-time order
    /// (default 100,000; the command line takes a sixteenth of `--memcap` in reports, see
    /// [`held_reports_for`]); past it the oldest is correlated before a slow worker caught up
    /// (`reports_forced`).
    pub max_held_reports: usize,
    /// Frame bytes queued from the capture thread to the workers, counted with each
    /// frame's bookkeeping (`--max-queue-bytes`, default a sixteenth of `--memcap`
    /// within 64 KiB–32 MiB, see [`side_bytes_for`]). Reading a file, the capture thread waits
    /// at it; live, the batch counts above bound the queues and the kernel ring drops.
    pub queue_bytes: usize,
    /// Bytes of frames the pcap writer holds to put the workers' frames back in capture
    /// order (`--pcap-window-bytes`, default as `queue_bytes`); past it the oldest is
    /// written, and a frame that comes later than that is counted (`late_frames`).
    pub pcap_window_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memcap: 512 << 20,
            max_flows: 262_144,
            max_ooo_bytes: 1 << 20,
            max_reassembly_mem: 256 << 20,
            idle_timeout_secs: 120,
            close_linger_secs: 5,
            rst_linger_ms: 2000,
            message_link_secs: 60,
            max_held_frames: 256,
            midstream_scan_bytes: 256 << 10,
            max_transfers: 65_536,
            max_held_transfers: 1_024,
            // Off by default: even a small window, times two directions of up to
            // `max_flows` flows per worker, could add gigabytes at the flow limit.
            overlap_window_bytes: 0,
            max_ladder_lines: 10_000,
            batch_frames: 256,
            queue_batches: 64,
            report_queue_batches: 64,
            pcap_queue_batches: 64,
            max_held_reports: 100_000,
            queue_bytes: 32 << 20,
            pcap_window_bytes: 32 << 20,
        }
    }
}

/// Reports the event thread may hold to merge the workers' order, for a budget of
/// `memcap` bytes: a sixteenth of it, at most the 100,000 of `Limits::default()` and at
/// least 1,000 (few enough to cost nothing, enough for a batch of every worker). Held
/// reports are not charged to the budget flow by flow (the event thread does not see it),
/// so their share is set aside here; past it they are correlated early and counted
/// (`reports_forced`).
pub fn held_reports_for(memcap: usize) -> usize {
    let each = std::mem::size_of::<(crate::capture::Timestamp, crate::session::report::Report)>();
    (memcap / 16 / each).clamp(1_000, Limits::default().max_held_reports)
}

/// Bytes set aside, for a budget of `memcap`, for each of the buffers between threads
/// that `--memcap` covers beside the flows (the frame queues, the pcap writer's window):
/// a sixteenth of it, within 64 KiB–32 MiB (32 MiB holds over 20,000 full-size frames).
pub fn side_bytes_for(memcap: usize) -> usize {
    (memcap / 16).clamp(64 << 10, 32 << 20)
}

impl Limits {
    /// What the workers' flows may be charged (`MemBudget`): `--memcap` less what the
    /// buffers between threads may hold (the frame queues, the event thread's held
    /// reports, the pcap writer's window when there is pcap output), so the process as a
    /// whole stays within `--memcap` plus a fixed base (README, Memory). At least a
    /// sixteenth of `--memcap`, whatever the finer limits say.
    pub fn flow_budget(&self, pcap: bool) -> usize {
        let reports = self.max_held_reports.saturating_mul(std::mem::size_of::<(
            crate::capture::Timestamp,
            crate::session::report::Report,
        )>());
        let window = if pcap { self.pcap_window_bytes } else { 0 };
        let side = self
            .queue_bytes
            .saturating_add(reports)
            .saturating_add(window);
        self.memcap.saturating_sub(side).max(self.memcap / 16)
    }
}

/// Parses a byte size as tcpdump and friends write it: a number with an optional unit
/// `k`, `M` or `G` (powers of 1024, either case, an optional trailing `B` or `iB`), e.g.
/// `512M`, `2G`, `100k`, `65536`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let bad =
        || format!("{s:?} is not a size (a number with an optional k, M or G: 512M, 2G, 100k)");
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: usize = num.parse().map_err(|_| bad())?;
    let unit = unit.trim_start();
    let unit = unit
        .strip_suffix("iB")
        .or_else(|| unit.strip_suffix('B'))
        .unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        _ => return Err(bad()),
    };
    n.checked_mul(1 << shift).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_tcpdump_style_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("100k"), Ok(100 << 10));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("64MB"), Ok(64 << 20));
        assert!(parse_size("").is_err());
        assert!(parse_size("12X").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("-1M").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }

    #[test]
    fn side_buffers_come_out_of_the_flows_budget() {
        use super::{side_bytes_for, Limits};
        assert_eq!(side_bytes_for(64 << 20), 4 << 20);
        assert_eq!(side_bytes_for(1 << 10), 64 << 10);
        assert_eq!(side_bytes_for(256 << 20), 16 << 20);
        assert_eq!(side_bytes_for(8 << 30), 32 << 20);
        let l = Limits {
            memcap: 64 << 20,
            queue_bytes: 4 << 20,
            pcap_window_bytes: 4 << 20,
            max_held_reports: 0,
            ..Limits::default()
        };
        assert_eq!(l.flow_budget(false), 60 << 20);
        assert_eq!(l.flow_budget(true), 56 << 20);
        let tiny = Limits {
            memcap: 1 << 20,
            ..l
        };
        assert_eq!(tiny.flow_budget(true), (1 << 20) / 16);
    }

    #[test]
    fn held_reports_take_a_sixteenth_of_the_budget_within_bounds() {
        use super::held_reports_for;
        let each =
            std::mem::size_of::<(crate::capture::Timestamp, crate::session::report::Report)>();
        assert_eq!(held_reports_for(1 << 10), 1_000);
        assert_eq!(held_reports_for(64 << 20), (64 << 20) / 16 / each);
        assert!(held_reports_for(64 << 20) * each <= 4 << 20);
        assert_eq!(held_reports_for(1 << 40), 100_000);
    }
}
