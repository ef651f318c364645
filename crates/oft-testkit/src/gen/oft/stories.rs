//! The scenarios themselves: direct, reversed (redirect) and proxied transfers, and the
//! near misses that must not be taken for OFT.

use super::net::*;
use super::*;
use oftsniff::proto::im::ImCharset;

pub(super) struct DirectOpts {
    pub(super) listen_port: u16,
    pub(super) oscar_port: u16,
    pub(super) size: usize,
    pub(super) answer: Answer,
    pub(super) folder: bool,
    pub(super) utf16: bool,
    /// The two exchange instant messages before and after the transfer, and a third
    /// person writes to the receiver.
    pub(super) chat: bool,
}

impl Default for DirectOpts {
    fn default() -> Self {
        DirectOpts {
            listen_port: 5190,
            oscar_port: 5190,
            size: 48_213,
            answer: Answer::Accept,
            folder: false,
            utf16: false,
            chat: false,
        }
    }
}

pub(super) fn offers(seed: u64, o: &DirectOpts) -> Vec<Offer> {
    if o.folder {
        return [("a.bin", 5_000), ("notes.txt", 1_234), ("b.bin", 70_001)]
            .iter()
            .enumerate()
            .map(|(i, &(n, len))| {
                Offer::new(
                    FileName::from_components(&["photos", n]),
                    contents(seed, i as u64 + 1, len),
                )
            })
            .collect();
    }
    let name = if o.utf16 {
        FileName::utf16(
            "Überweisungsbestätigung-Quartalsbericht-endgültige-Fassung-für-das-Archiv-№7.pdf",
        )
    } else {
        FileName::utf8("report-2024.bin")
    };
    vec![Offer::new(name, contents(seed, 1, o.size))]
}

pub(super) fn direct(seed: u64, v: Variant, o: DirectOpts) -> OftCapture {
    let ck = cookie(seed);
    let offers = offers(seed, &o);
    let mut net = Net::new();
    let mut oscar = Oscar::open(&mut net, o.oscar_port);
    net.wait_ms(200);
    if o.chat {
        chat_before(&mut net, &mut oscar);
    }
    let folder = o.folder.then_some("photos");
    let charset = o.utf16.then_some("unicode-2-0");
    oscar.relay_from_sender(
        &mut net,
        direct_propose(ck, o.listen_port, service_data(&offers, folder), charset),
    );
    net.wait_ms(150);
    let receiver = receiver_ep(50_123);
    let sender = sender_ep(o.listen_port);
    let conn = net.open(receiver, sender, true);
    let path = Path::Direct {
        conn,
        sender: Dir::ServerToClient,
    };
    net.wait_ms(1);
    // Pidgin's sender sends the PROMPT at once; the receiver's ACCEPT follows on BOS.
    let accept_by = Some((&mut oscar, false));
    let files = exchange(&mut net, &path, ck, &offers, o.answer, v, accept_by);
    match o.answer {
        Answer::ResetAfter { .. } => {
            net.on(conn, |c| c.rst(Dir::ClientToServer));
            net.wait_ms(20);
            oscar.relay_from_receiver(
                &mut net,
                RendezvousMsg::cancel(ck, Capability::SEND_FILE, 1),
            );
        }
        _ => {
            net.wait_ms(5);
            path.close(&mut net);
        }
    }
    net.wait_ms(100);
    if o.chat {
        oscar.say(&mut net, false, "merci, re\u{e7}u!", ImCharset::Latin1);
        net.wait_ms(50);
    }
    oscar.close(&mut net);
    OftCapture {
        pcap: net.finish(v, seed),
        files,
        cookie: ck,
        sender_name: SENDER_NAME,
        receiver_name: RECEIVER_NAME,
        sender: Some(sender.to_string()),
        receiver: Some(receiver.to_string()),
        proxy: None,
    }
}

/// What the two say before the file is offered; a stranger writes in between.
fn chat_before(net: &mut Net, oscar: &mut Oscar) {
    let html = "<HTML><BODY>here is the <B>report</B> &amp; the figures</BODY></HTML>";
    oscar.say(net, true, html, ImCharset::Ascii);
    net.wait_ms(300);
    oscar.receiver_hears(net, "carol.k", "<FONT>lunch?</FONT>");
    net.wait_ms(200);
    oscar.say(net, false, "ok, send it \u{2713}", ImCharset::Unicode);
    net.wait_ms(400);
}

