//! A receiver that cancels in the middle of a file, live on the namespace LAN, direct and
//! through the proxy: `oftpeer recv --cancel-after` closes its data socket as libpurple does
//! (no DONE; the sender's segments still in flight meet RSTs) while `oftpeer send --rate`
//! keeps the transfer slow enough for the cancel to land mid-file.
//!
//! oftsniff's `bytes_sent`, `bytes_delivered` and `bytes_acked` for the file must equal what
//! tshark reads off tcpdump's capture of the same monitor port: the payload of each leg after
//! the PROMPT (`follow,tcp,raw`) and the receiver's highest ACK. Root only (skipped with a loud
//! message otherwise); tcpdump and tshark are installed by `.ci/run`.

#[path = "common/bins.rs"]
mod bins;
#[path = "common/netns.rs"]
mod netns;

use netns::{skip_unless_root, stop, wait_for_capturers, Lan};
use serde_json::Value;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const OFTSNIFF: &str = env!("CARGO_BIN_EXE_oftsniff");
const FILE_BYTES: usize = 3_000_000;
const CANCEL_AFTER: u64 = 400_000;
/// Bytes per second: the cancel lands about half a second into the data.
const RATE: &str = "800000";

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One direction of a TCP connection as tshark reassembles it.
#[derive(Clone)]
struct Leg {
    /// Payload bytes from `from` to the other end, in sequence order.
    bytes: Vec<u8>,
    /// tshark's stream index, to find the ACKs of the other direction.
    stream: String,
}

fn tshark(pcap: &Path, args: &[&str]) -> String {
    let o = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(args)
        .output()
        .expect("run tshark");
    assert!(o.status.success(), "tshark {args:?}");
    String::from_utf8(o.stdout).unwrap()
}

/// The bytes `from` sent to `to` on their one TCP connection, by `-z follow,tcp,raw`.
fn leg(pcap: &Path, from: Ipv4Addr, to: Ipv4Addr) -> Leg {
    let filter = format!("ip.addr=={from} && ip.addr=={to} && tcp.len>0");
    let streams = tshark(pcap, &["-Y", &filter, "-T", "fields", "-e", "tcp.stream"]);
    let stream = streams.lines().next().expect("a stream").trim().to_string();
    assert!(
        streams.lines().all(|l| l.trim() == stream),
        "one connection between {from} and {to}"
    );
    let text = tshark(pcap, &["-q", "-z", &format!("follow,tcp,raw,{stream}")]);
    // "Node 0: ip:port" is the side whose data lines are not indented.
    let node0 = text
        .lines()
        .find_map(|l| l.strip_prefix("Node 0: "))
        .expect("node 0");
    let want_indented = !node0.starts_with(&format!("{from}:"));
    let mut bytes = Vec::new();
    for l in text.lines() {
        let hex = l.trim();
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        if l.starts_with('\t') == want_indented {
            bytes.extend(
                (0..hex.len() / 2)
                    .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex")),
            );
        }
    }
    Leg { bytes, stream }
}

/// Where the file data starts in a leg: right after its first OFT header (the PROMPT).
fn data_start(leg: &Leg) -> usize {
    let at = leg
        .bytes
        .windows(4)
        .position(|w| w == b"OFT2")
        .expect("an OFT header on the leg");
    let len = u16::from_be_bytes([leg.bytes[at + 4], leg.bytes[at + 5]]) as usize;
    at + len
}

/// The file bytes `to` acknowledged on `leg`: its highest relative ACK, less the SYN and the
/// bytes before the data, capped at the data seen.
fn acked_on(pcap: &Path, leg: &Leg, to: Ipv4Addr) -> u64 {
    let filter = format!(
        "tcp.stream=={} && ip.src=={to} && tcp.flags.ack==1",
        leg.stream
    );
    let max = tshark(pcap, &["-Y", &filter, "-T", "fields", "-e", "tcp.ack"])
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .max()
        .expect("ACKs from the receiving end");
    let start = data_start(leg) as u64;
    let data = leg.bytes.len() as u64 - start;
    max.saturating_sub(1 + start).min(data)
}

