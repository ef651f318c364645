//! Issue 13: the live status area. In a tmux pane (a real terminal) a slowly fed
//! transfer shows its progress bar and the footer while it runs, and the log is intact
//! once it ends; with stdout not a terminal there is no status area and no escape code.

mod common;

use common::*;
use oft_testkit::gen::{Dir, PcapBuilder, TcpConv};
use oftsniff::capture::Timestamp;
use oftsniff::flow::Endpoint;
use oftsniff::proto::{Cookie, FileName, OftChecksum};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const NAME: &str = "status-area-demo.bin";

fn ep(last: u8, port: u16) -> Endpoint {
    // Test addresses from 198.18.0.0/15 only.
    Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, 13, last)), port)
}

/// One direct transfer of 1.5 MB in 1000-byte segments, 4 ms apart: about 9 s of packet
/// time, so `--progress 1` reports it as it goes.
fn slow_transfer() -> Vec<u8> {
    let data: Vec<u8> = (0..1_500_000u32)
        .map(|i| (i * 7 + i / 1000) as u8)
        .collect();
    let start = Timestamp(1_704_067_200 * 1_000_000_000);
    let mut c = TcpConv::new(ep(2, 40_013), ep(1, 5190), start)
        .with_mss(1000)
        .with_frame_gap(Duration::from_millis(4));
    let cookie = Cookie([0x13, 1, 2, 3, 4, 5, 6, 7]);
    c.handshake();
    let prompt = prompt_for(Cookie([0; 8]), FileName::utf8(NAME), &data);
    c.send(Dir::ServerToClient, &prompt.emit());
    c.send(Dir::ClientToServer, &prompt.ack(cookie).emit());
    c.send(Dir::ServerToClient, &data);
    let sum = OftChecksum::of(&data);
    let done = prompt.done(cookie, data.len() as u32, sum, true);
    c.send(Dir::ClientToServer, &done.emit());
    c.close();
    let mut out = Vec::new();
    let mut b = PcapBuilder::new();
    b.add_conv(&c);
    b.write_to(&mut out).unwrap();
    out
}

fn have_tmux() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        loud_skip("tmux is not installed (.ci/run installs it): the terminal checks were NOT run");
    }
    ok
}

/// A tmux server of the test's own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    /// The pane's text, wrapped lines joined, with its history.
    fn pane(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-J", "-S", "-", "-t", "status"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the pane until `ok` holds, for 20 s at most.
    fn wait_for(&self, ok: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            let text = self.pane();
            if ok(&text) || t0.elapsed() > Duration::from_secs(20) {
                return text;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

/// The bar line of the transfer: its id, a bar, a percent above 0, the file name.
fn bar_line(text: &str) -> Option<&str> {
    text.lines().find(|l| {
        l.starts_with("T1 ")
            && l.contains('[')
            && l.contains(NAME)
            && l.split_whitespace().any(|w| {
                w.strip_suffix('%')
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|n| n > 0 && n < 100)
            })
    })
}

fn footer(text: &str) -> Option<&str> {
    text.lines()
        .find(|l| l.contains("frames/s") && l.contains("flows active"))
}

/// What oftsniff writes to stdout when it is not a terminal.
fn plain_log(pcap: &Path, extra: &[&str]) -> Vec<u8> {
    let out = oftsniff()
        .arg("-r")
        .arg(pcap)
        .args(["--progress", "1"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        !out.stdout.contains(&0x1b) && !out.stderr.contains(&0x1b),
        "escape codes with stdout not a terminal: {out:?}"
    );
    out.stdout
}

#[test]
fn no_status_area_and_no_escape_codes_when_stdout_is_not_a_terminal() {
    let dir = TempDir::new("status-plain");
    let pcap = dir.join("t.pcap");
    std::fs::write(&pcap, slow_transfer()).unwrap();
    let log = plain_log(&pcap, &[]);
    let text = String::from_utf8(log.clone()).unwrap();
    assert!(text.contains(" progress "), "{text}");
    assert!(!text.contains("frames/s"), "{text}");
    assert_eq!(log, plain_log(&pcap, &["--no-status"]));
}

#[test]
fn a_terminal_shows_the_transfer_bar_and_the_footer_while_it_runs() {
    if !have_tmux() {
        return;
    }
    let dir = TempDir::new("status-tmux");
    let pcap = slow_transfer();
    let file = dir.join("t.pcap");
    std::fs::write(&file, &pcap).unwrap();
    let fifo = dir.join("feed");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let tmux = Tmux {
        socket: format!("oftsniff-status-{}", std::process::id()),
    };
    let script = format!(
        "'{}' -r - --progress 1 < '{}'; echo EXIT=$?; sleep 120",
        env!("CARGO_BIN_EXE_oftsniff"),
        fifo.display()
    );
    let started = tmux
        .cmd()
        .args(["new-session", "-d", "-x", "200", "-y", "50", "-s", "status"])
        .arg(&script)
        .status()
        .unwrap();
    assert!(started.success());
    // Half the capture, then a pause: the transfer is under way on screen.
    let mut feed = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let half = pcap.len() / 2;
    for chunk in pcap[..half].chunks(64 * 1024) {
        feed.write_all(chunk).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    feed.flush().unwrap();
    let running = tmux.wait_for(|t| bar_line(t).is_some() && footer(t).is_some());
    eprintln!("pane while running:\n{running}");
    assert!(bar_line(&running).is_some(), "no progress bar:\n{running}");
    assert!(footer(&running).is_some(), "no footer:\n{running}");
    assert!(
        running.contains(" prompt "),
        "no log above the bars:\n{running}"
    );
    // The rest: the transfer ends, the area is cleared and the log stays.
    feed.write_all(&pcap[half..]).unwrap();
    drop(feed);
    let end = tmux.wait_for(|t| t.contains("EXIT="));
    eprintln!("pane at the end:\n{end}");
    assert!(end.contains("EXIT=0"), "{end}");
    assert!(bar_line(&end).is_none() && footer(&end).is_none(), "{end}");
    assert!(!end.contains("T1   ["), "a bar left behind:\n{end}");
    let plain = String::from_utf8(plain_log(&file, &[])).unwrap();
    let mut shown = end.lines();
    for line in plain.lines() {
        assert!(
            shown.any(|l| l.trim_end() == line),
            "log line {line:?} missing or out of order in the pane:\n{end}"
        );
    }
}