pub(super) fn reversed(seed: u64, v: Variant) -> OftCapture {
    let ck = cookie(seed);
    let offers = vec![Offer::new(
        FileName::utf8("reversed.dat"),
        contents(seed, 7, 25_555),
    )];
    let mut net = Net::new();
    let mut oscar = Oscar::open(&mut net, 5190);
    net.wait_ms(200);
    oscar.relay_from_sender(
        &mut net,
        direct_propose(ck, 5190, service_data(&offers, None), None),
    );
    // The receiver cannot reach 198.18.1.10:5190; it listens itself and redirects.
    net.wait_ms(5_000);
    let listen = receiver_ep(5_201);
    let mut redirect = RendezvousMsg::propose(ck, Capability::SEND_FILE, 2);
    redirect.rendezvous_ip = Some(v4(listen));
    redirect.client_ip = Some(v4(listen));
    redirect.port = Some(listen.port);
    oscar.relay_from_receiver(&mut net, redirect);
    net.wait_ms(30);
    let sender = sender_ep(46_001);
    let conn = net.open(sender, listen, true);
    let path = Path::Direct {
        conn,
        sender: Dir::ClientToServer,
    };
    net.wait_ms(1);
    // The TCP initiator (the sender) sends the PROMPT, and an ACCEPT on BOS.
    let accept_by = Some((&mut oscar, true));
    let files = exchange(&mut net, &path, ck, &offers, Answer::Accept, v, accept_by);
    path.close(&mut net);
    net.wait_ms(100);
    oscar.close(&mut net);
    OftCapture {
        pcap: net.finish(v, seed),
        files,
        cookie: ck,
        sender_name: SENDER_NAME,
        receiver_name: RECEIVER_NAME,
        sender: Some(sender.to_string()),
        receiver: Some(listen.to_string()),
        proxy: None,
    }
}

/// A proxied transfer. `sender_creates`: stage 1 (the file sender sends INIT_SEND)
/// or stage 2 (the receiver, after the sender's direct offer, creates the session).
/// The two legs of a proxied transfer, each client's end of its leg.
pub(super) struct ProxyLegs {
    pub(super) creator: C,
    pub(super) joiner: C,
}

pub(super) fn proxied(seed: u64, v: Variant, sender_creates: bool, answer: Answer) -> OftCapture {
    let ck = cookie(seed);
    let offers = vec![Offer::new(
        FileName::utf8("via-proxy.zip"),
        contents(seed, 3, 20_001),
    )];
    let proxy = ep(PROXY_IP.0, PROXY_IP.1, 5190);
    let mut net = Net::new();
    let mut oscar = Oscar::open(&mut net, 5190);
    net.wait_ms(200);
    let sender_leg_client = sender_ep(47_001);
    let receiver_leg_client = receiver_ep(47_002);
    if !sender_creates {
        // Stage 2 starts with the sender's direct offer, which the receiver cannot reach.
        oscar.relay_from_sender(
            &mut net,
            direct_propose(ck, 5190, service_data(&offers, None), None),
        );
        // The receiver's try at the offered address is refused (Appendix B: failed
        // attempts come first).
        let refused = net.open(receiver_ep(47_003), sender_ep(5190), false);
        net.on(refused, |c| {
            c.syn();
            c.rst(Dir::ServerToClient);
        });
        net.wait_ms(5_000);
    }
    let legs = negotiate_proxy(&mut net, &mut oscar, seed, sender_creates, &offers);
    // Both clients never listened, so both send an ACCEPT (Appendix B).
    oscar.relay_from_receiver(&mut net, accept(ck));
    oscar.relay_from_sender(&mut net, accept(ck));
    net.wait_ms(2);
    let (sender_leg, receiver_leg) = if sender_creates {
        (legs.creator, legs.joiner)
    } else {
        (legs.joiner, legs.creator)
    };
    let path = Path::Proxied {
        sender_leg,
        receiver_leg,
    };
    let files = exchange(&mut net, &path, ck, &offers, answer, v, None);
    net.wait_ms(5);
    path.close(&mut net);
    net.wait_ms(100);
    oscar.close(&mut net);
    OftCapture {
        pcap: net.finish(v, seed),
        files,
        cookie: ck,
        sender_name: SENDER_NAME,
        receiver_name: RECEIVER_NAME,
        sender: Some(sender_leg_client.to_string()),
        receiver: Some(receiver_leg_client.to_string()),
        proxy: Some(proxy.to_string()),
    }
}

