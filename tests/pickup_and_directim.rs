//! Two recognitions the scenario suite does not cover: a Direct IM (ODC2) connection,
//! direct or through the rendezvous proxy, is labelled Direct IM and never reported as a
//! file, and a file transfer picked up in the middle (its handshake and PROMPT not
//! captured) is still found and honestly reported.

mod common;

use common::{events, of_kind, TempDir};
use oft_testkit::gen::oft::{self, Kind, Variant};
use oft_testkit::gen::pcap::PcapBuilder;
use oft_testkit::gen::tcp::{Dir, TcpConv};
use oftsniff::capture::Timestamp;
use oftsniff::decode::decode_tcp;
use oftsniff::flow::Endpoint;
use oftsniff::output::pcapfile::PcapFileWriter;
use oftsniff::proto::odc::OdcHeader;
use oftsniff::proto::{Capability, Cookie, ProxyBody, ProxyFrame};
use std::path::Path;

fn ep(s: &str) -> Endpoint {
    s.parse::<std::net::SocketAddr>().unwrap().into()
}

fn run(pcap: &Path, json: &Path) {
    let out = common::oftsniff()
        .arg("-r")
        .arg(pcap)
        .arg("-q")
        .arg("--json")
        .arg(json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn odc2_connection_is_a_direct_im_transfer_without_files() {
    let dir = TempDir::new("odc");
    let cookie = Cookie(*b"5551234\0");
    let mut conv = TcpConv::new(
        ep("198.18.3.1:40100"),
        ep("198.18.3.2:4443"),
        Timestamp(1_000_000_000),
    );
    conv.handshake();
    // The connecting side sends its cookie frame, the listener answers, then a message.
    conv.send(
        Dir::ClientToServer,
        &OdcHeader::message(cookie, "alice", 0, 0x60).emit(),
    );
    conv.send(
        Dir::ServerToClient,
        &OdcHeader::message(cookie, "bob", 0, 0x60).emit(),
    );
    let mut msg = OdcHeader::message(cookie, "alice", 11, 0).emit();
    msg.extend_from_slice(b"<HTML>hi</HTML>"[..11].as_ref());
    conv.send(Dir::ClientToServer, &msg);
    conv.close();
    let pcap = dir.join("odc.pcap");
    let mut b = PcapBuilder::new();
    b.add_conv(&conv);
    b.write_file(&pcap).unwrap();

    let json = dir.join("e.json");
    run(&pcap, &json);
    let evs = events(&json);
    let phases: Vec<&str> = of_kind(&evs, "phase")
        .iter()
        .map(|e| e["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases.first(), Some(&"tcp_handshake"), "{phases:?}");
    assert!(phases.contains(&"direct_im"), "{phases:?}");
    assert!(
        of_kind(&evs, "file").is_empty(),
        "Direct IM is never a file"
    );
    let t = of_kind(&evs, "transfer");
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["kind"], "directim");
    assert_eq!(t[0]["files"], 0);
}

/// Alice creates a proxy session for Direct IM, Bob joins it, both get READY, then ODC2
/// frames cross the relay. `capability` is what the INIT frames announce (None: no TLV).
fn proxied_direct_im(capability: Option<Capability>) -> Vec<serde_json::Value> {
    let dir = TempDir::new(if capability.is_some() {
        "odcproxy"
    } else {
        "odcproxy-nocap"
    });
    let cookie = Cookie(*b"5551234\0");
    let init = |body: ProxyBody| {
        ProxyFrame {
            unknown: 0,
            flags: 0,
            body,
        }
        .emit()
    };
    let proxy = ep("198.18.3.9:5190");
    let mut a = TcpConv::new(ep("198.18.3.1:40100"), proxy, Timestamp(1_000_000_000));
    a.handshake();
    a.send(
        Dir::ClientToServer,
        &init(ProxyBody::InitSend {
            screen_name: "alice".into(),
            cookie,
            capability,
        }),
    );
    a.send(
        Dir::ServerToClient,
        &ProxyFrame::ack(0x1234, [198, 18, 3, 9].into()).emit(),
    );
    let mut b = TcpConv::new(ep("198.18.3.2:40200"), proxy, a.now());
    b.handshake();
    b.send(
        Dir::ClientToServer,
        &init(ProxyBody::InitRecv {
            screen_name: "bob".into(),
            token: 0x1234,
            cookie,
            capability,
        }),
    );
    b.send(Dir::ServerToClient, &ProxyFrame::ready().emit());
    a.catch_up(b.now());
    a.send(Dir::ServerToClient, &ProxyFrame::ready().emit());
    let hello = OdcHeader::message(cookie, "alice", 0, 0x60).emit();
    a.send(Dir::ClientToServer, &hello);
    b.catch_up(a.now());
    b.send(Dir::ServerToClient, &hello);
    let answer = OdcHeader::message(cookie, "bob", 0, 0x60).emit();
    b.send(Dir::ClientToServer, &answer);
    a.catch_up(b.now());
    a.send(Dir::ServerToClient, &answer);
    a.close();
    b.close();
    let pcap = dir.join("odc-proxy.pcap");
    let mut pb = PcapBuilder::new();
    pb.add_conv(&a).add_conv(&b);
    pb.write_file(&pcap).unwrap();
    let json = dir.join("e.json");
    run(&pcap, &json);
    events(&json)
}

#[test]
fn direct_im_through_the_proxy_is_a_direct_im_transfer() {
    for capability in [Some(Capability::DIRECT_IM), None] {
        let evs = proxied_direct_im(capability);
        let direct_im: Vec<_> = of_kind(&evs, "phase")
            .into_iter()
            .filter(|e| e["phase"] == "direct_im")
            .collect();
        assert_eq!(direct_im.len(), 2, "one per leg ({capability:?}): {evs:?}");
        assert!(
            of_kind(&evs, "file").is_empty(),
            "Direct IM is never a file"
        );
        let t = of_kind(&evs, "transfer");
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0]["kind"], "directim", "{capability:?}: {}", t[0]);
        assert_eq!(t[0]["proxied"], true);
        assert_eq!(t[0]["files"], 0);
    }
}

/// A direct transfer whose data connection is picked up late: its frames are dropped
/// until `headers` OFT2 headers went by (1: PROMPT, 2: ACK), and then up to
/// `data_frames` more frames carrying payload (all of them before the DONE at most). Returns the events, the file sent and the file bytes
/// the dropped frames carried.
fn picked_up_late(
    tag: &str,
    headers: usize,
    data_frames: usize,
) -> (Vec<serde_json::Value>, oft::GenFile, u64) {
    let dir = TempDir::new(tag);
    let cap = oft::build(Kind::Direct, 3, Variant::PLAIN);
    let sent = cap.files[0].clone();
    let frames = cap.pcap.into_frames();
    // The data connection: the one whose payload carries an OFT2 header.
    let data_conn = frames
        .iter()
        .filter_map(|f| {
            decode_tcp(f.link, &f.data)
                .ok()
                .map(|p| (p.clone(), f.data[p.payload].to_vec()))
        })
        .find(|(_, pl)| pl.starts_with(b"OFT2"))
        .map(|(p, _)| {
            let mut k = [p.src, p.dst];
            k.sort();
            k
        })
        .unwrap();
    let (mut headers_left, mut data_left, mut data_dropped) = (headers, data_frames, 0);
    let kept: Vec<_> = frames
        .into_iter()
        .filter(|f| {
            let Ok(p) = decode_tcp(f.link, &f.data) else {
                return true;
            };
            let mut k = [p.src, p.dst];
            k.sort();
            if k != data_conn || (headers_left == 0 && data_left == 0) {
                return true;
            }
            let payload = &f.data[p.payload.clone()];
            if payload.starts_with(b"OFT2") && headers_left == 0 {
                // The DONE: data ended before `data_frames` ran out.
                data_left = 0;
                return true;
            }
            if payload.starts_with(b"OFT2") {
                headers_left -= 1;
            } else if headers_left == 0 && !payload.is_empty() {
                data_left -= 1;
                data_dropped += payload.len() as u64;
            }
            false
        })
        .collect();
    let pcap = dir.join("pickup.pcap");
    let mut w = PcapFileWriter::new(std::fs::File::create(&pcap).unwrap(), kept[0].link).unwrap();
    for f in &kept {
        w.write_frame(f).unwrap();
    }
    w.flush().unwrap();

    let json = dir.join("e.json");
    run(&pcap, &json);
    let evs = events(&json);
    assert!(
        of_kind(&evs, "flow").iter().any(|f| f["midstream"] == true),
        "the data connection was picked up midstream"
    );
    (evs, sent, data_dropped)
}

#[test]
fn transfer_picked_up_after_its_prompt_reports_what_was_seen() {
    let (evs, sent, _) = picked_up_late("pickup", 1, 0);
    let files = of_kind(&evs, "file");
    assert_eq!(files.len(), 1, "{files:?}");
    let f = files[0];
    // No PROMPT was seen: the ACK and DONE still name the file, and every byte after the
    // pickup is counted; whether the start was seen cannot be known.
    assert_eq!(f["status"], "unknown_start", "{f}");
    assert_eq!(f["name"], sent.name.as_str(), "{f}");
    assert_eq!(f["size"], sent.data.len() as u64, "{f}");
    assert!(
        f["bytes"].as_u64().unwrap() <= sent.data.len() as u64,
        "{f}"
    );
    assert!(f["bytes"].as_u64().unwrap() > 0, "{f}");
    let t = of_kind(&evs, "transfer");
    assert_eq!(
        t.len(),
        1,
        "the FLAP negotiation and the data connection are one transfer"
    );
}

fn sha256(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn transfer_picked_up_during_its_data_counts_the_bytes_seen() {
    // Handshake, PROMPT, ACK and the first three data segments never captured: no header
    // frames the data, until the receiver's DONE names the file and its size, which
    // places what was seen at the file's end.
    let (evs, sent, dropped) = picked_up_late("pickup-data", 2, 3);
    let size = sent.data.len() as u64;
    assert!(dropped > 0 && dropped < size, "{dropped} of {size}");
    let files = of_kind(&evs, "file");
    assert_eq!(files.len(), 1, "{files:?}");
    let f = files[0];
    assert_eq!(f["status"], "unknown_start", "{f}");
    assert_eq!(f["name"], sent.name.as_str(), "{f}");
    assert_eq!(f["bytes"], size - dropped, "{f}");
    assert_eq!(f["missing"], serde_json::json!([[0, dropped]]), "{f}");
    assert_eq!(
        f["sha256"],
        sha256(&sent.data[dropped as usize..]).as_str(),
        "{f}"
    );
    assert!(
        f["first_data_ts"].is_f64() && f["last_data_ts"].is_f64(),
        "{f}"
    );
    let t = of_kind(&evs, "transfer");
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0]["bytes"], size - dropped, "{}", t[0]);

    // Nothing but the DONE: nothing of the file was seen, and nothing is claimed.
    let (evs, sent, _) = picked_up_late("pickup-done", 2, usize::MAX);
    let f = of_kind(&evs, "file")[0];
    assert_eq!(f["bytes"], 0, "{f}");
    assert_eq!(
        f["missing"],
        serde_json::json!([[0, sent.data.len()]]),
        "{f}"
    );
    assert_eq!(f["sha256"], serde_json::Value::Null, "{f}");
}
