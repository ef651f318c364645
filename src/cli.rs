//! Command-line flags, declared once here and turned into a `Config` the rest of the
//! program takes. Conventions follow tcpdump where a flag has a tcpdump meaning.

use crate::capture::{Backend, FilterExpr, LiveOptions};
use crate::config::{
    Config, Input, Limits, LiveCapture, Outputs, TransferRef, DEFAULT_PROGRESS_SECS,
};
use crate::session::digest::HashAlg;
use clap::{Parser, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// AF_PACKET TPACKET_V3 mmap ring (Linux; lowest cost per frame).
    Ring,
    /// pnet's datalink channel (portable).
    Pnet,
}

/// Signals and exit codes, after the options in `--help`.
/// Watch a network (or read a capture) and report AOL OSCAR file transfers (OFT2),
/// direct or through the AIM rendezvous proxy.
/// Shown after the options by `--help`.
const EXAMPLES: &str = "\
Output paths: a file or directory given to --json, -w, --pcap-dir or --extract is created \
if missing, but its parent directory must exist.

Signals: SIGINT/SIGTERM stop the capture; what was captured is processed, the counters and \
the stats event written, every output closed whole (a repeat within 1 s is the same stop; \
a later one skips waiting for frames still in the kernel). SIGHUP reopens --json and -w \
when they were renamed (logrotate). SIGUSR1 prints the counters so far (as dd does).

Exit status: 0 ok; 1 an output failed during the run (a write error); 2 bad usage or \
input (unknown flag, interface or file, an output that cannot be opened, a damaged or \
truncated capture: what it holds up to the damage is still processed and reported).

Examples:
  sudo oftsniff -i eth0                                   live, until Ctrl-C
  sudo oftsniff -i eth0 --json events.ndjson -w oft.pcap -C 100 -W 10
  sudo oftsniff -i eth0 net 198.18.0.0/15                 only what the kernel filter passes
  oftsniff -r capture.pcapng --json - | jq .              offline, pcap or pcapng
  oftsniff -r capture.pcap -f 'host 198.18.0.2' --explain packet ladder per transfer
  oftsniff -D                                             list interfaces

Events: docs/EVENTS.md. Protocol notes: docs/PROTOCOL.md.";