/// The proxy session: the creator's INIT_SEND and ACK, its offer naming the proxy, the
/// joiner's INIT_RECV, and READY on both legs.
pub(super) fn negotiate_proxy(
    net: &mut Net,
    oscar: &mut Oscar,
    seed: u64,
    sender_creates: bool,
    offers: &[Offer],
) -> ProxyLegs {
    let ck = cookie(seed);
    let proxy = ep(PROXY_IP.0, PROXY_IP.1, 5190);
    let proxy_ip = v4(proxy);
    let token = 0x4000 | (XorShift64::new(seed ^ 0x7011).below(0x3fff) as u16);
    let (creator, joiner) = if sender_creates {
        (sender_ep(47_001), receiver_ep(47_002))
    } else {
        (receiver_ep(47_002), sender_ep(47_001))
    };
    let (creator_sn, joiner_sn) = if sender_creates {
        (SENDER_NAME, RECEIVER_NAME)
    } else {
        (RECEIVER_NAME, SENDER_NAME)
    };
    // The creator opens its leg and gets a token.
    let creator_leg = net.open(creator, proxy, true);
    net.wait_ms(1);
    net.send(
        creator_leg,
        Dir::ClientToServer,
        &ProxyFrame::init_send(creator_sn, ck, Capability::SEND_FILE).emit(),
    );
    net.wait_ms(30);
    net.send(
        creator_leg,
        Dir::ServerToClient,
        &ProxyFrame::ack(token, proxy_ip).emit(),
    );
    net.wait_ms(5);
    // The creator's proxy offer: proxy IP in 0x0002 and 0x0003 (Appendix B); only the
    // file sender's offer carries the file.
    let mut offer = RendezvousMsg::propose(
        ck,
        Capability::SEND_FILE,
        if sender_creates { 1 } else { 2 },
    )
    .via_proxy(proxy_ip, token);
    offer.client_ip = Some(proxy_ip);
    if sender_creates {
        offer.file = Some(service_data(offers, None));
        oscar.relay_from_sender(net, offer);
    } else {
        oscar.relay_from_receiver(net, offer);
    }
    net.wait_ms(40);
    let joiner_leg = net.open(joiner, proxy, true);
    net.wait_ms(1);
    net.send(
        joiner_leg,
        Dir::ClientToServer,
        &ProxyFrame::init_recv(joiner_sn, token, ck, Capability::SEND_FILE).emit(),
    );
    net.wait_ms(30);
    let ready = ProxyFrame::ready().emit();
    net.send(joiner_leg, Dir::ServerToClient, &ready);
    net.send(creator_leg, Dir::ServerToClient, &ready);
    net.wait_ms(2);
    ProxyLegs {
        creator: creator_leg,
        joiner: joiner_leg,
    }
}

pub(super) fn nearmiss_http(seed: u64, v: Variant) -> OftCapture {
    let mut net = Net::new();
    let client = ep(3, 30, 40_100);
    let server = ep(3, 31, 80);
    let c = net.open(client, server, true);
    net.send(
        c,
        Dir::ClientToServer,
        b"GET /aim/oft2-notes.bin HTTP/1.1\r\nHost: docs.example\r\n\r\n",
    );
    net.wait_ms(10);
    // A body that quotes a real PROMPT (magic "OFT2", id "Cool FileXfer") in the middle.
    let data = contents(seed, 9, 4_000);
    let quoted = Offer::new(FileName::utf8("quoted.txt"), data.clone()).prompt(1, 1, 4_000);
    let mut body = b"Notes on OFT2 headers: the id string reads Cool FileXfer.\n".to_vec();
    body.extend_from_slice(&quoted.emit());
    body.extend_from_slice(&data);
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    resp.extend_from_slice(&body);
    net.send(c, Dir::ServerToClient, &resp);
    net.wait_ms(5);
    net.on(c, |conv| conv.close());
    OftCapture {
        pcap: net.finish(v, seed),
        files: Vec::new(),
        cookie: Cookie::ZERO,
        sender_name: SENDER_NAME,
        receiver_name: RECEIVER_NAME,
        sender: None,
        receiver: None,
        proxy: None,
    }
}

pub(super) fn nearmiss_proxy_garbage(seed: u64, v: Variant) -> OftCapture {
    let mut net = Net::new();
    let client = ep(3, 40, 40_200);
    let server = ep(0, 9, 5190);
    let c = net.open(client, server, true);
    // An INIT_SEND's header and screen name, then noise where the cookie and the
    // capability TLV should be.
    let init = ProxyFrame::init_send(SENDER_NAME, cookie(seed), Capability::SEND_FILE).emit();
    let keep = 13 + SENDER_NAME.len();
    let mut bytes = init[..keep].to_vec();
    bytes.extend_from_slice(&contents(seed, 11, 3_000));
    net.send(c, Dir::ClientToServer, &bytes);
    net.wait_ms(20);
    net.send(c, Dir::ServerToClient, &contents(seed, 12, 700));
    net.wait_ms(5);
    net.on(c, |conv| conv.close());
    OftCapture {
        pcap: net.finish(v, seed),
        files: Vec::new(),
        cookie: Cookie::ZERO,
        sender_name: SENDER_NAME,
        receiver_name: RECEIVER_NAME,
        sender: None,
        receiver: None,
        proxy: None,
    }
}
