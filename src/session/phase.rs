//! The phases a transfer goes through (docs/PROTOCOL.md §3), and who sent what.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    TcpHandshake,
    ProxyInitSend,
    ProxyInitRecv,
    ProxyAck,
    ProxyReady,
    ProxyError,
    Prompt,
    Ack,
    Resume,
    ResumeAccept,
    ResumeAck,
    DataStart,
    DataEnd,
    Done,
    Close,
    /// Rendezvous on FLAP, attached to the transfer they negotiate.
    Propose,
    Accept,
    Cancel,
    /// Direct IM: the first ODC2 header.
    DirectIm,
    /// Get File: its listing and requests.
    GetFile(GetFileKind),
}

/// The Get File headers (docs/PROTOCOL.md §1.3, §3.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GetFileKind {
    /// 0x1108, owner → requester: its folder listing is offered.
    ListingOffer,
    /// 0x1209, requester → owner: send the listing (its bytes follow).
    ListingRequest,
    /// 0x120A: meaning uncertain.
    Listing120A,
    /// 0x120B, requester → owner: listing received.
    ListingReceived,
    /// 0x120C, requester → owner: send this file.
    FileRequest,
    /// 0x120E, requester → owner: list this folder.
    DirRequest,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::TcpHandshake => "tcp_handshake",
            Phase::ProxyInitSend => "proxy_init_send",
            Phase::ProxyInitRecv => "proxy_init_recv",
            Phase::ProxyAck => "proxy_ack",
            Phase::ProxyReady => "proxy_ready",
            Phase::ProxyError => "proxy_error",
            Phase::Prompt => "prompt",
            Phase::Ack => "ack",
            Phase::Resume => "resume",
            Phase::ResumeAccept => "resume_accept",
            Phase::ResumeAck => "resume_ack",
            Phase::DataStart => "data_start",
            Phase::DataEnd => "data_end",
            Phase::Done => "done",
            Phase::Close => "close",
            Phase::Propose => "propose",
            Phase::Accept => "accept",
            Phase::Cancel => "cancel",
            Phase::DirectIm => "direct_im",
            Phase::GetFile(GetFileKind::ListingOffer) => "getfile_listing",
            Phase::GetFile(GetFileKind::ListingRequest) => "getfile_listing_request",
            Phase::GetFile(GetFileKind::Listing120A) => "getfile_0x120a",
            Phase::GetFile(GetFileKind::ListingReceived) => "getfile_listing_received",
            Phase::GetFile(GetFileKind::FileRequest) => "getfile_file_request",
            Phase::GetFile(GetFileKind::DirRequest) => "getfile_dir_request",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The part an endpoint plays in a transfer's connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Sender,
    Receiver,
    /// The TCP client / server, before roles are known.
    Client,
    Server,
    Proxy,
    /// Proxy-session creator (INIT_SEND) and joiner (INIT_RECV).
    Creator,
    Joiner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sender => "sender",
            Role::Receiver => "receiver",
            Role::Client => "client",
            Role::Server => "server",
            Role::Proxy => "proxy",
            Role::Creator => "creator",
            Role::Joiner => "joiner",
        }
    }
}

/// Who sent a message to whom, as written in events: `sender->receiver`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Arrow(pub Role, pub Role);

impl fmt::Display for Arrow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}->{}", self.0.as_str(), self.1.as_str())
    }
}
