//! Get File (file sharing): the requester connects to the owner, who offers its folder
//! listing (0x1108); the requester asks for it (0x1209), receives its bytes and confirms
//! (0x120B), asks for one file (0x120C), and the file follows as in Send File.

use super::net::*;
use super::*;

/// The owner's listing: one line per shared file, size and name.
fn listing(files: &[Offer]) -> Vec<u8> {
    files
        .iter()
        .map(|o| format!("{:>10} {}\r\n", o.data.len(), o.display.replace('/', "\\")))
        .collect::<String>()
        .into_bytes()
}

pub(super) fn get_file(seed: u64, v: Variant) -> OftCapture {
    let ck = cookie(seed);
    let shared = [
        Offer::new(
            FileName::from_components(&["shared", "notes.txt"]),
            contents(seed, 1, 23_456),
        ),
        Offer::new(
            FileName::from_components(&["shared", "song.mp3"]),
            contents(seed, 2, 91_000),
        ),
    ];
    let list = listing(&shared);
    let offer = OftHeader {
        kind: OftType::GetFileListing,
        ..OftHeader::prompt(
            ck,
            FileName::utf8("listing.txt"),
            list.len() as u32,
            OftChecksum::of(&list),
            1,
            1,
            list.len() as u32,
        )
    };
    let mut net = Net::new();
    let requester = receiver_ep(50_200);
    let owner = sender_ep(5190);
    let conn = net.open(requester, owner, true);
    let path = Path::Direct {
        conn,
        sender: Dir::ServerToClient,
    };
    net.wait_ms(1);
    path.message(&mut net, true, &offer.emit(), None);
    path.message(
        &mut net,
        false,
        &offer.reply(OftType::GetFileReceiveListing, ck).emit(),
        None,
    );
    path.data(&mut net, &list);
    path.message(
        &mut net,
        false,
        &offer.reply(OftType::GetFileAckListing, ck).emit(),
        None,
    );
    net.wait_ms(400);
    let wanted = &shared[0];
    let request = OftHeader {
        kind: OftType::GetFileRequestFile,
        name: wanted.name.clone(),
        size: wanted.data.len() as u32,
        ..offer.reply(OftType::GetFileRequestFile, ck)
    };
    path.message(&mut net, false, &request.emit(), None);
    let mut files = vec![GenFile {
        name: "listing.txt".into(),
        sent: list.len() as u64,
        data: list,
        offset: 0,
    }];
    files.extend(exchange(
        &mut net,
        &path,
        ck,
        std::slice::from_ref(wanted),
        Answer::Accept,
        v,
        None,
    ));
    net.wait_ms(5);
    path.close(&mut net);
    OftCapture {
        pcap: net.finish(v, seed),
        files,
        cookie: ck,
        sender_name: SENDER_NAME,
        receiver_name: RECEIVER_NAME,
        sender: Some(owner.to_string()),
        receiver: Some(requester.to_string()),
        proxy: None,
    }
}
