//! Command-line flags, declared once here and turned into a `Config` the rest of the
//! program takes. Conventions follow tcpdump where a flag has a tcpdump meaning.

use crate::capture::{Backend, LiveOptions};
use crate::config::{Config, Input, Limits, LiveCapture, Outputs, DEFAULT_PROGRESS_SECS};
use clap::{Parser, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// AF_PACKET TPACKET_V3 mmap ring (Linux; lowest cost per frame).
    Ring,
    /// pnet's datalink channel (portable).
    Pnet,
}

/// Watch a network (or read a capture) and report AOL OSCAR file transfers (OFT2),
/// direct or through the AIM rendezvous proxy.
#[derive(Debug, Parser)]
#[command(name = "oftsniff", version, about, long_about = None)]
pub struct Args {
    /// Capture live from this interface (needs root or cap_net_raw,cap_net_admin).
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        conflicts_with = "read"
    )]
    pub interface: Option<String>,

    /// Read frames from a pcap or pcapng file ('-' for standard input).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Option<PathBuf>,

    /// List the interfaces that can be captured on, and exit.
    #[arg(short = 'D', long = "list-interfaces")]
    pub list_interfaces: bool,

    /// Stop after this many frames.
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,

    /// Once the capture and every output are open, run as USER (its uid, gid and only
    /// its group); the outputs already created are handed to USER.
    #[arg(short = 'Z', long = "user", value_name = "USER")]
    pub user: Option<String>,

    /// Worker threads (default: available cores).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,

    /// Write newline-delimited JSON events to PATH ('-' for stdout).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Write every frame of every recognized transfer to this pcap file.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Rotate -w output after this many millions of bytes (like tcpdump -C).
    #[arg(short = 'C', value_name = "MB", requires = "write")]
    pub rotate_mb: Option<u64>,

    /// With -C: keep a ring of this many files (like tcpdump -W).
    #[arg(short = 'W', value_name = "N", requires = "rotate_mb")]
    pub rotate_files: Option<u32>,

    /// Also (or instead) write one pcap per transfer into DIR.
    #[arg(long, value_name = "DIR")]
    pub pcap_dir: Option<PathBuf>,

    /// With -w/--pcap-dir: also write the FLAP frames carrying the transfer's rendezvous.
    #[arg(long)]
    pub with_rendezvous: bool,

    /// Carve transferred files into DIR as they stream past.
    #[arg(long, value_name = "DIR")]
    pub extract: Option<PathBuf>,

    /// Seconds of packet time between progress events of a running transfer (0: off).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_PROGRESS_SECS)]
    pub progress: u64,

    /// After the run, print a numbered packet ladder of each transfer.
    #[arg(long)]
    pub explain: bool,

    /// Benchmarking: run the capture, reassembly and flow-record pipeline without OFT
    /// recognition (reassembled bytes are only counted; no transfers are reported).
    #[arg(long, conflicts_with_all = ["write", "pcap_dir", "extract", "explain", "with_rendezvous"])]
    pub no_classify: bool,

    /// Live capture backend.
    #[arg(long, value_enum, default_value = "ring")]
    pub backend: BackendArg,

    /// Live: capture threads, joined in a PACKET_FANOUT (hash) group when more than one.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub capture_threads: usize,

    /// Do not put the interface into promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,

    /// Ring backend: block size in KiB.
    #[arg(long, value_name = "KIB", default_value_t = 1024)]
    pub ring_block_kb: u32,

    /// Ring backend: number of blocks.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub ring_blocks: u32,

    /// pnet backend: kernel receive buffer (SO_RCVBUF) in KiB, the queue that absorbs
    /// bursts while oftsniff is busy.
    #[arg(
        long,
        value_name = "KIB",
        default_value_t = crate::capture::PnetOptions::default().recv_buffer_bytes / 1024
    )]
    pub pnet_buffer_kb: usize,

    /// Also print a line per TCP connection as it ends.
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// Print no per-event lines on stdout (counters still go to stderr).
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Limit: concurrent flows per worker; the longest-idle one is evicted past it.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_flows)]
    pub max_flows: usize,

    /// Limit: out-of-order bytes buffered per direction before the hole becomes a gap.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_ooo_bytes)]
    pub max_ooo_bytes: usize,

    /// Limit: out-of-order bytes buffered per worker, all flows together.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_reassembly_mem)]
    pub max_reassembly_mem: usize,

    /// Limit: seconds of packet time after which an idle flow expires.
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().idle_timeout_secs)]
    pub idle_timeout: u64,

    /// Limit: bytes of a connection picked up midstream searched for an OFT2 header.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().midstream_scan_bytes)]
    pub midstream_scan_bytes: usize,

    /// Limit: transfers followed at once; past it the longest idle end early (counted).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_transfers)]
    pub max_transfers: usize,

    /// Limit: frames held per not-yet-recognized flow, so a pcap starts at its SYN.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_held_frames)]
    pub max_held_frames: usize,

    /// Limit: delivered bytes kept per direction so a retransmission of them with
    /// different content counts in overlaps_differing (0: not kept, and such
    /// retransmissions are not compared; only out-of-order bytes are). Costs up to
    /// 2 x BYTES per flow.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().overlap_window_bytes)]
    pub overlap_window_bytes: usize,

    /// Limit: milliseconds of packet time a direction's bytes are still followed after
    /// the peer reset the connection (the sender's segments in flight); 0: none.
    #[arg(long, value_name = "MS", default_value_t = Limits::default().rst_linger_ms)]
    pub rst_linger_ms: u64,
}

