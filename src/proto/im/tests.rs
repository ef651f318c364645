use super::*;

const COOKIE: Cookie = Cookie(*b"im-ck-01");

#[test]
fn outgoing_and_incoming_round_trip() {
    for charset in [ImCharset::Ascii, ImCharset::Unicode, ImCharset::Latin1] {
        let m = InstantMessage::outgoing(COOKIE, "Rosalind_F", "<b>caf\u{e9}</b> ok", charset);
        let back = parse_im(&m.emit_snac(7)).unwrap().unwrap();
        assert_eq!(back, m);
        assert_eq!(back.raw_text(), "<b>caf\u{e9}</b> ok");
        let inc = m.incoming("watson.j");
        let back = parse_im(&inc.emit_snac(8)).unwrap().unwrap();
        assert_eq!(back.snac, (4, 7));
        assert_eq!(back.screen_name, "watson.j");
        assert_eq!(back, inc);
    }
}

/// The TCP payload of frame 5 of the bundled 2005 Gaim capture
/// (tests/data/gaim-chat-join-2005.pcap): a FLAP frame carrying a 4/6 IM.
#[test]
fn parses_gaims_outgoing_im() {
    let frame = crate::proto::testutil::hex(
        "2a020092007100040006000000000059ad4f14f2444066d0000109486970706f506574650002004b\
         05010004010101020101003f000000004865792c20646f206d652061206661766f722e2e2e75736520\
         41494d20746f20696e76697465206d6520746f206120636861742c20706c6561736500030000",
    );
    let (f, used) = crate::proto::parse_flap(&frame).unwrap();
    assert_eq!(used, frame.len());
    let m = parse_im(f.data).unwrap().unwrap();
    assert_eq!(m.snac, (4, 6));
    assert_eq!(m.screen_name, "HippoPete");
    assert_eq!(
        m.raw_text(),
        "Hey, do me a favor...use AIM to invite me to a chat, please"
    );
    assert_eq!(m.texts[0].charset, ImCharset::Ascii);
    assert_eq!(m.caps, vec![1, 1, 1, 2]);
}

#[test]
fn rendezvous_and_other_snacs_are_not_ims() {
    // A rendezvous (channel 2) ICBM to "bob".
    let mut d = icbm_head((4, 6), 0, &COOKIE, 2, "bob");
    assert_eq!(parse_im(&d), Ok(None));
    d[1] = 1;
    assert_eq!(parse_im(&d), Ok(None));
}

#[test]
fn html_is_stripped_to_what_was_seen() {
    assert_eq!(
        strip_html("<HTML><BODY><HTML><FONT>HI!</FONT></HTML></BODY></HTML>"),
        "HI!"
    );
    assert_eq!(
        strip_html("a<br>b &amp; c &lt;3 &#233;&#x41;"),
        "a\nb & c <3 \u{e9}A"
    );
    assert_eq!(strip_html("1 < 2 & 3"), "1 < 2 & 3");
    assert_eq!(
        strip_html("x &caf\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9};"),
        "x &caf\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9};"
    );
}

proptest::proptest! {
    #[test]
    fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        let _ = parse_im(&bytes);
        let _ = strip_html(&String::from_utf8_lossy(&bytes));
    }
}
