use super::*;
use crate::capture::LinkType;
use crate::config::Limits;
use crate::dispatch::WorkItem;
use crate::reassembly::MemBudget;

/// Frames `frame` saw: number, time, and whether it still carried bytes.
#[derive(Default)]
struct Seen(Vec<(u64, u64, usize)>);

impl StreamHandler for Seen {
    type State = ();
    fn open(&mut self, _: &mut (), _: &ConnMeta) {}
    fn segment(&mut self, _: &mut (), _: &ConnMeta, _: &SegmentMeta) {}
    fn data(&mut self, _: &mut (), _: &ConnMeta, _: Direction, _: &[u8], _: Timestamp, _: FrameNo) {
    }
    fn gap(&mut self, _: &mut (), _: &ConnMeta, _: Direction, _: u64, _: Timestamp) {}
    fn handed_out(&mut self, _: FrameNo) {}

    fn frame(&mut self, _: &mut (), _: &ConnMeta, f: Frame) {
        self.0.push((f.no.0, f.ts.0, f.data.len()));
    }
    fn close(&mut self, _: &mut (), _: &ConnMeta, _: &FlowSummary, _: CloseReason, _: Timestamp) {}
}

/// Ethernet, IPv4, TCP (PSH|ACK) from 198.18.0.1:5000 to 198.18.0.2:6000.
fn tcp_frame(seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    let ip_len = (20 + 20 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0]);
    f[16..18].copy_from_slice(&ip_len.to_be_bytes());
    f.extend_from_slice(&[198, 18, 0, 1, 198, 18, 0, 2]);
    f.extend_from_slice(&5000u16.to_be_bytes());
    f.extend_from_slice(&6000u16.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&1u32.to_be_bytes());
    f.extend_from_slice(&[0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

#[test]
fn a_worker_hands_every_fed_frame_buffer_back_for_the_capture_side_to_reuse() {
    let pool = FramePool::new(4);
    let mut taker = pool.taker();
    let n = 256u32;
    let batch: Vec<Frame> = (0..n)
        .map(|i| Frame {
            no: FrameNo(i as u64 + 1),
            ts: Timestamp(1_000_000_000 + i as u64),
            orig_len: 1014,
            link: LinkType::Ethernet,
            data: taker.copy(&tcp_frame(1 + i * 960, &[b'x'; 960])),
        })
        .collect();
    let sent: Vec<*const u8> = batch.iter().map(|f| f.data.as_ptr()).collect();
    // Counted as the capture thread counts queued bytes; the worker takes them off.
    let queued = crate::pipeline::queued::QueuedBytes::new(1 << 20);
    queued.add(batch.iter().map(crate::pipeline::queued::frame_cost).sum());
    assert!(queued.used() > n as usize * 960);
    let (tx, rx) = crossbeam_channel::bounded(1);
    tx.send(WorkItem::Frames(batch)).unwrap();
    drop(tx);
    let limits = Limits::default();
    let budget = MemBudget::new(limits.memcap);
    let (seen, counters) = crate::pipeline::worker::run_recycling(
        rx,
        Seen::default(),
        pool.returner(),
        &limits,
        budget,
        Some(queued.clone()),
        None,
    );
    assert_eq!(counters.worker_frames, n as u64);
    assert_eq!(
        queued.used(),
        0,
        "the worker takes its batch's bytes off the queue"
    );
    // The handler still saw every frame, in order, with its number and time.
    let got: Vec<(u64, u64)> = seen.0.iter().map(|s| (s.0, s.1)).collect();
    let want: Vec<(u64, u64)> = (0..n as u64).map(|i| (i + 1, 1_000_000_000 + i)).collect();
    assert_eq!(got, want);
    // Every buffer came back, as one bundle; the next copies reuse them.
    assert_eq!(pool.spare_bundles(), 1);
    for _ in 0..n {
        let v = taker.copy(&tcp_frame(0, &[b'y'; 960]));
        assert!(sent.contains(&v.as_ptr()), "a fresh buffer was allocated");
        assert_eq!(&v[54..], &[b'y'; 960][..]);
    }
}

#[test]
fn buffers_are_recycled_only_when_nothing_downstream_keeps_frames() {
    let config = |flags: &[&str]| {
        let args = <crate::cli::Args as clap::Parser>::try_parse_from(
            ["oftsniff", "-r", "x.pcap"].iter().chain(flags),
        )
        .unwrap();
        args.into_config().unwrap()
    };
    assert!(recycle_pool(&config(&[]), &mut []).is_some());
    assert!(recycle_pool(&config(&["-w", "out.pcap"]), &mut []).is_none());
    assert!(recycle_pool(&config(&["--explain"]), &mut []).is_none());
}
