//! The test peers against each other across the namespace test bed (root only; skipped with a
//! loud message otherwise).
//!
//! Each test builds its own bed (unique prefix, so they run in parallel), starts `oftpeer bos`
//! and `oftpeer proxy` in their namespaces, runs one transfer between the sender's and the
//! receiver's namespaces, and compares the received files byte for byte with the ones sent.
//! This proves the peers, independent of oftsniff.

#[path = "common/bins.rs"]
mod bins;
#[path = "common/netns.rs"]
mod netns;

use bins::oftpeer;
use netns::{skip_unless_root, Lan, NsOutput, Testbed};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every transfer here is number 0 of its bed: `alice0` sends to `bob0`, who writes to `recv0/`.
const COOKIE: &str = "5045455254455354";

fn out(lan: &Lan) -> PathBuf {
    lan.dir.join("recv0")
}

fn assert_same(sent: &Path, received: &Path) {
    let a = std::fs::read(sent).unwrap();
    let b = std::fs::read(received)
        .unwrap_or_else(|e| panic!("{} not received: {e}", received.display()));
    assert_eq!(a.len(), b.len(), "{} size differs", received.display());
    assert!(a == b, "{} content differs", received.display());
}

fn assert_ok(send: &NsOutput, recv: &NsOutput) {
    assert!(send.success(), "send failed: {:?}", send.status);
    assert!(recv.success(), "recv failed: {:?}", recv.status);
}

macro_rules! root_only {
    ($name:literal) => {
        if skip_unless_root($name) {
            return;
        }
    };
}

