//! `--explain`: after the run, each transfer's packet ladder — its FLAP messages and every
//! frame of its connections, numbered as in the input, with direction, flags, length and
//! the phase each frame completed.

mod common;

#[test]
fn gaim_capture_ladder_is_numbered_directed_and_annotated() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gaim-sendfile-2005.pcap"
    );
    let out = common::oftsniff()
        .args(["-r", path, "-q", "--explain"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("== T1 file 4.254.84.74:5190 -> 24.252.11.55:60792")
    );
    let ladder: Vec<(u64, &str)> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| (l.split_whitespace().next().unwrap().parse().unwrap(), l))
        .collect();
    let frames: Vec<u64> = ladder.iter().map(|(n, _)| *n).collect();
    // The PROPOSE (1) and ACCEPT (12) on FLAP, and every frame of the data connection
    // (8 to 21, less 12, 15 and 17, which are FLAP), in input order: 21, the receiver's
    // FIN after the sender's RST, is one of them too.
    assert_eq!(
        frames,
        vec![1, 8, 9, 10, 11, 12, 13, 14, 16, 18, 19, 20, 21]
    );
    let line = |n: u64| ladder.iter().find(|(f, _)| *f == n).unwrap().1;
    assert!(
        line(1).contains("FLAP") && line(1).contains("propose"),
        "{}",
        line(1)
    );
    assert!(line(12).contains("accept"), "{}", line(12));
    // FLAP lines carry flags and length like the others; the arrow says who sent: the
    // client its 4/6, the server its 4/7.
    assert!(
        line(1).contains("FLAP 4.254.84.74:4834 -> 64.12.24.152:5190  [P.] len 126  SNAC 4/6"),
        "{}",
        line(1)
    );
    assert!(
        line(12).contains("FLAP 4.254.84.74:4834 <- 64.12.24.152:5190  [P.] len 117  SNAC 4/7"),
        "{}",
        line(12)
    );
    // Client first on every data line; the arrow says who sent.
    assert!(
        line(8).contains("24.252.11.55:60792 -> 4.254.84.74:5190  [S]"),
        "{}",
        line(8)
    );
    assert!(
        line(9).contains("24.252.11.55:60792 <- 4.254.84.74:5190  [S.]"),
        "{}",
        line(9)
    );
    assert!(line(10).ends_with("tcp_handshake"), "{}", line(10));
    assert!(
        line(11).contains("len 256") && line(11).ends_with("prompt"),
        "{}",
        line(11)
    );
    assert!(line(13).ends_with("ack"), "{}", line(13));
    assert!(
        line(14).contains("len 44") && line(14).ends_with("data_start, data_end"),
        "{}",
        line(14)
    );
    assert!(line(19).ends_with("done"), "{}", line(19));
    // The RST completed the close (JSON says frame 20 too).
    assert!(
        line(20).contains("[R.]") && line(20).ends_with("close"),
        "{}",
        line(20)
    );
    assert!(
        line(21).contains("24.252.11.55:60792 -> 4.254.84.74:5190  [F.] len 0"),
        "{}",
        line(21)
    );
}
