//! oftsniff: passive recognition of AOL OSCAR File Transfer (OFT2) sessions.
//!
//! The stage modules follow the data flow:
//! capture → decode → dispatch → reassembly → classify → session → output.
//! `pipeline` runs them on threads: capture threads (`pipeline::capture`: read a source,
//! shard frames by flow, batch them; `dispatch` runs here) → worker pool, one owner per
//! flow (`pipeline::worker`: decode, reassembly, classify, session) → event thread
//! (`pipeline::events`: merge the workers' reports by packet time, correlate, readable
//! log and NDJSON) → pcap writer thread (`output::pcap_out`).
//! Data moves one way: the session stage produces typed events (`session::event`:
//! endpoints, timestamps, cookies, checksums), and only `output` turns them into text
//! (`schema` for NDJSON, `human` for the log, `explain` for the ladder); carving reaches
//! the disk through `session::store`, which `output::carve` implements.
//! `cli` turns the command line into a `config::Config` once; `stats` is the one counters
//! registry every thread counts into.

pub mod capture;
pub mod decode;
pub mod dispatch;
pub mod flow;
pub mod reassembly;

pub mod classify;
pub mod passthrough;
pub mod proto;
pub mod session;

pub mod output;

pub mod pipeline;

/// `--version`: the package version and, when built from a git checkout, its commit
/// (set by build.rs).
pub const VERSION: &str = env!("OFTSNIFF_VERSION");

pub mod cli;
pub mod config;
pub mod stats;
