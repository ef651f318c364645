//! `--report FILE.html` and `--compare A B`.
//!
//! * the bundled 2005 Gaim capture's report is one self-contained page whose chart and
//!   ladder headless Chromium renders (`--dump-dom`, `--screenshot`; skipped loudly when
//!   Chromium is missing, `.ci/run` installs it);
//! * `--compare` of generated direct and proxied-skip transfers aligns the shared steps and
//!   marks the proxy negotiation as one-sided;
//! * the same on a direct and a proxied transfer made by `oftpeer` in namespaces, the
//!   receiver already having the file (root only; skipped loudly otherwise), with the live
//!   report rewritten while the capture runs.

mod common;

use common::{bins, loud_skip, netns, oftsniff, TempDir};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const GAIM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/gaim-sendfile-2005.pcap"
);

fn report_of(pcap: &str, html: &Path) -> String {
    let out = oftsniff()
        .args(["-r", pcap, "-q", "--report"])
        .arg(html)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(html).unwrap()
}

#[test]
fn report_is_one_self_contained_page_with_table_chart_ladder_and_counters() {
    let dir = TempDir::new("report-page");
    let page = report_of(GAIM, &dir.join("r.html"));
    assert!(page.starts_with("<!DOCTYPE html>"));
    // Nothing fetched from elsewhere: no scripts, links, images or URLs but the SVG
    // namespace.
    for bad in ["<script", "<link", "<img", "src=", "url(http", "@import"] {
        assert!(!page.contains(bad), "page has {bad}");
    }
    let urls = page.matches("http").count();
    let ns = page.matches("http://www.w3.org/2000/svg").count();
    assert_eq!(urls, ns, "only the SVG namespace may name a URL");
    // The summary row links to the transfer's section.
    assert!(page.contains("<a href=\"#T1\">T1</a>"));
    assert!(page.contains("<section id=\"T1\">"));
    assert!(page.contains("DarthDommo") && page.contains("howdoisentfile.txt"));
    assert!(page.contains("0xefcb0000 ok"));
    assert!(page.contains("<svg class=\"chart\""));
    assert!(page.contains("time since the transfer's first frame (s)"));
    assert!(page.contains("payload bytes per"));
    assert!(page.contains("<svg class=\"ladder\""));
    // The ladder's frame numbers are the capture's, as --explain prints them.
    for n in [1, 8, 11, 12, 14, 19, 21] {
        assert!(page.contains(&format!(">#{n}<")), "frame {n} missing");
    }
    assert!(page.contains("FLAP server"));
    assert!(page.contains("frames_captured") && page.contains("reassembly_gaps"));
}

