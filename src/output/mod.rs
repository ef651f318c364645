//! Outputs: events (human log, NDJSON), pcap writer, file carving.
pub mod carve;
pub mod carve_name;
pub mod community_id;
pub mod compare;
pub mod error;
pub mod explain;
pub mod human;
pub mod pcap_out;
pub mod pcapfile;
pub mod record_file;
pub mod reorder;
pub mod report;
pub mod rotate;
pub mod schema;
pub mod sink;
pub mod status;
pub mod text;
pub mod timestamp;
pub mod transfer_files;

#[cfg(test)]
mod testdir;