fn file_event(events: &[Value]) -> &Value {
    let files: Vec<&Value> = events.iter().filter(|e| e["event"] == "file").collect();
    assert_eq!(files.len(), 1, "one file event: {files:?}");
    files[0]
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn cancelled_transfer(proxied: bool) {
    let tag = if proxied {
        "cancel-proxy"
    } else {
        "cancel-direct"
    };
    let lan = Lan::up(tag, bins::oftpeer());
    let json = lan.path("events.ndjson");
    let oracle = lan.path("tcpdump.pcap");
    let (mon_ns, mon_if) = (lan.bed.monitor_ns.clone(), lan.bed.monitor_if.clone());
    let mut sniff = lan
        .bed
        .spawn(
            &mon_ns,
            OFTSNIFF,
            ["-i", &mon_if, "-q", "--json", json.to_str().unwrap()],
        )
        .expect("start oftsniff");
    let mut dump = lan
        .bed
        .spawn(
            &mon_ns,
            "tcpdump",
            ["-i", &mon_if, "-n", "-B", "65536", "-Z", "root", "-w"]
                .into_iter()
                .chain([oracle.to_str().unwrap()]),
        )
        .expect("start tcpdump");
    wait_for_capturers(&mon_ns, &mon_if, 2, &mut [&mut sniff, &mut dump]);

    let (file, _) = lan.file("cancelled.bin", FILE_BYTES);
    let mut send = vec!["--rate".to_string(), RATE.to_string()];
    if proxied {
        send.extend(["--proxy".to_string(), lan.proxy()]);
    }
    send.push(file.to_str().unwrap().to_string());
    let recv = ["--cancel-after".to_string(), CANCEL_AFTER.to_string()];
    let (s, r) = lan.transfer(1, "43414e43454c2100", &send, &recv);
    assert!(s.stderr.contains("the receiver cancelled"), "{}", s.stderr);
    assert!(r.stderr.contains("--cancel-after"), "{}", r.stderr);
    // The last segments and RSTs reach both capturers (see live_lan's SETTLE).
    std::thread::sleep(Duration::from_millis(1300));
    let sniffed = stop(sniff, "oftsniff");
    stop(dump, "tcpdump");
    eprintln!("---- oftsniff ----\n{}", sniffed.stderr);

    let events: Vec<Value> = std::fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let f = file_event(&events);
    assert_eq!(f["status"], "truncated", "{f}");
    let (sent, delivered, acked) = (
        n(f, "bytes_sent"),
        n(f, "bytes_delivered"),
        n(f, "bytes_acked"),
    );

    let (snd, rcv) = (lan.bed.sender.ip, lan.bed.receiver.ip);
    // Direct, one connection is both legs; proxied, the sender's ends at the proxy.
    let (sender_leg, receiver_leg) = if proxied {
        let p = lan.bed.proxy.ip;
        (leg(&oracle, snd, p), leg(&oracle, p, rcv))
    } else {
        let l = leg(&oracle, snd, rcv);
        (l.clone(), l)
    };
    let wire_sent = (sender_leg.bytes.len() - data_start(&sender_leg)) as u64;
    let wire_delivered = (receiver_leg.bytes.len() - data_start(&receiver_leg)) as u64;
    let wire_acked = acked_on(&oracle, &receiver_leg, rcv);
    eprintln!(
        "[{tag}] oftsniff: sent={sent} delivered={delivered} acked={acked} \
         after_reset={}; tshark follow,tcp,raw: sender leg {wire_sent}, receiver leg \
         {wire_delivered}, receiver's ACKs {wire_acked}",
        f["bytes_after_reset"]
    );
    assert!(
        sent >= CANCEL_AFTER && sent < FILE_BYTES as u64,
        "sent={sent}"
    );
    assert_eq!(n(f, "bytes"), sent, "`bytes` is what the sender sent");
    assert_eq!(
        (sent, delivered, acked),
        (wire_sent, wire_delivered, wire_acked),
        "oftsniff's three counts against tshark's"
    );
    assert!(sent >= delivered && delivered >= acked);
}

#[test]
fn receiver_cancels_a_direct_transfer() {
    if skip_unless_root("receiver_cancels_a_direct_transfer") {
        return;
    }
    assert!(
        have("tcpdump") && have("tshark"),
        ".ci/run installs tcpdump and tshark"
    );
    cancelled_transfer(false);
}

#[test]
fn receiver_cancels_a_proxied_transfer() {
    if skip_unless_root("receiver_cancels_a_proxied_transfer") {
        return;
    }
    assert!(
        have("tcpdump") && have("tshark"),
        ".ci/run installs tcpdump and tshark"
    );
    cancelled_transfer(true);
}
