//! Outputs: events (human log, NDJSON), pcap writer, file carving.
pub mod pcapfile;
pub mod event;
pub mod sink;
pub mod carve;