impl Args {
    /// The one conversion from flags to settings: clamps what must be clamped, fills in
    /// what depends on the machine (worker count), and refuses a run with nothing to read.
    pub fn into_config(self) -> Result<Config, String> {
        let input = self.input()?;
        let limits = self.limits();
        let workers = self.worker_count();
        Ok(Config {
            input,
            outputs: Outputs {
                human: !self.quiet,
                verbose: self.verbose,
                rotate_mb: self.rotate_mb,
                rotate_files: self.rotate_files,
                with_rendezvous: self.with_rendezvous,
                explain: self.explain,
                progress_secs: self.progress,
                json: self.json,
                write: self.write,
                pcap_dir: self.pcap_dir,
                extract: self.extract,
            },
            limits,
            workers,
            count: self.count.unwrap_or(u64::MAX),
            no_classify: self.no_classify,
            user: self.user,
        })
    }

    /// One file, or one interface with one socket per capture thread.
    fn input(&self) -> Result<Input, String> {
        if let Some(path) = &self.read {
            return Ok(Input::File(path.clone()));
        }
        let Some(iface) = &self.interface else {
            return Err(
                "oftsniff: nothing to read: give -i IFACE (live) or -r FILE (offline); see --help"
                    .into(),
            );
        };
        let threads = self.capture_threads.clamp(1, 64);
        let options = LiveOptions {
            promisc: !self.no_promisc,
            ring_block_size: (self.ring_block_kb as usize).saturating_mul(1024),
            ring_block_count: self.ring_blocks as usize,
            pnet_recv_buffer_bytes: self.pnet_buffer_kb.saturating_mul(1024),
            // Fanout groups are per network namespace; the pid keeps two instances apart.
            fanout_group: (threads > 1).then(|| (std::process::id() & 0xffff) as u16),
            ..LiveOptions::default()
        };
        let backend = match self.backend {
            BackendArg::Ring => Backend::Ring,
            BackendArg::Pnet => Backend::Pnet,
        };
        Ok(Input::Live(LiveCapture {
            interface: iface.clone(),
            backend,
            threads,
            options,
        }))
    }

    fn limits(&self) -> Limits {
        Limits {
            max_flows: self.max_flows.max(1),
            max_ooo_bytes: self.max_ooo_bytes,
            max_reassembly_mem: self.max_reassembly_mem,
            idle_timeout_secs: self.idle_timeout.max(1),
            max_held_frames: self.max_held_frames,
            midstream_scan_bytes: self.midstream_scan_bytes,
            max_transfers: self.max_transfers.max(1),
            overlap_window_bytes: self.overlap_window_bytes,
            rst_linger_ms: self.rst_linger_ms,
            ..Limits::default()
        }
    }

    fn worker_count(&self) -> usize {
        self.workers
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            })
            .clamp(1, 256)
    }
}

#[cfg(test)]
mod tests;