/// What `--generate` writes to standard output.
/// `--hash`: which digest files get.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HashArg {
    Sha256,
    Md5,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    /// The man page (roff), for man1/oftsniff.1.
    Man,
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Parser)]
#[command(
    name = "oftsniff",
    version = crate::VERSION,
    about,
    long_about = None,
    after_help = EXAMPLES,
    max_term_width = 100
)]
pub struct Args {
    /// Capture live from this interface, by name or by its number in -D's list (needs
    /// root or cap_net_raw,cap_net_admin).
    #[arg(
        help_heading = "Capture",
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        conflicts_with = "read"
    )]
    pub interface: Option<String>,

    /// Read frames from a pcap or pcapng file ('-' for standard input). Give -r more than
    /// once, or a directory (its files), to read rotated captures as one capture in
    /// timestamp order; a file that cannot be read is reported and skipped.
    #[arg(
        help_heading = "Capture",
        short = 'r',
        long = "read",
        value_name = "FILE"
    )]
    pub read: Vec<PathBuf>,

    /// List the interfaces that can be captured on, and exit.
    #[arg(help_heading = "Capture", short = 'D', long = "list-interfaces")]
    pub list_interfaces: bool,

    /// Capture filter in tcpdump's syntax (pcap-filter(7)), compiled by libpcap; the
    /// kernel drops non-matching frames. A filter that hides the FLAP connection leaves
    /// transfers unnamed (no rendezvous: no cookie, screen names or proposed file).
    #[arg(
        help_heading = "Capture",
        short = 'f',
        long = "filter",
        value_name = "EXPR",
        conflicts_with = "expression"
    )]
    pub filter: Option<String>,

    /// The capture filter as trailing words, as tcpdump takes it (same as -f).
    #[arg(
        help_heading = "Capture",
        value_name = "EXPRESSION",
        num_args = 0..
    )]
    pub expression: Vec<String>,

    /// Keep SNAPLEN bytes of each frame (live, or read with -r), as tcpdump -s; its
    /// original length is kept, and what was cut is a gap. 0: the default.
    #[arg(
        help_heading = "Capture",
        short = 's',
        long = "snapshot-length",
        value_name = "SNAPLEN",
        default_value_t = crate::capture::DEFAULT_SNAPLEN
    )]
    pub snaplen: u32,

    /// Stop after this many frames.
    #[arg(
        help_heading = "Capture",
        short = 'c',
        long = "count",
        value_name = "N"
    )]
    pub count: Option<u64>,

    /// Once the capture and every output are open, run as USER (its uid, gid and only
    /// its group); the outputs already created are handed to USER.
    #[arg(short = 'Z', long = "user", value_name = "USER")]
    pub user: Option<String>,

    /// Do not install the seccomp filter that, once started, refuses new programs,
    /// processes, IP sockets, tracing, mounts and module loading.
    #[arg(long)]
    pub no_sandbox: bool,

    /// Worker threads (default: available cores).
    #[arg(help_heading = "Limits", long, value_name = "N")]
    pub workers: Option<usize>,

    /// Write newline-delimited JSON events to PATH ('-' for stdout).
    #[arg(help_heading = "Output", long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Write every frame of every recognized transfer to this pcap file.
    #[arg(
        help_heading = "Output",
        short = 'w',
        long = "write",
        value_name = "FILE"
    )]
    pub write: Option<PathBuf>,

    /// Rotate -w output after this many millions of bytes (like tcpdump -C).
    #[arg(
        help_heading = "Output",
        short = 'C',
        value_name = "MB",
        requires = "write"
    )]
    pub rotate_mb: Option<u64>,

    /// With -C: keep a ring of this many files (like tcpdump -W).
    #[arg(
        help_heading = "Output",
        short = 'W',
        value_name = "N",
        requires = "rotate_mb"
    )]
    pub rotate_files: Option<u32>,

    /// Also (or instead) write one pcap per transfer into DIR (created; its parent must exist).
    #[arg(help_heading = "Output", long, value_name = "DIR")]
    pub pcap_dir: Option<PathBuf>,

    /// With -w/--pcap-dir: also write the FLAP frames carrying the transfer's rendezvous.
    #[arg(help_heading = "Output", long)]
    pub with_rendezvous: bool,

    /// Also report the instant messages (channel 1, SNAC 4/6 and 4/7) of the OSCAR
    /// connections as `message` events, linked to the transfer between the same two
    /// screen names. Off by default: their text is personal data.
    #[arg(help_heading = "Output", long)]
    pub messages: bool,

    /// Carve transferred files into DIR as they stream past (created; its parent must exist).
    #[arg(help_heading = "Output", long, value_name = "DIR")]
    pub extract: Option<PathBuf>,

    /// Digest of each file's bytes in `file` events: `sha256` (field sha256), `md5` (field
    /// md5, for hash sets keyed by MD5) or `none` (neither: the fastest on big transfers).
    #[arg(
        help_heading = "Output",
        long,
        value_enum,
        value_name = "ALG",
        default_value = "sha256"
    )]
    pub hash: HashArg,

    /// Seconds of packet time between progress events of a running transfer (0: off).
    #[arg(help_heading = "Output", long, value_name = "SECS", default_value_t = DEFAULT_PROGRESS_SECS)]
    pub progress: u64,

    /// Every SECS of wall time, the counters so far on stderr and as an interim `stats`
    /// event (0: off; SIGUSR1 asks for them once, as with dd).
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub stats_interval: u64,

    /// After the run, print a numbered packet ladder of each transfer.
    #[arg(help_heading = "Debugging", long)]
    pub explain: bool,

    /// Write an HTML report (summary, throughput charts, packet ladders, counters) to
    /// FILE at exit; one self-contained page.
    #[arg(help_heading = "Output", long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,

    /// Live, with --report: also rewrite the report every SECS seconds (0: at exit only).
    #[arg(
        help_heading = "Output",
        long,
        value_name = "SECS",
        default_value_t = 0,
        requires = "report"
    )]
    pub report_interval: u64,

    /// Set two transfers side by side, aligned by protocol step: FILE:Tn FILE:Tn (ids as
    /// a run over FILE numbers them). With --report, the page shows the same table.
    #[arg(help_heading = "Output", long, num_args = 2, value_names = ["A", "B"], conflicts_with_all = ["interface", "read", "no_classify"])]
    pub compare: Vec<String>,

    /// Benchmarking: run the capture, reassembly and flow-record pipeline without OFT
    /// recognition (reassembled bytes are only counted; no transfers are reported).
    #[arg(help_heading = "Debugging", long, conflicts_with_all = ["write", "pcap_dir", "extract", "explain", "with_rendezvous", "report"])]
    pub no_classify: bool,

    /// Live capture backend.
    #[arg(help_heading = "Capture", long, value_enum, default_value = "ring")]
    pub backend: BackendArg,

    /// Live: capture threads, joined in a PACKET_FANOUT (hash) group when more than one.
    #[arg(help_heading = "Capture", long, value_name = "N", default_value_t = 1)]
    pub capture_threads: usize,

    /// Do not put the interface into promiscuous mode (as tcpdump -p).
    #[arg(help_heading = "Capture", short = 'p', long)]
    pub no_promisc: bool,

    /// Ring backend: block size in KiB.
    #[arg(
        help_heading = "Capture",
        long,
        value_name = "KIB",
        default_value_t = 1024
    )]
    pub ring_block_kb: u32,

    /// Ring backend: number of blocks.
    #[arg(help_heading = "Capture", long, value_name = "N", default_value_t = 64)]
    pub ring_blocks: u32,

    /// pnet backend: kernel receive buffer (SO_RCVBUF) in KiB, the queue that absorbs
    /// bursts while oftsniff is busy.
    #[arg(help_heading = "Capture", 
        long,
        value_name = "KIB",
        default_value_t = crate::capture::PnetOptions::default().recv_buffer_bytes / 1024
    )]
    pub pnet_buffer_kb: usize,

    /// Also print a line per TCP connection as it ends.
    #[arg(help_heading = "Output", short = 'v', long)]
    pub verbose: bool,

    /// Print no per-event lines on stdout (counters still go to stderr).
    #[arg(help_heading = "Output", short = 'q', long)]
    pub quiet: bool,

    /// No live status area (a progress bar per transfer, a footer with the counters)
    /// under the log when stdout is a terminal.
    #[arg(help_heading = "Output", long)]
    pub no_status: bool,

    /// Limit: one memory budget for the whole process (flows, session state, reassembly
    /// buffers of every worker), as 512M, 2G, 100k; past it flows are evicted, the
    /// longest idle first, transfers in progress last.
    #[arg(help_heading = "Limits", long, value_name = "SIZE", default_value = "512M", value_parser = crate::config::parse_size)]
    pub memcap: usize,

    /// Limit: frame bytes queued from the capture thread to the workers (reading a
    /// file, the reader waits at it); taken out of --memcap. Default: a sixteenth of
    /// --memcap, within 64k-32M.
    #[arg(help_heading = "Limits", long, value_name = "SIZE", value_parser = crate::config::parse_size)]
    pub max_queue_bytes: Option<usize>,

    /// Limit: frame bytes the pcap writer (-w, --pcap-dir) holds to restore capture
    /// order; past it the oldest is written. Taken out of --memcap. Default: a
    /// sixteenth of --memcap, within 64k-32M.
    #[arg(help_heading = "Limits", long, value_name = "SIZE", value_parser = crate::config::parse_size)]
    pub pcap_window_bytes: Option<usize>,

    /// Limit: concurrent flows per worker; the longest-idle one is evicted past it.
    #[arg(help_heading = "Limits", long, value_name = "N", default_value_t = Limits::default().max_flows)]
    pub max_flows: usize,

    /// Limit: out-of-order bytes buffered per direction before the hole becomes a gap.
    #[arg(help_heading = "Limits", long, value_name = "BYTES", default_value_t = Limits::default().max_ooo_bytes)]
    pub max_ooo_bytes: usize,

    /// Limit: out-of-order bytes buffered per worker, all flows together.
    #[arg(help_heading = "Limits", long, value_name = "BYTES", default_value_t = Limits::default().max_reassembly_mem)]
    pub max_reassembly_mem: usize,

    /// Limit: seconds of packet time after which an idle flow expires.
    #[arg(help_heading = "Limits", long, value_name = "SECS", default_value_t = Limits::default().idle_timeout_secs)]
    pub idle_timeout: u64,

    /// Limit: bytes of each direction of a connection picked up midstream searched for an
    /// OFT2 header (a direction past it is still counted, the other still searched).
    #[arg(help_heading = "Limits", long, value_name = "BYTES", default_value_t = Limits::default().midstream_scan_bytes)]
    pub midstream_scan_bytes: usize,

    /// Limit: transfers followed at once; past it the longest idle end early (counted).
    #[arg(help_heading = "Limits", long, value_name = "N", default_value_t = Limits::default().max_transfers)]
    pub max_transfers: usize,

    /// Limit: transfers held after they are over, waiting out their 5 s linger for late
    /// legs (and as many remembered once reported, for late reports); past it the oldest
    /// is reported (or forgotten) at once (counted).
    #[arg(help_heading = "Limits", long, value_name = "N", default_value_t = Limits::default().max_held_transfers)]
    pub max_held_transfers: usize,

    /// Limit: frames held per not-yet-recognized flow, so a pcap starts at its SYN.
    #[arg(help_heading = "Limits", long, value_name = "N", default_value_t = Limits::default().max_held_frames)]
    pub max_held_frames: usize,

    /// Limit: delivered bytes kept per direction so a retransmission of them with
    /// different content counts in overlaps_differing (0: not kept, and such
    /// retransmissions are not compared; only out-of-order bytes are). Costs up to
    /// 2 x BYTES per flow.
    #[arg(help_heading = "Limits", long, value_name = "BYTES", default_value_t = Limits::default().overlap_window_bytes)]
    pub overlap_window_bytes: usize,

    /// Write the man page or a shell completion script to standard output, and exit.
    #[arg(long, value_enum, value_name = "WHAT", hide = true)]
    pub generate: Option<Generate>,

    /// Limit: with --messages, seconds of packet time a message with no transfer between
    /// its two screen names yet waits for one to be proposed (then it is written linked
    /// to it as `before`); 0: written at once.
    #[arg(help_heading = "Limits", long, value_name = "SECS", default_value_t = Limits::default().message_link_secs)]
    pub message_link_secs: u64,

    /// Limit: milliseconds of packet time a direction's bytes are still followed after
    /// the peer reset the connection (the sender's segments in flight); 0: none.
    #[arg(help_heading = "Limits", long, value_name = "MS", default_value_t = Limits::default().rst_linger_ms)]
    pub rst_linger_ms: u64,
}

