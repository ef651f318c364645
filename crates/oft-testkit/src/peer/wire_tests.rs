//! The peers' frames against the fixed frames of the docs/PROTOCOL.md §8 scenario (alice2005 sends
//! report.pdf, 123456 bytes, to bob2005 through the proxy at 203.0.113.10, token 0x2BC7, cookie
//! 3A915C07E24418B6). Each frame is built by the same function the running peer uses.

use super::bos::as_delivered;
use super::files::{Offer, OutFile};
use super::offers::proxied;
use super::oft_send::prompt_for;
use super::send::proposal;
use super::{ars, proxy_server};
use oftsniff::proto::{parse_oft_header, Cookie, FileName, OftChecksum, ProxyFrame};
use std::net::Ipv4Addr;

/// Bytes from a hexdump-like string: hex digit pairs, whitespace ignored (the same helper as
/// oftsniff's `proto::testutil::hex`, which is private to that crate's unit tests).
fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| b.is_ascii_hexdigit())
        .map(|b| (b as char).to_digit(16).unwrap() as u8)
        .collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
}

const COOKIE: Cookie = Cookie([0x3A, 0x91, 0x5C, 0x07, 0xE2, 0x44, 0x18, 0xB6]);
const TOKEN: u16 = 0x2BC7;
const PROXY_IP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

/// The example file of §8: byte[n] = (31·n + 7) & 0xFF.
fn report_pdf() -> Vec<u8> {
    (0..123_456u32).map(|n| (31 * n + 7) as u8).collect()
}

fn offer() -> Offer {
    Offer {
        files: vec![OutFile {
            path: "report.pdf".into(),
            name: FileName::utf8("report.pdf"),
            size: 123_456,
            checksum: OftChecksum::of(&report_pdf()),
            // 2008-01-15 12:00:00 UTC
            mod_time: 0x478C_A040,
        }],
        total_size: 123_456,
        service_name: "report.pdf".into(),
        multiple: false,
    }
}

// §8.1
const INIT_SEND: &str = "00 30 04 4A 00 02 00 00 00 00 00 00 09 61 6C 69
    63 65 32 30 30 35 3A 91 5C 07 E2 44 18 B6 00 01 00 10 09 46 13 43 4C 7F 11 D1 82 22 44 45
    53 54 00 00";
// §8.2
const ACK: &str = "00 10 04 4A 00 03 00 00 00 00 02 20 2B C7 CB 00 71 0A";
// §8.3
const INIT_RECV: &str = "00 30 04 4A 00 04 00 00 00 00 00 00 07 62 6F 62
    32 30 30 35 2B C7 3A 91 5C 07 E2 44 18 B6 00 01 00 10 09 46 13 43 4C 7F 11 D1 82 22 44 45
    53 54 00 00";
// §8.4
const READY: &str = "00 0A 04 4A 00 05 00 00 00 00 02 20";
const ERROR_1A: &str = "00 0C 04 4A 00 01 00 00 00 00 02 20 00 1A";

#[test]
fn proxy_frames_of_both_clients_and_the_proxy_match_section_8() {
    assert_eq!(ars::init_send("alice2005", COOKIE).emit(), hex(INIT_SEND));
    assert_eq!(
        ars::init_recv("bob2005", TOKEN, COOKIE).emit(),
        hex(INIT_RECV)
    );
    assert_eq!(ProxyFrame::ack(TOKEN, PROXY_IP).emit(), hex(ACK));
    assert_eq!(ProxyFrame::ready().emit(), hex(READY));
    assert_eq!(
        ProxyFrame::error(proxy_server::error_code::ACCEPT_TIMEOUT).emit(),
        hex(ERROR_1A)
    );
}

