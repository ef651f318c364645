//! End-to-end recognition: the built `oftsniff` binary reads real captures and captures
//! synthesized by `oft_testkit::gen::oft` (every protocol byte from the project's emitters),
//! and its NDJSON must tell each transfer's story: phases in order per data connection,
//! files with the right name/size/status/sha256/checksum, one transfer per cookie with
//! both proxy legs, roles and screen names. Damaged variants of each capture (reordered,
//! duplicated, PROMPT split 100 + rest) must produce the same report.
//!
//! Set OFTSNIFF_KEEP_PCAPS=DIR to keep the generated captures for inspection.

use oft_testkit::gen::oft::{self, GenFile, Kind, OftCapture, Variant};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
/// A scratch directory removed on drop.
use common::TempDir as Dir;

/// Runs oftsniff on `pcap` and returns its events. `workers`: None for the default.
fn run(pcap: &Path, workers: Option<usize>) -> Vec<Value> {
    let json = pcap.with_extension(format!("w{}.json", workers.unwrap_or(0)));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oftsniff"));
    cmd.arg("-r").arg(pcap).arg("--json").arg(&json).arg("-q");
    if let Some(n) = workers {
        cmd.arg("--workers").arg(n.to_string());
    }
    let out = cmd.output().expect("run oftsniff");
    assert!(
        out.status.success(),
        "oftsniff failed on {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&json).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad NDJSON line {l}: {e}")))
        .collect()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Phase names per data connection ("conn" label), in output order.
fn phases_by_conn(events: &[Value]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in of_kind(events, "phase") {
        m.entry(s(&e["conn"]).to_string())
            .or_default()
            .push(s(&e["phase"]).to_string());
    }
    m
}

/// Everything in the report that does not depend on capture timing or frame numbering:
/// phases (with their fields) per connection, files, transfers, rendezvous messages.
fn normalized(events: &[Value]) -> Value {
    const TIMING: &[&str] = &[
        "ts",
        "timestamp",
        "frame",
        "start",
        "end",
        "duration_s",
        "rate_bps",
        "wire_duration_s",
        "first_data_ts",
        "last_data_ts",
    ];
    let strip = |e: &Value| {
        let mut e = e.clone();
        if let Some(o) = e.as_object_mut() {
            for k in TIMING {
                o.remove(*k);
            }
        }
        e
    };
    let mut by_conn: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for e in of_kind(events, "phase") {
        by_conn
            .entry(s(&e["conn"]).to_string())
            .or_default()
            .push(strip(e));
    }
    let sorted = |kind: &str| {
        let mut v: Vec<Value> = of_kind(events, kind).into_iter().map(strip).collect();
        v.sort_by_key(|x| x.to_string());
        Value::Array(v)
    };
    serde_json::json!({
        "phases": by_conn,
        "files": sorted("file"),
        "transfers": sorted("transfer"),
        "rendezvous": sorted("rendezvous"),
    })
}

// ---- real captures ----------------------------------------------------------------

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn gaim_2005_sendfile_is_one_complete_transfer_with_its_rendezvous() {
    for workers in [Some(1), None] {
        let dir = Dir::new(&format!("gaim-{}", workers.unwrap_or(0)));
        // Copy so the JSON lands in the scratch directory, not in tests/data.
        let pcap = dir.0.join("gaim-sendfile-2005.pcap");
        std::fs::copy(data("gaim-sendfile-2005.pcap"), &pcap).unwrap();
        let ev = run(&pcap, workers);
        let transfers = of_kind(&ev, "transfer");
        assert_eq!(transfers.len(), 1, "{workers:?}: {transfers:?}");
        let t = transfers[0];
        let id = s(&t["transfer"]);
        let phases: Vec<&str> = of_kind(&ev, "phase")
            .iter()
            .map(|p| s(&p["phase"]))
            .collect();
        assert_eq!(
            phases,
            [
                "tcp_handshake",
                "prompt",
                "ack",
                "data_start",
                "data_end",
                "done",
                "close"
            ]
        );
        let files = of_kind(&ev, "file");
        assert_eq!(files.len(), 1);
        let f = files[0];
        assert_eq!(f["name"], "howdoisentfile.txt");
        assert_eq!(f["size"], 44);
        assert_eq!(f["bytes"], 44);
        assert_eq!(f["status"], "complete");
        assert_eq!(f["checksum_seen"], "0xefcb0000");
        assert_eq!(f["checksum_ok"], true);
        assert_eq!(t["sender"], "4.254.84.74:5190");
        assert_eq!(t["cookie"], "3130343635303200");
        let rv = of_kind(&ev, "rendezvous");
        let kinds: Vec<&str> = rv.iter().map(|r| s(&r["type"])).collect();
        assert!(
            kinds.contains(&"propose") && kinds.contains(&"accept"),
            "{kinds:?}"
        );
        for r in rv {
            assert_eq!(r["cookie"], "3130343635303200");
            assert_eq!(r["transfer"], id, "rendezvous attached to the transfer");
        }
        for p in of_kind(&ev, "phase") {
            assert_eq!(p["transfer"], id);
        }
    }
}