#[test]
fn explain_and_report_use_the_same_frame_numbers_and_times() {
    let dir = TempDir::new("report-explain");
    let page = report_of(GAIM, &dir.join("r.html"));
    let out = oftsniff()
        .args(["-r", GAIM, "-q", "--explain"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().nth(1).unwrap();
    // Time of day with the date on a transfer's first line, not epoch seconds.
    assert!(
        first.contains("      1 2005-11-06 21:33:05.802073  FLAP"),
        "{first}"
    );
    assert!(text.contains("     14 21:33:16.032707  "), "{text}");
    assert!(page.contains("2005-11-06 21:33:05.802073"));
    assert!(page.contains(">21:33:16.032707<") && page.contains(">#14<"));
}

/// Headless Chromium with a throwaway profile; None (after a loud message) when missing.
fn chromium(args: &[&str], profile: &Path) -> Option<std::process::Output> {
    let have = Command::new("chromium").arg("--version").output();
    if !have.is_ok_and(|o| o.status.success()) {
        loud_skip("chromium is not installed (.ci/run installs it): the report was NOT rendered");
        return None;
    }
    let out = Command::new("timeout")
        .arg("120")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("run chromium");
    Some(out)
}

#[test]
fn report_renders_in_headless_chromium() {
    let dir = TempDir::new("report-chromium");
    let html = dir.join("r.html");
    report_of(GAIM, &html);
    let url = format!("file://{}", html.display());
    let Some(dom) = chromium(&["--dump-dom", &url], &dir.join("profile1")) else {
        return;
    };
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("class=\"chart\"") && dom.contains("<polyline"),
        "no chart"
    );
    assert!(
        dom.contains("class=\"ladder\"") && dom.contains("#14"),
        "no ladder"
    );
    let png = dir.join("r.png");
    let shot = chromium(
        &[
            "--window-size=1280,1000",
            &format!("--screenshot={}", png.display()),
            &url,
        ],
        &dir.join("profile2"),
    )
    .unwrap();
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // A blank page compresses to a few kilobytes of few distinct values; text, chart and
    // ladder do not.
    let mut seen = [false; 256];
    bytes.iter().for_each(|b| seen[*b as usize] = true);
    let distinct = seen.iter().filter(|s| **s).count();
    assert!(
        bytes.len() > 30_000,
        "screenshot only {} bytes",
        bytes.len()
    );
    assert!(
        distinct > 200,
        "screenshot has {distinct} distinct byte values"
    );
}

/// The `--compare` table's rows: step name and mark ("A only", "B only" or empty).
/// Columns are two spaces or more apart; cells hold single spaces at most.
fn rows(text: &str) -> Vec<(String, String)> {
    text.lines()
        .skip(3)
        .map(|l| {
            let cells: Vec<&str> = l
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            let last = *cells.last().unwrap();
            let mark = if last == "A only" || last == "B only" {
                last
            } else {
                ""
            };
            (cells[0].to_string(), mark.to_string())
        })
        .collect()
}

fn compare(a: &str, b: &str, extra: &[&str]) -> String {
    let out = oftsniff()
        .args(["--compare", a, b])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The checks shared by the generated and the live pair: A direct, B proxied skip.
fn assert_proxy_steps_one_sided(text: &str) {
    let rows = rows(text);
    let row = |name: &str| {
        rows.iter()
            .find(|r| r.0 == name)
            .unwrap_or_else(|| panic!("no row {name}:\n{text}"))
    };
    for shared in [
        "TCP handshake",
        "FLAP PROPOSE",
        "FLAP ACCEPT",
        "PROMPT",
        "DONE",
    ] {
        assert!(
            row(shared).1.is_empty(),
            "{shared} not on both sides:\n{text}"
        );
    }
    for proxy_only in ["proxy INIT", "proxy ACK", "proxy READY", "TCP handshake #2"] {
        assert_eq!(row(proxy_only).1, "B only", "{proxy_only}:\n{text}");
    }
}

#[test]
fn compare_aligns_direct_and_proxied_skip_by_step() {
    let dir = TempDir::new("report-compare");
    let (d, p) = (dir.join("direct.pcap"), dir.join("skip.pcap"));
    for (name, path) in [("oft-direct", &d), ("oft-proxy-skip", &p)] {
        let st = Command::new(bins::oftgen())
            .arg(name)
            .arg(path)
            .output()
            .unwrap();
        assert!(st.status.success());
    }
    let a = format!("{}:T1", d.display());
    let b = format!("{}:T1", p.display());
    let html = dir.join("c.html");
    let text = compare(&a, &b, &["--report", html.to_str().unwrap()]);
    assert!(text.starts_with("A = ") && text.contains("direct") && text.contains("via proxy"));
    assert_proxy_steps_one_sided(&text);
    // The direct side moved the file; the skip did not.
    let data = rows(&text).into_iter().find(|r| r.0 == "data").unwrap();
    assert_eq!(data.1, "A only", "{text}");
    let page = std::fs::read_to_string(html).unwrap();
    assert!(page.contains("<table id=\"compare-table\">") && page.contains("B only"));
    // Both transfers are T1 of their own capture: each keeps its own section.
    assert!(page.contains("<section id=\"T1\">") && page.contains("<section id=\"T1-2\">"));
}

#[test]
fn compare_names_a_missing_transfer() {
    let out = oftsniff()
        .args(["--compare", &format!("{GAIM}:T1"), &format!("{GAIM}:T9")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("T9: no such transfer") && err.contains("found T1"),
        "{err}"
    );
}

/// Runs `oftpeer recv --have FILE` and `oftpeer send FILE` on the bed; `proxy`: the
/// sender goes through the ARS proxy.
fn skip_transfer(lan: &netns::Lan, n: usize, file: &Path, proxy: bool) {
    let bos = lan.bos();
    let f = file.to_str().unwrap();
    let out = lan.dir.join(format!("recv{n}"));
    std::fs::create_dir_all(&out).unwrap();
    let (rcv, snd) = (format!("bob{n}"), format!("alice{n}"));
    let recv = lan
        .bed
        .spawn(
            &lan.bed.receiver.ns,
            bins::oftpeer(),
            [
                "--timeout",
                "20",
                "recv",
                "--bos",
                &bos,
                "--sn",
                &rcv,
                "--out",
                out.to_str().unwrap(),
                "--have",
                f,
            ],
        )
        .expect("start recv");
    let proxy_addr = lan.proxy();
    let mut args = vec![
        "--timeout",
        "20",
        "send",
        "--bos",
        &bos,
        "--sn",
        &snd,
        "--to",
        &rcv,
    ];
    if proxy {
        args.extend(["--proxy", &proxy_addr]);
    }
    args.push(f);
    let send = lan
        .bed
        .run(
            &lan.bed.sender.ns,
            bins::oftpeer(),
            &args,
            Duration::from_secs(40),
        )
        .expect("run send");
    let recv = recv
        .wait_timeout(Duration::from_secs(40))
        .expect("wait recv");
    assert!(
        send.success() && recv.success(),
        "transfer {n}: send:\n{}\nrecv:\n{}",
        send.stderr,
        recv.stderr
    );
}

#[test]
fn live_direct_and_proxied_skip_compare_and_report() {
    if netns::skip_unless_root("live_direct_and_proxied_skip_compare_and_report") {
        return;
    }
    let lan = netns::Lan::up("report", bins::oftpeer());
    let pcap = lan.dir.join("cap.pcap");
    let html = lan.dir.join("live.html");
    let file = lan.dir.join("already-here.bin");
    std::fs::write(&file, vec![0x5a; 100_000]).unwrap();
    let (mon_ns, mon_if) = (lan.bed.monitor_ns.clone(), lan.bed.monitor_if.clone());
    let sniff = lan
        .bed
        .spawn(
            &mon_ns,
            env!("CARGO_BIN_EXE_oftsniff"),
            [
                "-i",
                &mon_if,
                "-q",
                "-w",
                pcap.to_str().unwrap(),
                "--with-rendezvous",
                "--report",
                html.to_str().unwrap(),
                "--report-interval",
                "1",
            ],
        )
        .expect("start oftsniff");
    wait_for_capture(&mon_ns, &mon_if);
    skip_transfer(&lan, 1, &file, false);
    skip_transfer(&lan, 2, &file, true);
    // The live report is rewritten while the capture runs.
    let start = Instant::now();
    while !std::fs::read_to_string(&html).is_ok_and(|p| p.contains("via proxy")) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "live report never showed the proxied transfer"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(1300));
    sniff.interrupt().expect("SIGINT");
    let out = sniff.wait_timeout(Duration::from_secs(60)).expect("wait");
    assert!(out.success(), "oftsniff: {}", out.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<section id=\"T1\">") && page.contains("<section id=\"T2\">"));
    let text = compare(
        &format!("{}:T1", pcap.display()),
        &format!("{}:T2", pcap.display()),
        &[],
    );
    eprintln!("{text}");
    assert_proxy_steps_one_sided(&text);
    // Neither side moved file data: the receiver answered the PROMPT with DONE.
    assert!(!text.lines().any(|l| l.starts_with("data ")), "{text}");
}

/// Waits until a packet socket is bound and running on `iface` in namespace `ns`.
fn wait_for_capture(ns: &str, iface: &str) {
    let read = |args: &[&str]| -> String {
        let o = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .output()
            .expect("ip netns exec");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let ifindex = read(&["cat", &format!("/sys/class/net/{iface}/ifindex")]);
    let ifindex = ifindex.trim();
    let start = Instant::now();
    loop {
        // Columns: sk RefCnt Type Proto Iface R Rmem User Inode
        let bound = read(&["cat", "/proc/net/packet"]).lines().skip(1).any(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            c.len() > 5 && c[4] == ifindex && c[5] == "1"
        });
        if bound {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "capture never started"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}