// §8.5
const PROPOSE_TO_BOB: &str = "
    2A 02 12 34 00 A3 00 04 00 07 00 00 00 00 00 00 3A 91 5C 07 E2 44 18 B6 00 02 09 61 6C 69 63 65
    32 30 30 35 00 00 00 01 00 01 00 02 00 10 00 05 00 77 00 00 3A 91 5C 07 E2 44 18 B6 09 46 13 43
    4C 7F 11 D1 82 22 44 45 53 54 00 00 00 0A 00 02 00 01 00 0F 00 00 00 02 00 04 CB 00 71 0A 00 16
    00 04 34 FF 8E F5 00 03 00 04 0A 00 00 05 00 05 00 02 2B C7 00 17 00 02 D4 38 00 10 00 00 27 11
    00 13 00 01 00 01 00 01 E2 40 72 65 70 6F 72 74 2E 70 64 66 00 27 12 00 08 75 73 2D 61 73 63 69
    69 00 04 00 04 C6 33 64 07";

#[test]
fn stage1_propose_relayed_by_bos_matches_section_8_5() {
    let mut m = proxied(
        proposal(&offer(), COOKIE, "bob2005", false),
        PROXY_IP,
        TOKEN,
    );
    // The §8.5 sender keeps its LAN address in 0x0003 (Kopete style; ours repeats the proxy
    // IP as libpurple does) and names the charset; everything else is the sender's own.
    m.client_ip = Some(Ipv4Addr::new(10, 0, 0, 5));
    m.charset = Some("us-ascii".into());
    let delivered = as_delivered(
        m,
        "alice2005",
        Ipv4Addr::new(198, 51, 100, 7),
        vec![(0x0001, vec![0x00, 0x10])],
    );
    assert_eq!(delivered.emit_flap(0x1234, 0), hex(PROPOSE_TO_BOB));
}

// §8.6
const PROMPT: &str = "
    4F 46 54 32 01 00 01 01 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 01 00 01 00 01 00 01 E2 40
    00 01 E2 40 47 8C A0 40 E8 17 00 00 FF FF 00 00 00 00 00 00 00 00 00 00 FF FF 00 00 00 00 00 00
    FF FF 00 00 43 6F 6F 6C 20 46 69 6C 65 58 66 65 72 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
    00 00 00 00 20 1C 11";

/// A 256-byte header: the given leading bytes, zeros up to the name at 192, then the name.
fn header(leading: &str) -> Vec<u8> {
    let mut h = hex(leading);
    h.resize(192, 0);
    h.extend_from_slice(b"report.pdf");
    h.resize(256, 0);
    h
}

#[test]
fn senders_prompt_matches_section_8_6() {
    assert_eq!(prompt_for(&offer(), 0, COOKIE).emit(), header(PROMPT));
}

#[test]
fn receivers_ack_and_done_match_sections_8_7_and_8_8() {
    let (prompt, _) = parse_oft_header(&header(PROMPT)).unwrap();
    // §8.7: the PROMPT echoed as 0x0202 with the real cookie.
    let mut ack = header(PROMPT);
    ack[6..8].copy_from_slice(&[0x02, 0x02]);
    ack[8..16].copy_from_slice(&COOKIE.0);
    assert_eq!(prompt.ack(COOKIE).emit(), ack);
    // §8.8: DONE with the byte count, the receiver's running checksum, and the last-file flag.
    let mut sum = OftChecksum::new();
    for chunk in report_pdf().chunks(1447) {
        sum.update(chunk);
    }
    let mut done = ack.clone();
    done[6..8].copy_from_slice(&[0x02, 0x04]);
    done[60..68].copy_from_slice(&hex("00 01 E2 40 E8 17 00 00"));
    done[100] = 0x01;
    assert_eq!(prompt.done(COOKIE, 123_456, sum.value(), true).emit(), done);
}

#[test]
fn later_prompts_carry_the_cookie_and_count_files_down() {
    let mut o = offer();
    o.files.push(o.files[0].clone());
    o.multiple = true;
    let first = prompt_for(&o, 0, COOKIE);
    let second = prompt_for(&o, 1, COOKIE);
    assert!(first.cookie.is_zero());
    assert_eq!(second.cookie, COOKIE);
    assert_eq!((first.total_files, first.files_left), (2, 2));
    assert_eq!((second.total_files, second.files_left), (2, 1));
}