#[test]
fn captures_without_file_transfers_report_none() {
    for name in ["gaim-chat-join-2005.pcap", "ndpi-icq-flap-2015.pcapng"] {
        for workers in [Some(1), None] {
            let dir = Dir::new(&format!("neg-{}", workers.unwrap_or(0)));
            let pcap = dir.0.join(name);
            std::fs::copy(data(name), &pcap).unwrap();
            let ev = run(&pcap, workers);
            for kind in ["phase", "file", "transfer"] {
                assert!(
                    of_kind(&ev, kind).is_empty(),
                    "{name}: unexpected {kind} events: {:?}",
                    of_kind(&ev, kind)
                );
            }
        }
    }
}

// ---- synthesized scenarios --------------------------------------------------------

const DIRECT: &[&str] = &[
    "tcp_handshake",
    "prompt",
    "ack",
    "data_start",
    "data_end",
    "done",
    "close",
];
const PROXY_CREATOR: &[&str] = &[
    "tcp_handshake",
    "proxy_init_send",
    "proxy_ack",
    "proxy_ready",
    "prompt",
    "ack",
    "data_start",
    "data_end",
    "done",
    "close",
];
const PROXY_JOINER: &[&str] = &[
    "tcp_handshake",
    "proxy_init_recv",
    "proxy_ready",
    "prompt",
    "ack",
    "data_start",
    "data_end",
    "done",
    "close",
];

/// What a scenario should produce, beyond what `OftCapture` itself records.
struct Expect {
    /// Phase sequence of each data connection (any order between connections).
    legs: Vec<Vec<&'static str>>,
    statuses: Vec<&'static str>,
    proxy_creator: Option<&'static str>,
    cancelled: bool,
}

