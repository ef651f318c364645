//! Events a SIEM takes unchanged: every NDJSON line oftsniff writes for the bundled
//! captures is one JSON object whose `timestamp` is the RFC 3339 UTC form log shippers
//! take as `@timestamp` (and agrees with `ts`), and every `flow`/`transfer` carries a
//! Community ID. The shipped Filebeat and Vector configurations read those fields.

mod common;

use serde_json::Value;
use std::path::Path;

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, with each field in range.
fn is_rfc3339_micros(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap();
    b.len() == 27
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..26)
        && b[26] == b'Z'
        && (1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10))
        && num(11..13) < 24
        && num(14..16) < 60
        && num(17..19) < 60
}

/// Seconds since the epoch of a `timestamp`, from its time of day only (the date is
/// checked by shape); compared with `ts` modulo a day.
fn seconds_of_day(s: &str) -> f64 {
    let h: f64 = s[11..13].parse().unwrap();
    let m: f64 = s[14..16].parse().unwrap();
    let sec: f64 = s[17..26].parse().unwrap();
    h * 3600.0 + m * 60.0 + sec
}

fn check_line(line: &str, what: &str) -> Value {
    let v: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {line}"));
    assert!(v.is_object(), "{what}: {line}");
    let ts = v["ts"]
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: no ts: {line}"));
    let stamp = v["timestamp"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no timestamp: {line}"));
    assert!(is_rfc3339_micros(stamp), "{what}: {stamp}");
    let diff = (seconds_of_day(stamp) - ts.rem_euclid(86_400.0)).abs();
    assert!(diff < 2e-6, "{what}: {stamp} is not ts {ts}");
    if matches!(v["event"].as_str(), Some("flow")) {
        let id = v["community_id"].as_str().unwrap();
        assert!(id.starts_with("1:") && id.len() == 30, "{what}: {id}");
    }
    if matches!(v["event"].as_str(), Some("transfer")) {
        assert!(v.get("community_id").is_some(), "{what}: {line}");
    }
    v
}

#[test]
fn every_event_of_the_bundled_captures_has_a_shipper_timestamp() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut captures = 0;
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !(name.ends_with(".pcap") || name.ends_with(".pcapng")) {
            continue;
        }
        captures += 1;
        let out = common::oftsniff()
            .arg("-r")
            .arg(&path)
            .args(["--json", "-", "--workers", "2"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}");
        let text = String::from_utf8(out.stdout).unwrap();
        let evs: Vec<Value> = text.lines().map(|l| check_line(l, &name)).collect();
        assert!(evs.iter().any(|e| e["event"] == "stats"), "{name}");
    }
    assert!(captures >= 3, "the bundled captures were found");
}

#[test]
fn golden_ndjson_lines_have_shipper_timestamps() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for entry in std::fs::read_dir(golden).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ndjson") {
            let name = path.display().to_string();
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                check_line(line, &name);
            }
        }
    }
}

#[test]
fn gaim_transfer_timestamp_and_community_id() {
    let pcap = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gaim-sendfile-2005.pcap"
    );
    let out = common::oftsniff()
        .args(["-r", pcap, "--json", "-"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let t: Value = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["event"] == "transfer")
        .unwrap();
    assert_eq!(t["timestamp"], "2005-11-06T21:33:16.767049Z");
    // SHA-1 over seed 0, 4.254.84.74, 24.252.11.55, proto 6, pad, 5190, 60792 (the
    // smaller address first), computed independently with Python's hashlib.
    assert_eq!(t["community_id"], "1:AUKJT6VQboVKf/dWcdaCLVhEIgc=");
}

#[test]
fn shipper_configs_read_the_service_output_and_these_fields() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    for name in ["filebeat.yml", "vector.toml"] {
        let text = std::fs::read_to_string(docs.join(name)).unwrap();
        for needle in [
            "/var/lib/oftsniff/",
            "events.ndjson",
            "timestamp",
            "community_id",
        ] {
            assert!(text.contains(needle), "{name} mentions {needle}");
        }
    }
}