#[test]
fn testbed_comes_up_and_goes_away() {
    root_only!("testbed_comes_up_and_goes_away");
    let bed = Testbed::up("smoke").expect("testbed up");
    let names: Vec<String> = [
        &bed.sender.ns,
        &bed.receiver.ns,
        &bed.proxy.ns,
        &bed.bos.ns,
        &bed.bridge_ns,
        &bed.monitor_ns,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for ns in &names {
        assert!(Path::new("/run/netns").join(ns).exists(), "{ns} missing");
    }
    drop(bed);
    for ns in &names {
        assert!(
            !Path::new("/run/netns").join(ns).exists(),
            "{ns} left behind"
        );
    }
}

#[test]
fn direct_transfer_arrives_byte_identical() {
    root_only!("direct_transfer_arrives_byte_identical");
    let lan = Lan::up("direct", oftpeer());
    let f = lan.file("random.bin", 2_000_003).0;
    let (send, recv) = lan.transfer(0, COOKIE, &[f.to_str().unwrap()], &[]);
    assert_ok(&send, &recv);
    assert_same(&f, &out(&lan).join("random.bin"));
    assert!(send.stderr.contains("receiver connected from"));
}

#[test]
fn direct_transfer_on_port_443() {
    root_only!("direct_transfer_on_port_443");
    let lan = Lan::up("p443", oftpeer());
    let f = lan.file("on443.bin", 100_000).0;
    let (send, recv) = lan.transfer(0, COOKIE, &["--data-port", "443", f.to_str().unwrap()], &[]);
    assert_ok(&send, &recv);
    assert_same(&f, &out(&lan).join("on443.bin"));
    assert!(
        recv.stderr.contains(":443"),
        "receiver did not use port 443"
    );
}

#[test]
fn stage1_proxy_created_by_sender_relays_the_file() {
    root_only!("stage1_proxy_created_by_sender_relays_the_file");
    let lan = Lan::up("stage1", oftpeer());
    let f = lan.file("via-proxy.bin", 1_000_001).0;
    let proxy = lan.proxy();
    let (send, recv) = lan.transfer(0, COOKIE, &["--proxy", &proxy, f.to_str().unwrap()], &[]);
    assert_ok(&send, &recv);
    assert_same(&f, &out(&lan).join("via-proxy.bin"));
    assert!(
        send.stderr.contains("INIT_SEND"),
        "sender did not create the session"
    );
    assert!(recv.stderr.contains("INIT_RECV"), "receiver did not join");
}

#[test]
fn stage2_proxy_created_by_receiver_relays_the_file() {
    root_only!("stage2_proxy_created_by_receiver_relays_the_file");
    let lan = Lan::up("stage2", oftpeer());
    let f = lan.file("stage2.bin", 654_321).0;
    let proxy = lan.proxy();
    let (send, recv) = lan.transfer(0, COOKIE, &[f.to_str().unwrap()], &["--proxy", &proxy]);
    assert_ok(&send, &recv);
    assert_same(&f, &out(&lan).join("stage2.bin"));
    assert!(
        recv.stderr.contains("INIT_SEND"),
        "receiver did not create the session"
    );
    assert!(
        recv.stderr.contains("req 2"),
        "receiver's PROPOSE is not request 2"
    );
    assert!(send.stderr.contains("INIT_RECV"), "sender did not join");
}

#[test]
fn proxied_skip_answers_prompt_with_done_and_moves_no_data() {
    root_only!("proxied_skip_answers_prompt_with_done_and_moves_no_data");
    let lan = Lan::up("skip", oftpeer());
    let f = lan.file("already-here.bin", 300_000).0;
    let proxy = lan.proxy();
    let have = f.to_str().unwrap();
    let (send, recv) = lan.transfer(0, COOKIE, &["--proxy", &proxy, have], &["--have", have]);
    assert_ok(&send, &recv);
    assert!(recv.stderr.contains("DONE (skip)"));
    assert!(send.stderr.contains("skipping"));
    assert!(send.stderr.contains("0 data bytes sent"));
    assert!(!out(&lan).join("already-here.bin").exists());
}

#[test]
fn resume_from_a_partial_file_sends_only_the_rest() {
    root_only!("resume_from_a_partial_file_sends_only_the_rest");
    let lan = Lan::up("resume", oftpeer());
    let f = lan.file("resumed.bin", 1_500_000).0;
    // An odd offset: the checksum must continue with the right byte parity.
    let partial = lan.dir.join("partial.bin");
    std::fs::write(&partial, &std::fs::read(&f).unwrap()[..700_001]).unwrap();
    let (send, recv) = lan.transfer(
        0,
        COOKIE,
        &[f.to_str().unwrap()],
        &["--resume-from", partial.to_str().unwrap()],
    );
    assert_ok(&send, &recv);
    assert_same(&f, &out(&lan).join("resumed.bin"));
    assert!(send
        .stderr
        .contains("sending 799999 data bytes from offset 700001"));
    assert!(recv.stderr.contains("1 resumed"));
}

#[test]
fn folder_of_three_files_goes_over_one_connection() {
    root_only!("folder_of_three_files_goes_over_one_connection");
    let lan = Lan::up("folder", oftpeer());
    let files = [
        lan.file("a.txt", 1_000).0,
        lan.file("b.dat", 77_777).0,
        lan.file("c.bin", 300_001).0,
    ];
    let mut args = vec!["--folder", "trip"];
    args.extend(files.iter().map(|p| p.to_str().unwrap()));
    let (send, recv) = lan.transfer(0, COOKIE, &args, &[]);
    assert_ok(&send, &recv);
    for f in &files {
        assert_same(f, &out(&lan).join("trip").join(f.file_name().unwrap()));
    }
    for left in ["files_left 3/3", "files_left 2/3", "files_left 1/3"] {
        assert!(recv.stderr.contains(left), "no PROMPT with {left}");
    }
    assert_eq!(send.stderr.matches("receiver connected").count(), 1);
}

#[test]
fn utf16_long_name_survives_the_trip() {
    root_only!("utf16_long_name_survives_the_trip");
    let lan = Lan::up("utf16", oftpeer());
    let name = format!("{}-Übergrößenträger-名前.txt", "long".repeat(20));
    let f = lan.file(&name, 4_321).0;
    let (send, recv) = lan.transfer(0, COOKIE, &["--utf16-names", f.to_str().unwrap()], &[]);
    assert_ok(&send, &recv);
    assert_same(&f, &out(&lan).join(&name));
}

#[test]
fn abort_after_resets_the_connection_and_truncates_the_file() {
    root_only!("abort_after_resets_the_connection_and_truncates_the_file");
    let lan = Lan::up("abort", oftpeer());
    let f = lan.file("cut.bin", 2_000_000).0;
    let (send, recv) = lan.transfer(
        0,
        COOKIE,
        &["--abort-after", "600000", f.to_str().unwrap()],
        &[],
    );
    assert!(send.success(), "sender should succeed at aborting");
    assert!(send
        .stderr
        .contains("connection reset after 600000 data bytes"));
    assert!(!recv.success(), "receiver should fail on a reset");
    assert!(
        recv.stderr.contains("truncated: connection reset"),
        "receiver did not see a reset"
    );
    let got = std::fs::metadata(out(&lan).join("cut.bin")).unwrap().len();
    assert_eq!(got, 600_000, "receiver kept what arrived before the reset");
}

#[test]
fn abort_through_the_proxy_is_passed_on_as_a_reset() {
    root_only!("abort_through_the_proxy_is_passed_on_as_a_reset");
    let lan = Lan::up("pabort", oftpeer());
    let f = lan.file("cut.bin", 1_000_000).0;
    let proxy = lan.proxy();
    let (send, recv) = lan.transfer(
        0,
        COOKIE,
        &[
            "--proxy",
            &proxy,
            "--abort-after",
            "250000",
            f.to_str().unwrap(),
        ],
        &[],
    );
    assert!(send.success());
    assert!(!recv.success());
    assert!(
        recv.stderr.contains("truncated: connection reset"),
        "the proxy did not pass the reset on"
    );
}

#[test]
fn redirect_makes_the_sender_connect_to_the_receiver() {
    root_only!("redirect_makes_the_sender_connect_to_the_receiver");
    let lan = Lan::up("redirect", oftpeer());
    let f = lan.file("reversed.bin", 400_000).0;
    let (send, recv) = lan.transfer(
        0,
        COOKIE,
        &[f.to_str().unwrap()],
        &["--redirect", "0.0.0.0:5190"],
    );
    assert_ok(&send, &recv);
    assert_same(&f, &out(&lan).join("reversed.bin"));
    assert!(send.stderr.contains("receiver redirects"));
    assert!(recv.stderr.contains("sender connected from"));
    assert!(recv.stderr.contains("req 2"), "redirect is not request 2");
}

#[test]
fn decline_cancels_the_offer_and_the_sender_gives_up() {
    root_only!("decline_cancels_the_offer_and_the_sender_gives_up");
    let lan = Lan::up("decline", oftpeer());
    let f = lan.file("unwanted.bin", 1_000).0;
    let (send, recv) = lan.transfer(0, COOKIE, &[f.to_str().unwrap()], &["--decline"]);
    assert!(recv.success(), "declining is a success for the receiver");
    assert!(!send.success(), "the sender must fail on a CANCEL");
    assert!(send.stderr.contains("receiver cancelled"));
}

/// The property live capture relies on: the monitor port sees the unicast frames between two
/// other hosts, both ways, at wire size (no 64 KiB offload super-frames).
#[test]
fn monitor_sees_every_frame_between_other_hosts() {
    root_only!("monitor_sees_every_frame_between_other_hosts");
    if !std::process::Command::new("tcpdump")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("\n** SKIPPED monitor_sees_every_frame_between_other_hosts: no tcpdump\n");
        return;
    }
    let lan = Lan::up("monitor", oftpeer());
    let pcap = lan.dir.join("mon.pcap");
    let dump = lan
        .bed
        .spawn(
            &lan.bed.monitor_ns,
            "tcpdump",
            [
                "-i",
                &lan.bed.monitor_if,
                "-U",
                "-n",
                "-w",
                pcap.to_str().unwrap(),
            ],
        )
        .expect("start tcpdump");
    // tcpdump writes the file header once the capture is active.
    let start = std::time::Instant::now();
    while std::fs::metadata(&pcap).map_or(true, |m| m.len() < 24) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "tcpdump never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let f = lan.file("watched.bin", 500_000).0;
    let (send, recv) = lan.transfer(0, COOKIE, &[f.to_str().unwrap()], &[]);
    assert_ok(&send, &recv);
    std::thread::sleep(Duration::from_millis(300));
    dump.interrupt().unwrap();
    let out = dump.wait_timeout(Duration::from_secs(10)).unwrap();
    assert!(out.success(), "tcpdump: {}", out.stderr);
    let (s, r) = (lan.bed.sender.ip, lan.bed.receiver.ip);
    let read = |filter: String| -> Vec<String> {
        let o = std::process::Command::new("tcpdump")
            .args(["-n", "-e", "-r", pcap.to_str().unwrap(), &filter])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let fwd = read(format!("tcp and src host {s} and dst host {r}"));
    let back = read(format!("tcp and src host {r} and dst host {s}"));
    assert!(
        fwd.len() > 300,
        "sender→receiver frames missing: {}",
        fwd.len()
    );
    assert!(!back.is_empty(), "receiver→sender frames missing");
    let longest = fwd
        .iter()
        .filter_map(|l| {
            l.split(", length ")
                .nth(1)
                .and_then(|x| x.split(':').next())
                .and_then(|n| n.trim().parse::<usize>().ok())
        })
        .max()
        .unwrap_or(0);
    assert!(
        longest <= 1514,
        "a {longest}-byte frame: offloads not limited"
    );
}