fn seq(parts: &[&[&'static str]]) -> Vec<&'static str> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

fn expect(kind: Kind) -> Option<Expect> {
    let direct = |statuses| Expect {
        legs: vec![DIRECT.to_vec()],
        statuses,
        proxy_creator: None,
        cancelled: false,
    };
    Some(match kind {
        Kind::Direct
        | Kind::DirectChat
        | Kind::Reversed
        | Kind::Utf16Long
        | Kind::Port80
        | Kind::Port443 => direct(vec!["complete"]),
        Kind::Flap443 => direct(vec!["complete"]),
        Kind::ProxyStage1 | Kind::ProxyStage2 => Expect {
            legs: vec![PROXY_CREATOR.to_vec(), PROXY_JOINER.to_vec()],
            statuses: vec!["complete"],
            proxy_creator: Some(if kind == Kind::ProxyStage1 {
                "sender"
            } else {
                "receiver"
            }),
            cancelled: false,
        },
        Kind::ProxySkip => {
            let skip = |leg: &[&'static str]| -> Vec<&'static str> {
                leg.iter()
                    .copied()
                    .filter(|p| !matches!(*p, "ack" | "data_start" | "data_end"))
                    .collect()
            };
            Expect {
                legs: vec![skip(PROXY_CREATOR), skip(PROXY_JOINER)],
                statuses: vec!["skipped"],
                proxy_creator: Some("sender"),
                cancelled: false,
            }
        }
        Kind::Resume => Expect {
            legs: vec![seq(&[
                &[
                    "tcp_handshake",
                    "prompt",
                    "resume",
                    "resume_accept",
                    "resume_ack",
                ],
                &["data_start", "data_end", "done", "close"],
            ])],
            statuses: vec!["resumed"],
            proxy_creator: None,
            cancelled: false,
        },
        Kind::Folder => {
            let file: &[&str] = &["prompt", "ack", "data_start", "data_end", "done"];
            Expect {
                legs: vec![seq(&[&["tcp_handshake"], file, file, file, &["close"]])],
                statuses: vec!["complete"; 3],
                proxy_creator: None,
                cancelled: false,
            }
        }
        Kind::RstMidData => Expect {
            legs: vec![vec![
                "tcp_handshake",
                "prompt",
                "ack",
                "data_start",
                "close",
            ]],
            statuses: vec!["truncated"],
            proxy_creator: None,
            cancelled: true,
        },
        // Covered by tests/getfile.rs (its own phases).
        Kind::NearmissHttp | Kind::NearmissProxyGarbage | Kind::GetFile => return None,
    })
}

fn check_file(f: &Value, g: &GenFile, status: &str, ctx: &str) {
    assert_eq!(f["name"], g.name.as_str(), "{ctx}");
    assert_eq!(f["size"], g.data.len() as u64, "{ctx}");
    assert_eq!(f["status"], status, "{ctx}");
    assert_eq!(f["bytes"], g.sent, "{ctx}");
    assert_eq!(f["offset"], g.offset, "{ctx}");
    match status {
        "complete" | "resumed" => {
            assert_eq!(f["sha256"], sha256_hex(g.on_wire()), "{ctx}: sha256");
            assert_eq!(f["checksum_ok"], true, "{ctx}: checksum_ok");
            assert_eq!(f["checksum_seen"], f["checksum_expected"], "{ctx}");
        }
        "truncated" => {
            assert_eq!(f["sha256"], sha256_hex(g.on_wire()), "{ctx}: sha256");
            assert_eq!(f["checksum_ok"], Value::Null, "{ctx}: checksum_ok");
        }
        "skipped" => {
            assert_eq!(f["sha256"], Value::Null, "{ctx}");
        }
        other => panic!("unexpected expected status {other}"),
    }
}

/// Checks one run's report of `cap` against the scenario's expectations.
fn check(name: &str, cap: &OftCapture, ev: &[Value], ex: &Option<Expect>) {
    let Some(ex) = ex else {
        for kind in ["phase", "file", "transfer"] {
            assert!(
                of_kind(ev, kind).is_empty(),
                "{name}: near-miss produced {kind} events: {:?}",
                of_kind(ev, kind)
            );
        }
        return;
    };
    let transfers = of_kind(ev, "transfer");
    assert_eq!(transfers.len(), 1, "{name}: {transfers:#?}");
    let t = transfers[0];
    let id = s(&t["transfer"]);
    for e in ev.iter().filter(|e| e.get("transfer").is_some()) {
        assert_eq!(e["transfer"], id, "{name}: event of another transfer: {e}");
    }

    let mut got: Vec<Vec<String>> = phases_by_conn(ev).into_values().collect();
    let mut want: Vec<Vec<String>> = ex
        .legs
        .iter()
        .map(|l| l.iter().map(|p| p.to_string()).collect())
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{name}: phases per connection");

    // Each connection's PROMPTs name the files in order, files_left counting down.
    let n = cap.files.len() as u64;
    let mut prompts: BTreeMap<String, Vec<(String, u64, u64)>> = BTreeMap::new();
    for p in of_kind(ev, "phase")
        .into_iter()
        .filter(|p| p["phase"] == "prompt")
    {
        assert_eq!(p["files_total"], n, "{name}: {p}");
        prompts.entry(s(&p["conn"]).to_string()).or_default().push((
            s(&p["name"]).to_string(),
            p["size"].as_u64().unwrap(),
            p["files_left"].as_u64().unwrap(),
        ));
    }
    let want_prompts: Vec<(String, u64, u64)> = cap
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), f.data.len() as u64, n - i as u64))
        .collect();
    for (conn, got) in &prompts {
        assert_eq!(got, &want_prompts, "{name}: PROMPTs on {conn}");
    }
    // The proxy token is one value wherever it shows (ACK to the creator, INIT_RECV).
    let mut tokens: Vec<u64> = of_kind(ev, "phase")
        .iter()
        .filter_map(|p| p["token"].as_u64())
        .collect();
    tokens.dedup();
    assert!(tokens.len() <= 1, "{name}: tokens {tokens:?}");
    assert_eq!(!tokens.is_empty(), ex.proxy_creator.is_some(), "{name}");

    let files = of_kind(ev, "file");
    assert_eq!(files.len(), cap.files.len(), "{name}: {files:#?}");
    for ((f, g), status) in files.iter().zip(&cap.files).zip(&ex.statuses) {
        check_file(f, g, status, name);
        assert_eq!(
            f["sender"].as_str(),
            cap.sender.as_deref(),
            "{name}: file sender"
        );
        assert_eq!(
            f["receiver"].as_str(),
            cap.receiver.as_deref(),
            "{name}: file receiver"
        );
    }

    assert_eq!(t["kind"], "file", "{name}");
    assert_eq!(t["cookie"], cap.cookie.to_string(), "{name}");
    assert_eq!(t["proxied"], ex.proxy_creator.is_some(), "{name}");
    assert_eq!(t["proxy"].as_str(), cap.proxy.as_deref(), "{name}");
    assert_eq!(t["proxy_creator"].as_str(), ex.proxy_creator, "{name}");
    assert_eq!(t["legs"].as_array().unwrap().len(), ex.legs.len(), "{name}");
    assert_eq!(
        t["sender"].as_str(),
        cap.sender.as_deref(),
        "{name}: sender"
    );
    assert_eq!(
        t["receiver"].as_str(),
        cap.receiver.as_deref(),
        "{name}: receiver"
    );
    assert_eq!(t["sender_name"], cap.sender_name, "{name}: sender_name");
    assert_eq!(
        t["receiver_name"], cap.receiver_name,
        "{name}: receiver_name"
    );
    assert_eq!(t["files"], cap.files.len() as u64, "{name}");
    let bytes: u64 = cap.files.iter().map(|f| f.sent).sum();
    assert_eq!(t["bytes"], bytes, "{name}");
    assert_eq!(t["cancelled"], ex.cancelled, "{name}");

    let rv = of_kind(ev, "rendezvous");
    assert!(
        rv.iter().any(|r| r["type"] == "propose") && rv.iter().any(|r| r["type"] == "accept"),
        "{name}: rendezvous {rv:#?}"
    );
    for r in rv {
        assert_eq!(r["cookie"], cap.cookie.to_string(), "{name}");
    }
}

const VARIANTS: &[(&str, Variant)] = &[
    ("plain", Variant::PLAIN),
    ("reordered", Variant::REORDERED),
    ("duplicated", Variant::DUPLICATED),
    ("split-prompt", Variant::SPLIT_PROMPT),
    ("all", Variant::ALL),
];

/// Generates every variant of `name` (two seeds), runs oftsniff with one and with the
/// default number of workers, checks each report, and requires them all to equal the
/// plain capture's.
fn scenario(name: &str) {
    let kind = oft::kind_by_name(name).expect("scenario exists");
    let ex = expect(kind);
    let dir = Dir::new(name);
    let keep = std::env::var_os("OFTSNIFF_KEEP_PCAPS").map(PathBuf::from);
    for seed in [1, 2] {
        let mut reference: Option<Value> = None;
        for &(vname, v) in VARIANTS {
            let mut cap = oft::build(kind, seed, v);
            let pcap = dir.0.join(format!("{name}-{seed}-{vname}.pcap"));
            std::mem::take(&mut cap.pcap).write_file(&pcap).unwrap();
            if let Some(k) = &keep {
                std::fs::create_dir_all(k).unwrap();
                std::fs::copy(&pcap, k.join(pcap.file_name().unwrap())).unwrap();
            }
            for workers in [Some(1), None] {
                let ctx = format!("{name} [seed {seed}, {vname}, workers {workers:?}]");
                let ev = run(&pcap, workers);
                check(&ctx, &cap, &ev, &ex);
                let n = normalized(&ev);
                match &reference {
                    None => reference = Some(n),
                    Some(r) => assert_eq!(
                        &n, r,
                        "{ctx}: report differs from the plain capture's\n got: {n:#}\nwant: {r:#}"
                    ),
                }
            }
        }
    }
}

#[test]
fn oft_direct() {
    scenario("oft-direct");
}
#[test]
fn oft_reversed() {
    scenario("oft-reversed");
}
#[test]
fn oft_proxy_stage1() {
    scenario("oft-proxy-stage1");
}
#[test]
fn oft_proxy_stage2() {
    scenario("oft-proxy-stage2");
}
#[test]
fn oft_proxy_skip() {
    scenario("oft-proxy-skip");
}
#[test]
fn oft_resume() {
    scenario("oft-resume");
}
#[test]
fn oft_folder() {
    scenario("oft-folder");
}
#[test]
fn oft_utf16_long() {
    scenario("oft-utf16-long");
}
#[test]
fn oft_rst_mid_data() {
    scenario("oft-rst-mid-data");
}
#[test]
fn oft_port80() {
    scenario("oft-port80");
}
#[test]
fn oft_port443() {
    scenario("oft-port443");
}
#[test]
fn oft_flap_443() {
    scenario("oft-flap-443");
}
#[test]
fn nearmiss_http_oft2() {
    scenario("nearmiss-http-oft2");
}
#[test]
fn nearmiss_proxy_garbage() {
    scenario("nearmiss-proxy-garbage");
}

#[test]
fn every_oft_scenario_has_a_test() {
    let src = include_str!("oft_scenarios.rs");
    for (name, _) in oft::KINDS {
        assert!(
            src.contains(&format!("scenario(\"{name}\")")),
            "{name} has no test"
        );
    }
}