impl Args {
    /// The one conversion from flags to settings: clamps what must be clamped, fills in
    /// what depends on the machine (worker count), and refuses a run with nothing to read.
    pub fn into_config(self) -> Result<Config, String> {
        let compare = self
            .compare
            .iter()
            .map(|s| TransferRef::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let input = match compare.first() {
            Some(r) => Input::File(r.file.clone()),
            None => self.input()?,
        };
        let filter = self.filter_expr()?;
        let limits = self.limits();
        let workers = self.worker_count();
        Ok(Config {
            input,
            filter,
            outputs: Outputs {
                human: !self.quiet,
                verbose: self.verbose,
                status: !self.no_status,
                rotate_mb: self.rotate_mb,
                rotate_files: self.rotate_files,
                with_rendezvous: self.with_rendezvous,
                messages: self.messages,
                explain: self.explain,
                report: self.report,
                report_interval_secs: self.report_interval,
                progress_secs: self.progress,
                hash: match self.hash {
                    HashArg::Sha256 => HashAlg::Sha256,
                    HashArg::Md5 => HashAlg::Md5,
                    HashArg::None => HashAlg::None,
                },
                stats_interval: (self.stats_interval > 0)
                    .then(|| std::time::Duration::from_secs(self.stats_interval)),
                json: self.json,
                write: self.write,
                pcap_dir: self.pcap_dir,
                extract: self.extract,
            },
            limits,
            workers,
            count: self.count.unwrap_or(u64::MAX),
            no_classify: self.no_classify,
            compare,
            user: self.user,
            sandbox: !self.no_sandbox,
            snaplen: match self.snaplen {
                0 => crate::capture::DEFAULT_SNAPLEN,
                n => n,
            },
        })
    }

    /// One file, or one interface with one socket per capture thread.
    fn input(&self) -> Result<Input, String> {
        match self.read.as_slice() {
            [] => {}
            [path] if !path.is_dir() => return Ok(Input::File(path.clone())),
            paths => return Ok(Input::Files(paths.to_vec())),
        }
        let Some(iface) = &self.interface else {
            return Err(
                "oftsniff: nothing to read: give -i IFACE (live) or -r FILE (offline); see --help"
                    .into(),
            );
        };
        let iface = interface_by_number(iface)?;
        if iface == crate::capture::ANY_INTERFACE {
            check_any(self)?;
        }
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

    /// `-f EXPR` or the trailing words, checked by libpcap's compiler now so a mistake
    /// is one line before anything is opened.
    fn filter_expr(&self) -> Result<Option<FilterExpr>, String> {
        let text = match &self.filter {
            Some(f) => f.clone(),
            None => self.expression.join(" "),
        };
        if text.trim().is_empty() {
            return Ok(None);
        }
        FilterExpr::new(&text)
            .map(Some)
            .map_err(|e| format!("oftsniff: {e}"))
    }

    fn limits(&self) -> Limits {
        Limits {
            memcap: self.memcap,
            max_flows: self.max_flows.max(1),
            max_ooo_bytes: self.max_ooo_bytes,
            max_reassembly_mem: self.max_reassembly_mem,
            idle_timeout_secs: self.idle_timeout.max(1),
            max_held_frames: self.max_held_frames,
            midstream_scan_bytes: self.midstream_scan_bytes,
            max_transfers: self.max_transfers.max(1),
            max_held_transfers: self.max_held_transfers.max(1),
            overlap_window_bytes: self.overlap_window_bytes,
            rst_linger_ms: self.rst_linger_ms,
            message_link_secs: self.message_link_secs,
            max_held_reports: crate::config::held_reports_for(self.memcap),
            queue_bytes: self
                .max_queue_bytes
                .unwrap_or_else(|| crate::config::side_bytes_for(self.memcap))
                .max(1),
            pcap_window_bytes: self
                .pcap_window_bytes
                .unwrap_or_else(|| crate::config::side_bytes_for(self.memcap)),
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

pub mod generate;

#[cfg(test)]
mod tests;

/// `-i any` takes the ring backend.
fn check_any(args: &Args) -> Result<(), String> {
    if args.backend == BackendArg::Pnet {
        return Err(
            "oftsniff: --backend pnet cannot capture on any (pnet has no cooked \
             mode for all interfaces); use --backend ring"
                .into(),
        );
    }
    Ok(())
}

/// `-i N`, as tcpdump: a number that names no interface is the N-th of `-D`'s list.
fn interface_by_number(iface: &str) -> Result<String, String> {
    let Ok(n) = iface.parse::<usize>() else {
        return Ok(iface.to_string());
    };
    let list = crate::capture::interfaces::list_interfaces();
    if list.iter().any(|i| i.name == iface) {
        return Ok(iface.to_string());
    }
    if n == list.len() + 1 {
        return Ok(crate::capture::ANY_INTERFACE.to_string());
    }
    n.checked_sub(1)
        .and_then(|i| list.get(i))
        .map(|i| i.name.clone())
        .ok_or_else(|| {
            format!(
                "oftsniff: no interface number {n}: there are {} (oftsniff -D lists them)",
                list.len() + 1
            )
        })
}
