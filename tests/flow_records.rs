//! Flow records of the real captures in tests/data, checked against what Wireshark's
//! own TCP reassembly reports for the same streams, plus the `stats` record, `-c N` and
//! the independence of the result from the worker count.
//!
//! The expected numbers below were recorded once with TShark (Wireshark) 4.0.17
//! (4.0.17-0+deb12u3, Debian 12); when tshark is installed at test time they are derived
//! again live as a cross-check.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_oftsniff");

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// One TCP stream as tshark numbers it (`tcp.stream`), between endpoints `a` and `b`.
#[derive(Clone, Copy, Debug)]
struct StreamExpect {
    a: &'static str,
    b: &'static str,
    /// TCP payload bytes in order, `a` to `b` and back.
    a_to_b: u64,
    b_to_a: u64,
    /// Bytes never seen (sequence-number holes), `a` to `b` and back.
    gap_a_to_b: u64,
    gap_b_to_a: u64,
    /// The endpoint that sent the SYN (without ACK), if the capture holds one.
    syn_from: Option<&'static str>,
}

struct CaptureExpect {
    file: &'static str,
    /// `tshark -r FILE | wc -l`
    frames: u64,
    /// `tshark -r FILE -Y 'not tcp' | wc -l`
    non_tcp: u64,
    streams: &'static [StreamExpect],
}

// How these were obtained (tshark 4.0.17):
//   for N in $(tshark -r FILE -T fields -e tcp.stream | sort -un); do
//     tshark -r FILE -q -z follow,tcp,raw,N; done
// `a` is tshark's "Node 0", `b` its "Node 1". Unindented hex lines are Node 0 -> Node 1,
// tab-indented ones Node 1 -> Node 0; a_to_b/b_to_a are the decoded byte counts of each.
// syn_from: tshark -r FILE -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields
//   -e ip.src -e tcp.srcport.
//
// The nDPI capture has one hole per direction. tshark's follow output puts a text marker
// in place of each hole instead of bytes: "[9751 bytes missing in capture file]\0" (37
// bytes) in Node 0 -> Node 1 and "[61340 bytes missing in capture file]\0" (38 bytes) in
// Node 1 -> Node 0, so its raw totals are 1541 and 3984, and the payload counts are
// 1541 - 37 = 1504 and 3984 - 38 = 3946. The hole sizes come from the absolute sequence
// numbers, `tshark -r FILE -o tcp.relative_sequence_numbers:FALSE -T fields
// -e frame.number -e ip.src -e tcp.seq -e tcp.nxtseq -e tcp.len`:
//   client 10.30.29.3:63357: frame 25 ends at nxtseq 3181408426, the next client segment
//     (frame 26) starts at seq 3181418177: 3181418177 - 3181408426 = 9751 bytes;
//   server 178.237.24.249:443: frame 21 ends at nxtseq 4281332782, the next server segment
//     (frame 27) starts at seq 4281394122: 4281394122 - 4281332782 = 61340 bytes;
// 71091 bytes in all, matching the follow markers.
const CAPTURES: &[CaptureExpect] = &[
    CaptureExpect {
        file: "gaim-sendfile-2005.pcap",
        frames: 21,
        non_tcp: 2,
        streams: &[
            StreamExpect {
                a: "4.254.84.74:4834",
                b: "64.12.24.152:5190",
                a_to_b: 132,
                b_to_a: 154,
                gap_a_to_b: 0,
                gap_b_to_a: 0,
                syn_from: None,
            },
            StreamExpect {
                a: "24.252.11.55:60792",
                b: "4.254.84.74:5190",
                a_to_b: 512,
                b_to_a: 300,
                gap_a_to_b: 0,
                gap_b_to_a: 0,
                syn_from: Some("24.252.11.55:60792"),
            },
        ],
    },
    CaptureExpect {
        file: "gaim-chat-join-2005.pcap",
        frames: 70,
        non_tcp: 4,
        streams: &[
            StreamExpect {
                a: "4.254.81.237:4767",
                b: "64.12.25.88:5190",
                a_to_b: 292,
                b_to_a: 867,
                gap_a_to_b: 0,
                gap_b_to_a: 0,
                syn_from: None,
            },
            StreamExpect {
                a: "4.254.81.237:4884",
                b: "64.12.201.42:5190",
                a_to_b: 459,
                b_to_a: 1776,
                gap_a_to_b: 0,
                gap_b_to_a: 0,
                syn_from: Some("4.254.81.237:4884"),
            },
            StreamExpect {
                a: "4.254.81.237:4889",
                b: "205.188.176.89:5190",
                a_to_b: 437,
                b_to_a: 1123,
                gap_a_to_b: 0,
                gap_b_to_a: 0,
                syn_from: Some("4.254.81.237:4889"),
            },
        ],
    },
    CaptureExpect {
        file: "ndpi-icq-flap-2015.pcapng",
        frames: 71,
        non_tcp: 0,
        streams: &[StreamExpect {
            a: "10.30.29.3:63357",
            b: "178.237.24.249:443",
            a_to_b: 1504,
            b_to_a: 3946,
            gap_a_to_b: 9751,
            gap_b_to_a: 61340,
            syn_from: Some("10.30.29.3:63357"),
        }],
    },
];

