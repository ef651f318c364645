use super::*;

#[test]
fn full_channel_blocks_the_sender_and_counts_a_stall() {
    let (tx, rx) = bounded(1);
    let stalls = Arc::new(AtomicU64::new(0));
    let s = PcapSender {
        tx,
        stalls: stalls.clone(),
    };
    s.transfer_end(TransferId(1)).unwrap();
    assert_eq!(stalls.load(Ordering::Relaxed), 0);
    let s2 = s.clone();
    let t = std::thread::spawn(move || s2.transfer_end(TransferId(2)));
    // The second send cannot complete until a slot frees; nothing is dropped.
    while stalls.load(Ordering::Relaxed) == 0 {
        std::thread::yield_now();
    }
    let ids: Vec<u64> = (0..2)
        .map(|_| match rx.recv().unwrap() {
            Envelope::Msg(WriterMsg::TransferEnd { transfer }) => transfer.0,
            _ => panic!("unexpected message"),
        })
        .collect();
    t.join().unwrap().unwrap();
    assert_eq!(ids, [1, 2]);
    assert_eq!(stalls.load(Ordering::Relaxed), 1);
}

#[test]
fn send_after_the_writer_is_gone_reports_it() {
    let (tx, rx) = bounded(1);
    drop(rx);
    let s = PcapSender {
        tx,
        stalls: Arc::new(AtomicU64::new(0)),
    };
    assert!(matches!(
        s.transfer_end(TransferId(1)),
        Err(OutputError::WriterGone)
    ));
}
