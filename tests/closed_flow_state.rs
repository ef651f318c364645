//! What a connection's handler state costs once the connection is over.

use oft_testkit::gen::oft::{build, Kind, Variant};
use oftsniff::config::Limits;
use oftsniff::decode::decode_tcp;
use oftsniff::reassembly::{FlowTable, MemBudget};
use oftsniff::session::handler::{SessionHandler, SessionOptions};
use oftsniff::stats::Counters;
use std::sync::Arc;

/// Runs a direct transfer through a flow table and returns what its flows are charged
/// once every connection closed and lingers (no frame after the last one expires them).
fn charged_while_lingering(pcap: bool) -> usize {
    let (tx, _rx) = crossbeam_channel::unbounded();
    let opts = SessionOptions {
        pcap,
        ..SessionOptions::default()
    };
    let mut h = SessionHandler::new(0, tx, Arc::new(opts), None);
    let limits = Limits::default();
    let mut table = FlowTable::with_budget(&limits, MemBudget::new(limits.memcap));
    let mut counters = Counters::default();
    for frame in build(Kind::Direct, 7, Variant::PLAIN).pcap.into_frames() {
        if let Ok(pkt) = decode_tcp(frame.link, &frame.data) {
            table.process(&mut h, &pkt, frame, &mut counters);
        }
    }
    assert!(!table.is_empty(), "its flows still linger");
    table.charged()
}

#[test]
fn a_closed_data_connection_gives_its_reader_back_unless_late_frames_are_kept() {
    let kept = charged_while_lingering(true);
    let freed = charged_while_lingering(false);
    assert!(
        freed + std::mem::size_of::<oftsniff::session::framer::DataConn>() <= kept,
        "without -w a closed data connection's reader goes at the close: {freed} vs {kept}"
    );
}