/// The events of one run, split into flow records and the stats record.
struct RunOutput {
    flows: Vec<Value>,
    stats: Value,
}

fn run_oftsniff(file: &Path, extra: &[&str]) -> RunOutput {
    let out = Command::new(BIN)
        .arg("-r")
        .arg(file)
        .args(["--json", "-", "-q"])
        .args(extra)
        .output()
        .expect("run oftsniff");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} {extra:?}: exit {:?}: {stderr}",
        file.display(),
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let mut flows = Vec::new();
    let mut stats = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
        match v["event"].as_str() {
            Some("flow") => flows.push(v),
            Some("stats") => stats.push(v),
            _ => {}
        }
    }
    assert_eq!(stats.len(), 1, "one stats record, last");
    RunOutput {
        flows,
        stats: stats.pop().unwrap(),
    }
}

fn u(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

/// What a flow record says about one stream, oriented from `a` to `b` as in the table.
#[derive(Debug, PartialEq, Eq)]
struct Oriented {
    a_to_b: u64,
    b_to_a: u64,
    gap_bytes: u64,
}

/// Flow records keyed by their unordered endpoint pair.
fn flows_by_pair(flows: &[Value]) -> BTreeMap<BTreeSet<String>, &Value> {
    let mut map = BTreeMap::new();
    for f in flows {
        let pair: BTreeSet<String> = [s(f, "client").to_owned(), s(f, "server").to_owned()].into();
        assert!(
            map.insert(pair, f).is_none(),
            "one flow record per connection: {f}"
        );
    }
    map
}

fn oriented(flow: &Value, a: &str) -> Oriented {
    let (a_to_b, b_to_a) = if s(flow, "client") == a {
        (u(flow, "bytes_c2s"), u(flow, "bytes_s2c"))
    } else {
        (u(flow, "bytes_s2c"), u(flow, "bytes_c2s"))
    };
    Oriented {
        a_to_b,
        b_to_a,
        gap_bytes: u(flow, "gap_bytes"),
    }
}

fn pair(a: &str, b: &str) -> BTreeSet<String> {
    [a.to_owned(), b.to_owned()].into()
}

#[test]
fn per_direction_payload_bytes_equal_tshark_follow() {
    for cap in CAPTURES {
        let run = run_oftsniff(&data(cap.file), &[]);
        let by_pair = flows_by_pair(&run.flows);
        let want: BTreeSet<_> = cap.streams.iter().map(|st| pair(st.a, st.b)).collect();
        assert_eq!(
            by_pair.keys().cloned().collect::<BTreeSet<_>>(),
            want,
            "{}: one flow per tshark stream",
            cap.file
        );
        for st in cap.streams {
            let flow = by_pair[&pair(st.a, st.b)];
            assert_eq!(
                oriented(flow, st.a),
                Oriented {
                    a_to_b: st.a_to_b,
                    b_to_a: st.b_to_a,
                    gap_bytes: st.gap_a_to_b + st.gap_b_to_a,
                },
                "{}: {} <-> {}: {flow}",
                cap.file,
                st.a,
                st.b
            );
            match st.syn_from {
                Some(client) => {
                    assert_eq!(s(flow, "client"), client, "{}: SYN sender", cap.file);
                    assert_eq!(flow["midstream"], false, "{}: {flow}", cap.file);
                }
                None => assert_eq!(flow["midstream"], true, "{}: {flow}", cap.file),
            }
        }
    }
}

#[test]
fn ndpi_sequence_jumps_become_gaps_of_the_missing_size() {
    let cap = CAPTURES
        .iter()
        .find(|c| c.file.starts_with("ndpi"))
        .unwrap();
    let st = &cap.streams[0];
    let run = run_oftsniff(&data(cap.file), &[]);
    assert_eq!(run.flows.len(), 1);
    let flow = &run.flows[0];
    assert_eq!(s(flow, "client"), st.a);
    // One hole per direction, each reported once with its full length.
    assert_eq!(u(flow, "gaps"), 2, "{flow}");
    assert_eq!(
        u(flow, "gap_bytes"),
        st.gap_a_to_b + st.gap_b_to_a,
        "{flow}"
    );
    assert_eq!(u(&run.stats, "reassembly_gaps"), 2);
    assert_eq!(u(&run.stats, "gap_bytes"), st.gap_a_to_b + st.gap_b_to_a);
    assert_eq!(u(&run.stats, "overlaps_differing"), 0);
}

#[test]
fn stats_record_counts_frames_non_tcp_and_flows() {
    for cap in CAPTURES {
        let run = run_oftsniff(&data(cap.file), &[]);
        let st = &run.stats;
        assert_eq!(u(st, "frames_captured"), cap.frames, "{}", cap.file);
        assert_eq!(u(st, "non_tcp"), cap.non_tcp, "{}", cap.file);
        assert_eq!(
            u(st, "flows_seen"),
            cap.streams.len() as u64,
            "{}",
            cap.file
        );
        for zero in [
            "kernel_dropped",
            "queue_dropped",
            "undecodable",
            "ip_fragments",
            "flows_evicted",
        ] {
            assert_eq!(u(st, zero), 0, "{}: {zero}", cap.file);
        }
        let gaps: u64 = run.flows.iter().map(|f| u(f, "gaps")).sum();
        let gap_bytes: u64 = run.flows.iter().map(|f| u(f, "gap_bytes")).sum();
        assert_eq!(u(st, "reassembly_gaps"), gaps, "{}", cap.file);
        assert_eq!(u(st, "gap_bytes"), gap_bytes, "{}", cap.file);
        // The run ends at the last frame's packet time, and no flow ends after it.
        let ts = st["ts"].as_f64().unwrap();
        assert!(ts > 1e9, "{}: stats ts {ts}", cap.file);
        for f in &run.flows {
            assert!(f["ts"].as_f64().unwrap() <= ts, "{}: {f}", cap.file);
        }
    }
}

/// The records of `pcap` cut after `n` frames (classic little-endian pcap only).
fn first_frames(pcap: &[u8], n: usize) -> Vec<u8> {
    assert_eq!(&pcap[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
    let mut end = 24;
    for _ in 0..n {
        let incl = u32::from_le_bytes(pcap[end + 8..end + 12].try_into().unwrap()) as usize;
        end += 16 + incl;
    }
    pcap[..end].to_vec()
}

fn sorted_json(values: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = values.iter().map(Value::to_string).collect();
    v.sort();
    v
}

#[test]
fn count_stops_after_n_frames_as_if_the_file_ended_there() {
    static N: AtomicU32 = AtomicU32::new(0);
    let tmp = std::env::temp_dir().join(format!(
        "oftsniff-flows-{}-{}.pcap",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    for cap in CAPTURES.iter().filter(|c| c.file.ends_with(".pcap")) {
        let whole = std::fs::read(data(cap.file)).unwrap();
        for n in [1, 9, cap.frames as usize - 1] {
            let limited = run_oftsniff(&data(cap.file), &["-c", &n.to_string()]);
            assert_eq!(
                u(&limited.stats, "frames_captured"),
                n as u64,
                "{} -c {n}",
                cap.file
            );
            std::fs::write(&tmp, first_frames(&whole, n)).unwrap();
            let cut = run_oftsniff(&tmp, &[]);
            assert_eq!(
                sorted_json(&limited.flows),
                sorted_json(&cut.flows),
                "{} -c {n}",
                cap.file
            );
            assert_eq!(limited.stats, cut.stats, "{} -c {n}", cap.file);
        }
        let beyond = run_oftsniff(&data(cap.file), &["-c", "100000"]);
        assert_eq!(u(&beyond.stats, "frames_captured"), cap.frames);
    }
    let _ = std::fs::remove_file(&tmp);
}

#[test]
fn one_or_two_workers_give_the_same_flow_records() {
    for cap in CAPTURES {
        let one = run_oftsniff(&data(cap.file), &["--workers", "1"]);
        for workers in ["2", "3"] {
            let more = run_oftsniff(&data(cap.file), &["--workers", workers]);
            assert_eq!(
                sorted_json(&one.flows),
                sorted_json(&more.flows),
                "{} --workers {workers}",
                cap.file
            );
            assert_eq!(one.stats, more.stats, "{} --workers {workers}", cap.file);
        }
    }
}

#[test]
fn no_classify_gives_the_same_flow_records_and_no_transfer() {
    for cap in CAPTURES {
        let mut full = run_oftsniff(&data(cap.file), &[]);
        let mut pipe = run_oftsniff(&data(cap.file), &["--no-classify"]);
        assert_eq!(
            sorted_json(&full.flows),
            sorted_json(&pipe.flows),
            "{}",
            cap.file
        );
        // What it reassembled is every byte the flows delivered in order.
        let delivered: u64 = pipe
            .flows
            .iter()
            .map(|f| u(f, "bytes_c2s") + u(f, "bytes_s2c"))
            .sum();
        assert_eq!(
            u(&pipe.stats, "no_classify_bytes"),
            delivered,
            "{}",
            cap.file
        );
        assert_eq!(u(&full.stats, "no_classify_bytes"), 0, "{}", cap.file);
        // The same counters, but those of recognition, which --no-classify does not do.
        for stats in [&mut full.stats, &mut pipe.stats] {
            let stats = stats.as_object_mut().unwrap();
            for recognition in [
                "data_conns",
                "flap_conns",
                "bytes_discarded",
                "no_classify_bytes",
            ] {
                stats.remove(recognition);
            }
        }
        assert_eq!(full.stats, pipe.stats, "{}", cap.file);
    }
    let out = Command::new(BIN)
        .arg("-r")
        .arg(data("gaim-sendfile-2005.pcap"))
        .args(["--no-classify", "--json", "-"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("\"transfer\""), "{text}");
    // Recognition-only outputs make no sense without recognition.
    let refused = Command::new(BIN)
        .arg("-r")
        .arg(data("gaim-sendfile-2005.pcap"))
        .args(["--no-classify", "-w", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
}

// ---- live cross-check against tshark -------------------------------------------------

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark").args(args).output().expect("tshark");
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// tshark's stand-in for a hole in a follow stream: "[N bytes missing in capture file]\0".
fn missing_marker(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes.strip_suffix(b"\0")?).ok()?;
    text.strip_prefix('[')?
        .strip_suffix(" bytes missing in capture file]")?
        .parse()
        .ok()
}

/// One stream as `tshark -z follow,tcp,raw,N` reports it.
fn tshark_follow(file: &str, stream: u32) -> StreamDerived {
    let text = tshark(&["-r", file, "-q", "-z", &format!("follow,tcp,raw,{stream}")]);
    let mut d = StreamDerived::default();
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("Node 0: ") {
            d.a = n.to_owned();
        } else if let Some(n) = line.strip_prefix("Node 1: ") {
            d.b = n.to_owned();
        } else if line.trim().chars().all(|c| c.is_ascii_hexdigit()) && !line.trim().is_empty() {
            let bytes = hex_bytes(line.trim());
            let from_b = line.starts_with('\t');
            let (data, gap) = match missing_marker(&bytes) {
                Some(n) => (0, n),
                None => (bytes.len() as u64, 0),
            };
            if from_b {
                d.b_to_a += data;
                d.gap_b_to_a += gap;
            } else {
                d.a_to_b += data;
                d.gap_a_to_b += gap;
            }
        }
    }
    d
}

#[derive(Debug, Default, PartialEq, Eq)]
struct StreamDerived {
    a: String,
    b: String,
    a_to_b: u64,
    b_to_a: u64,
    gap_a_to_b: u64,
    gap_b_to_a: u64,
}

/// Holes per sending endpoint from raw sequence numbers: each data segment starting past
/// the highest byte seen so far from its sender leaves a hole of the difference.
fn tshark_seq_holes(file: &str) -> BTreeMap<String, u64> {
    let text = tshark(&[
        "-r",
        file,
        "-Y",
        "tcp",
        "-o",
        "tcp.relative_sequence_numbers:FALSE",
        "-T",
        "fields",
        "-e",
        "ip.src",
        "-e",
        "tcp.srcport",
        "-e",
        "tcp.seq",
        "-e",
        "tcp.len",
        "-e",
        "tcp.flags.syn",
    ]);
    let mut next: BTreeMap<String, u32> = BTreeMap::new();
    let mut holes: BTreeMap<String, u64> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let from = format!("{}:{}", f[0], f[1]);
        let seq: u32 = f[2].parse().unwrap();
        let len: u32 = f[3].parse().unwrap();
        let syn = f[4] == "1" || f[4] == "True";
        if len == 0 && !syn {
            // Pure ACKs carry the next sequence number, not bytes: they fill no hole.
            continue;
        }
        let end = seq.wrapping_add(len).wrapping_add(syn as u32);
        match next.get_mut(&from) {
            None => {
                next.insert(from.clone(), end);
            }
            Some(n) => {
                let ahead = seq.wrapping_sub(*n) as i32;
                if ahead > 0 {
                    *holes.entry(from.clone()).or_default() += ahead as u64;
                }
                if (end.wrapping_sub(*n) as i32) > 0 {
                    *n = end;
                }
            }
        }
    }
    holes
}

#[test]
fn recorded_numbers_agree_with_tshark_run_now() {
    if !tshark_available() {
        eprintln!(
            "\n*** SKIPPED recorded_numbers_agree_with_tshark_run_now: tshark is not \
             installed (apt-get install tshark); the recorded numbers are still checked by \
             the other tests. ***\n"
        );
        return;
    }
    for cap in CAPTURES {
        let path = data(cap.file);
        let file = path.to_str().unwrap();
        let frames = tshark(&["-r", file, "-T", "fields", "-e", "frame.number"]);
        assert_eq!(frames.lines().count() as u64, cap.frames, "{}", cap.file);
        let non_tcp = tshark(&[
            "-r",
            file,
            "-Y",
            "not tcp",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ]);
        assert_eq!(non_tcp.lines().count() as u64, cap.non_tcp, "{}", cap.file);
        let streams: BTreeSet<u32> =
            tshark(&["-r", file, "-Y", "tcp", "-T", "fields", "-e", "tcp.stream"])
                .lines()
                .map(|l| l.trim().parse().unwrap())
                .collect();
        assert_eq!(streams.len(), cap.streams.len(), "{}", cap.file);
        let holes = tshark_seq_holes(file);
        let syn_senders: BTreeSet<String> = tshark(&[
            "-r",
            file,
            "-Y",
            "tcp.flags.syn==1 && tcp.flags.ack==0",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "tcp.srcport",
        ])
        .lines()
        .map(|l| l.replace('\t', ":"))
        .collect();

        let run = run_oftsniff(&path, &[]);
        let by_pair = flows_by_pair(&run.flows);
        for (stream, st) in streams.iter().zip(cap.streams) {
            let live = tshark_follow(file, *stream);
            let recorded = StreamDerived {
                a: st.a.into(),
                b: st.b.into(),
                a_to_b: st.a_to_b,
                b_to_a: st.b_to_a,
                gap_a_to_b: st.gap_a_to_b,
                gap_b_to_a: st.gap_b_to_a,
            };
            assert_eq!(live, recorded, "{} stream {stream}", cap.file);
            assert_eq!(
                holes.get(st.a).copied().unwrap_or(0),
                st.gap_a_to_b,
                "{}: holes from {}",
                cap.file,
                st.a
            );
            assert_eq!(
                holes.get(st.b).copied().unwrap_or(0),
                st.gap_b_to_a,
                "{}: holes from {}",
                cap.file,
                st.b
            );
            let syn = [st.a, st.b].into_iter().find(|e| syn_senders.contains(*e));
            assert_eq!(syn, st.syn_from, "{}: SYN sender", cap.file);

            let flow = by_pair[&pair(&live.a, &live.b)];
            assert_eq!(
                oriented(flow, &live.a),
                Oriented {
                    a_to_b: live.a_to_b,
                    b_to_a: live.b_to_a,
                    gap_bytes: live.gap_a_to_b + live.gap_b_to_a,
                },
                "{} stream {stream}: {flow}",
                cap.file
            );
        }
    }
}
