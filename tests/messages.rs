//! `--messages` (issue 11 §6): channel-1 instant messages of the OSCAR connections as
//! `message` events, linked to the transfer between the same two screen names; off by
//! default. A generated conversation around a direct transfer, and the IMs of the two
//! bundled real captures that carry some.

mod common;

use common::{of_kind, run_json, TempDir};
use oft_testkit::gen::oft::{self, Kind, Variant};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn chat_capture(dir: &TempDir) -> PathBuf {
    let p = dir.join("chat.pcap");
    oft::build(Kind::DirectChat, 3, Variant::PLAIN)
        .pcap
        .write_file(&p)
        .unwrap();
    p
}

/// (transfer, relation, from, to, text) of each message event, in output order.
fn summary(evs: &[Value]) -> Vec<Value> {
    of_kind(evs, "message")
        .iter()
        .map(|m| json!([m["transfer"], m["relation"], m["from"], m["to"], m["text"]]))
        .collect()
}

/// The readable log of a run.
fn log_of(pcap: &Path, extra: &[&str]) -> String {
    let mut args = vec!["-r".as_ref(), pcap.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    String::from_utf8_lossy(&common::run_ok(&args).stdout).into_owned()
}

#[test]
fn messages_are_off_by_default() {
    let dir = TempDir::new("msg-off");
    let pcap = chat_capture(&dir);
    let (evs, _) = run_json(&pcap, &[]);
    assert!(of_kind(&evs, "message").is_empty());
    assert_eq!(of_kind(&evs, "file").len(), 1);
    let log = log_of(&pcap, &[]);
    assert!(
        !log.contains("lunch") && !log.contains(" message "),
        "{log}"
    );
    let log = log_of(&pcap, &["--messages"]);
    assert!(
        log.contains(r#"message         incoming          "carol.k" -> "?" text="lunch?""#),
        "{log}"
    );
    assert!(
        log.contains(r#"T1   message         outgoing          "bob198" -> "alice198" (after the transfer) text="merci, reçu!""#),
        "{log}"
    );
}

#[test]
fn conversation_around_a_transfer_is_linked_to_it() {
    let dir = TempDir::new("msg-chat");
    let (evs, _) = run_json(&chat_capture(&dir), &["--messages"]);
    let (a, b) = ("alice198", "bob198");
    let sent = "here is the report & the figures";
    let ok = "ok, send it \u{2713}";
    let thanks = "merci, re\u{e7}u!";
    // Each IM twice: the author's 4/6 and the recipient's 4/7. The messages before the
    // PROPOSE wait for it, each FLAP connection's for the PROPOSE on it (the sender's
    // first); the stranger's, tied to no transfer, waits until the end. A client's own
    // screen name is known once the transfer has learned it.
    assert_eq!(
        summary(&evs),
        vec![
            json!(["T1", "before", null, b, sent]),
            json!(["T1", "before", b, null, ok]),
            json!(["T1", "before", a, b, sent]),
            json!(["T1", "before", b, a, ok]),
            json!(["T1", "after", b, a, thanks]),
            json!(["T1", "after", b, a, thanks]),
            json!([null, null, "carol.k", null, "lunch?"]),
        ]
    );
    let msgs = of_kind(&evs, "message");
    let first = msgs[0];
    assert_eq!(first["direction"], "outgoing");
    assert_eq!(first["snac"], "4/6");
    assert_eq!(
        first["raw"],
        "<HTML><BODY>here is the <B>report</B> &amp; the figures</BODY></HTML>"
    );
    assert_eq!(first["charset"], "ascii");
    assert_eq!(msgs[3]["charset"], "unicode");
    assert_eq!(msgs[4]["charset"], "latin1");
    assert_eq!(msgs[2]["direction"], "incoming");
    // Time order among the messages themselves, and against the rendezvous.
    let ts = |m: &Value| m["ts"].as_f64().unwrap();
    let propose = of_kind(&evs, "rendezvous")[0];
    assert!(msgs[..4].iter().all(|m| ts(m) < ts(propose)));
    assert!(msgs[4..6].iter().all(|m| ts(m) > ts(propose)));
}

#[test]
fn without_a_wait_earlier_messages_stay_unlinked() {
    let dir = TempDir::new("msg-nowait");
    let (evs, log) = run_json(
        &chat_capture(&dir),
        &["--messages", "--message-link-secs", "0"],
    );
    let s = summary(&evs);
    assert_eq!(s.len(), 7, "{log}");
    let linked: Vec<&Value> = s.iter().filter(|m| m[0] == "T1").collect();
    assert_eq!(linked.len(), 2, "only the thanks after the transfer: {s:?}");
    // Unlinked messages are written at once, in time order.
    let ts: Vec<f64> = of_kind(&evs, "message")
        .iter()
        .map(|m| m["ts"].as_f64().unwrap())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
}

/// A bundled capture, copied to `dir` (the run writes its events beside it).
fn bundled(dir: &TempDir, name: &str) -> PathBuf {
    let p = dir.join(name);
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::copy(src, &p).unwrap();
    p
}

#[test]
fn real_gaim_and_icq_messages() {
    let dir = TempDir::new("msg-real");
    let (evs, log) = run_json(&bundled(&dir, "gaim-chat-join-2005.pcap"), &["--messages"]);
    let m = of_kind(&evs, "message");
    assert_eq!(m.len(), 1, "{log}");
    assert_eq!(m[0]["frame"], 5);
    assert_eq!(m[0]["to"], "HippoPete");
    assert_eq!(
        m[0]["text"],
        "Hey, do me a favor...use AIM to invite me to a chat, please"
    );
    let (evs, log) = run_json(&bundled(&dir, "ndpi-icq-flap-2015.pcapng"), &["--messages"]);
    let m = of_kind(&evs, "message");
    assert_eq!(m.len(), 2, "{log}");
    assert_eq!(
        m[0]["raw"],
        "<HTML><BODY><HTML><FONT>HI!</FONT></HTML></BODY></HTML>"
    );
    assert_eq!(
        (&m[0]["text"], &m[0]["to"]),
        (&json!("HI!"), &json!("461758769"))
    );
    assert_eq!(
        (&m[1]["text"], &m[1]["from"]),
        (&json!("hey"), &json!("461758769"))
    );
    assert_eq!(m[1]["charset"], "unicode");
    assert_eq!(m[1]["direction"], "incoming");
}
