//! Synthetic traffic: pcap files of scripted TCP connections, for tests and benchmarks.
//!
//! `TcpConv` scripts a connection into `Segment`s; `Mutator` damages them (drops,
//! duplicates, overlaps, reordering) from a seed; `encode` frames them as Ethernet/IP/TCP;
//! `PcapBuilder` merges conversations into a pcap, `SegmentWriter` streams one to disk;
//! `workloads` builds the large benchmark captures and `scenarios` the named small ones;
//! `oft` scripts whole OFT transfers (FLAP rendezvous and data connections).

pub mod encode;
pub mod flood;
pub mod mutate;
pub mod oft;
pub mod pcap;
pub mod rng;
pub mod scenarios;
pub mod tcp;
pub mod workloads;

#[cfg(test)]
mod tests;

pub use mutate::{Hole, Mutations, Mutator};
pub use pcap::{CaptureSummary, PcapBuilder, SegmentWriter};
pub use rng::XorShift64;
pub use tcp::{Dir, Segment, TcpConv, TcpFlags};
