//! Two recognitions the scenario suite does not cover: a Direct IM (ODC2) connection,
//! direct or through the rendezvous proxy, is labelled Direct IM and never reported as a
//! file, and a file transfer picked up in the middle (its handshake and PROMPT not
//! captured) is still found and honestly reported.

mod common;

use common::{events, of_kind, TempDir};
use oftsniff::capture::Timestamp;
use oftsniff::decode::decode_tcp;
use oftsniff::flow::Endpoint;
use oftsniff::gen::oft::{self, Kind, Variant};
use oftsniff::gen::pcap::PcapBuilder;
use oftsniff::gen::tcp::{Dir, TcpConv};
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

#[test]
fn transfer_picked_up_after_its_prompt_reports_what_was_seen() {
    let dir = TempDir::new("pickup");
    let cap = oft::build(Kind::Direct, 3, Variant::PLAIN);
    let sent = &cap.files[0];
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
    // Drop that connection's frames up to and including the PROMPT (handshake gone too).
    let mut seen_prompt = false;
    let kept: Vec<_> = frames
        .into_iter()
        .filter(|f| {
            let Ok(p) = decode_tcp(f.link, &f.data) else {
                return true;
            };
            let mut k = [p.src, p.dst];
            k.sort();
            if k != data_conn || seen_prompt {
                return true;
            }
            if f.data[p.payload.clone()].starts_with(b"OFT2") {
                seen_prompt = true;
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
    let flows = of_kind(&evs, "flow");
    assert!(
        flows.iter().any(|f| f["midstream"] == true),
        "the data connection was picked up midstream"
    );
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
