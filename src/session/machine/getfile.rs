//! Get File (docs/PROTOCOL.md §3.9): the requester browses the owner's shared folder. The
//! owner offers its listing (0x1108), the requester asks for it (0x1209) and the listing's
//! bytes follow like a file's, which the requester confirms (0x120B); then it asks for a
//! file (0x120C) or a folder (0x120E), and each file goes through PROMPT / ACK / data /
//! DONE as in Send File. The owner is the sender, the requester the receiver.

use super::file::FileProgress;
use super::{DataMachine, MachineSink, Mode};
use crate::flow::Direction;
use crate::proto::{OftHeader, OftType};
use crate::session::event::{At, FileStatus, GetFileKind, GetFileStep, Step};

impl DataMachine {
    pub(super) fn on_get_file(
        &mut self,
        dir: Direction,
        h: OftHeader,
        at: At,
        sink: &mut dyn MachineSink,
    ) {
        let kind = match h.kind {
            OftType::GetFileListing => GetFileKind::ListingOffer,
            OftType::GetFileReceiveListing => GetFileKind::ListingRequest,
            OftType::GetFileReceivedListing => GetFileKind::Listing120A,
            OftType::GetFileAckListing => GetFileKind::ListingReceived,
            OftType::GetFileRequestFile => GetFileKind::FileRequest,
            OftType::GetFileRequestDir => GetFileKind::DirRequest,
            _ => return,
        };
        self.get_file = true;
        self.learn_cookie(h.cookie);
        let step = Step::GetFile(Box::new(GetFileStep {
            kind,
            name: h.name.display(),
            size: u64::from(h.size),
            cookie: (!h.cookie.is_zero()).then_some(h.cookie),
        }));
        let rdir = dir.reverse();
        match kind {
            GetFileKind::ListingOffer => {
                if self.file.is_some() {
                    self.end_file(FileStatus::Truncated, None, at.ts, sink);
                }
                self.learn_sender(dir);
                sink.phase(step, self.arrow(dir), at);
                self.file = Some(FileProgress::new(h, at.ts, false, self.hash));
                self.modes[dir.index()] = Mode::Blocked;
                self.modes[rdir.index()] = Mode::Headers;
            }
            GetFileKind::ListingRequest => {
                self.learn_sender(rdir);
                sink.phase(step, self.arrow(dir), at);
                self.request_data(dir, &h, 0, at, sink);
            }
            GetFileKind::ListingReceived => {
                self.learn_sender(rdir);
                sink.phase(step, self.arrow(dir), at);
                self.end_file(FileStatus::Complete, None, at.ts, sink);
                self.modes = [Mode::Headers; 2];
            }
            // The requester asks for something; the owner answers with headers.
            _ => {
                self.learn_sender(rdir);
                sink.phase(step, self.arrow(dir), at);
                self.modes = [Mode::Headers; 2];
            }
        }
    }
}
