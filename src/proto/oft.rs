//! The OFT2 header (docs/PROTOCOL.md §1): a fixed 192-byte block followed by a name field of at
//! least 64 bytes; the u16 at offset 4 is the whole header's length.

use super::{be16, need, probe_prefix, Cookie, ParseError, Probe};
use nom::number::complete::{be_u16, be_u32, be_u8};
use nom::sequence::tuple;

pub const MAGIC: [u8; 4] = *b"OFT2";
/// The fixed part before the name field (§1.1).
pub const FIXED_LEN: usize = 192;
/// Names shorter than this (terminator included) are padded to it (§1.6).
pub const MIN_NAME_FIELD: usize = 64;
/// Header length of every short-name header: 192 + 64.
pub const DEFAULT_LEN: u16 = 256;
/// Shortest and longest header lengths accepted (Appendix A: 0x00C0..=0x0800).
pub const MIN_LEN: u16 = 192;
pub const MAX_LEN: u16 = 2048;

/// ID string of WinAIM 5.2 and later, Kopete, joscar, Miranda and Pidgin 2.x (§1.2).
pub const ID_COOL: &[u8] = b"Cool FileXfer";
/// ID string of WinAIM 5.1 and earlier, libfaim and TOC-era Gaim.
pub const ID_OLD: &[u8] = b"OFT_Windows ICBMFT V1.1 32";
/// Checksum field value meaning "empty / not computed" (§1.2, §2.2).
pub const CHECKSUM_EMPTY: u32 = 0xFFFF_0000;

/// Flag bits at offset 100 (§1.5).
pub mod flags {
    /// DONE of the last file.
    pub const DONE: u8 = 0x01;
    /// Old TOC/libfaim Get-File listing header.
    pub const LISTING_OLD: u8 = 0x02;
    /// joscar's Get-File listing header.
    pub const FILELIST: u8 = 0x10;
    /// WinAIM-style default, "not done".
    pub const DEFAULT: u8 = 0x20;
}

/// OFT2 header type (§1.3). Send-File codes have high byte 0x01 from the sender and 0x02
/// from the receiver; Get-File codes start with 0x11 or 0x12.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OftType {
    /// 0x0101, sender → receiver: the next file's name, size and checksum.
    Prompt,
    /// 0x0202, receiver → sender: go ahead; raw data follows.
    Ack,
    /// 0x0204, receiver → sender: got it all, or (straight after PROMPT) skip it.
    Done,
    /// 0x0205, receiver → sender: resume from `bytes_received`.
    Resume,
    /// 0x0106, sender → receiver: agreed resume offset (0 when the prefix differs).
    ResumeAccept,
    /// 0x0207, receiver → sender: send from the agreed offset; data follows.
    ResumeAck,
    /// 0x1108, Get File: a listing is offered.
    GetFileListing,
    /// 0x1209, Get File: send the listing.
    GetFileReceiveListing,
    /// 0x120A, Get File: meaning uncertain (§1.3).
    GetFileReceivedListing,
    /// 0x120B, Get File: listing received.
    GetFileAckListing,
    /// 0x120C, Get File: please send this file.
    GetFileRequestFile,
    /// 0x120E, Get File: list this directory (joscar only).
    GetFileRequestDir,
    /// Any other code; the header still parses, but probes reject it.
    Other(u16),
}

impl OftType {
    pub fn from_u16(v: u16) -> OftType {
        match v {
            0x0101 => OftType::Prompt,
            0x0202 => OftType::Ack,
            0x0204 => OftType::Done,
            0x0205 => OftType::Resume,
            0x0106 => OftType::ResumeAccept,
            0x0207 => OftType::ResumeAck,
            0x1108 => OftType::GetFileListing,
            0x1209 => OftType::GetFileReceiveListing,
            0x120A => OftType::GetFileReceivedListing,
            0x120B => OftType::GetFileAckListing,
            0x120C => OftType::GetFileRequestFile,
            0x120E => OftType::GetFileRequestDir,
            other => OftType::Other(other),
        }
    }

    pub fn code(self) -> u16 {
        match self {
            OftType::Prompt => 0x0101,
            OftType::Ack => 0x0202,
            OftType::Done => 0x0204,
            OftType::Resume => 0x0205,
            OftType::ResumeAccept => 0x0106,
            OftType::ResumeAck => 0x0207,
            OftType::GetFileListing => 0x1108,
            OftType::GetFileReceiveListing => 0x1209,
            OftType::GetFileReceivedListing => 0x120A,
            OftType::GetFileAckListing => 0x120B,
            OftType::GetFileRequestFile => 0x120C,
            OftType::GetFileRequestDir => 0x120E,
            OftType::Other(v) => v,
        }
    }

    /// One of the codes of §1.3.
    pub fn is_known(self) -> bool {
        !matches!(self, OftType::Other(_))
    }

    /// Get-File (file sharing) codes, 0x11xx/0x12xx.
    pub fn is_get_file(self) -> bool {
        matches!(self.code() >> 8, 0x11 | 0x12) && self.is_known()
    }

    /// Short lower-case name for logs.
    pub fn name(self) -> &'static str {
        match self {
            OftType::Prompt => "prompt",
            OftType::Ack => "ack",
            OftType::Done => "done",
            OftType::Resume => "resume",
            OftType::ResumeAccept => "resume_accept",
            OftType::ResumeAck => "resume_ack",
            OftType::GetFileListing => "getfile_listing",
            OftType::GetFileReceiveListing => "getfile_receive_listing",
            OftType::GetFileReceivedListing => "getfile_received_listing",
            OftType::GetFileAckListing => "getfile_ack_listing",
            OftType::GetFileRequestFile => "getfile_request_file",
            OftType::GetFileRequestDir => "getfile_request_dir",
            OftType::Other(_) => "other",
        }
    }
}

/// Encoding code of the name field, offset 188 (§1.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NameEncoding {
    /// 0x0000: nominally ASCII; Pidgin writes UTF-8 here, so it is decoded as UTF-8.
    Ascii,
    /// 0x0002: UCS-2BE / UTF-16BE without BOM.
    Utf16Be,
    /// 0x0003: ISO-8859-1.
    Latin1,
    /// Anything else; decoded like `Ascii`.
    Other(u16),
}

impl NameEncoding {
    pub fn from_u16(v: u16) -> NameEncoding {
        match v {
            0 => NameEncoding::Ascii,
            2 => NameEncoding::Utf16Be,
            3 => NameEncoding::Latin1,
            other => NameEncoding::Other(other),
        }
    }

    pub fn code(self) -> u16 {
        match self {
            NameEncoding::Ascii => 0,
            NameEncoding::Utf16Be => 2,
            NameEncoding::Latin1 => 3,
            NameEncoding::Other(v) => v,
        }
    }

    /// Bytes of the NUL terminator: one 16-bit unit for UTF-16, one byte otherwise.
    fn terminator_len(self) -> usize {
        match self {
            NameEncoding::Utf16Be => 2,
            _ => 1,
        }
    }
}

/// Folder separator inside OFT names (§1.7).
pub const SEPARATOR: char = '\u{1}';

/// The file name of an OFT header: its bytes up to the terminator, and how to read them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileName {
    pub encoding: NameEncoding,
    /// Name bytes as on the wire, terminator and padding excluded.
    pub raw: Vec<u8>,
}

impl FileName {
    /// A name sent with encoding 0 as UTF-8 bytes (what Pidgin does). NULs would end the
    /// name on the wire, so they are dropped.
    pub fn utf8(name: &str) -> FileName {
        FileName {
            encoding: NameEncoding::Ascii,
            raw: name.bytes().filter(|&b| b != 0).collect(),
        }
    }

    /// A name sent as UTF-16BE (encoding 2). NULs are dropped.
    pub fn utf16(name: &str) -> FileName {
        FileName {
            encoding: NameEncoding::Utf16Be,
            raw: name
                .encode_utf16()
                .filter(|&u| u != 0)
                .flat_map(u16::to_be_bytes)
                .collect(),
        }
    }

    /// A name sent as ISO-8859-1 (encoding 3); `None` if a character does not fit.
    pub fn latin1(name: &str) -> Option<FileName> {
        let raw = name
            .chars()
            .filter(|&c| c != '\0')
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect::<Option<Vec<u8>>>()?;
        Some(FileName {
            encoding: NameEncoding::Latin1,
            raw,
        })
    }

    /// A path inside a sent folder, components joined by the 0x01 separator, as UTF-8.
    pub fn from_components(components: &[&str]) -> FileName {
        FileName::utf8(&components.join("\u{1}"))
    }

    /// Cut a name field at its terminator: the first NUL byte, or for UTF-16 the first
    /// 16-bit-aligned 00 00.
    pub fn from_field(encoding: NameEncoding, field: &[u8]) -> FileName {
        let end = match encoding {
            NameEncoding::Utf16Be => field
                .chunks_exact(2)
                .position(|u| u == [0, 0])
                .map_or(field.len() & !1, |i| i * 2),
            _ => field.iter().position(|&b| b == 0).unwrap_or(field.len()),
        };
        FileName {
            encoding,
            raw: field[..end].to_vec(),
        }
    }

    /// The name as text with 0x01 separators kept as U+0001. Invalid sequences (bad UTF-8,
    /// unpaired surrogates, an odd trailing byte in UTF-16) become U+FFFD.
    pub fn decoded(&self) -> String {
        match self.encoding {
            NameEncoding::Utf16Be => {
                let units = self
                    .raw
                    .chunks_exact(2)
                    .map(|u| u16::from_be_bytes([u[0], u[1]]));
                let mut s: String = char::decode_utf16(units)
                    .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect();
                if self.raw.len() % 2 == 1 {
                    s.push(char::REPLACEMENT_CHARACTER);
                }
                s
            }
            NameEncoding::Latin1 => self.raw.iter().map(|&b| char::from(b)).collect(),
            NameEncoding::Ascii | NameEncoding::Other(_) => {
                String::from_utf8_lossy(&self.raw).into_owned()
            }
        }
    }

    /// The name for people to read: folder separators as `/`, other control characters
    /// (which could break a log line) as U+FFFD.
    pub fn display(&self) -> String {
        self.decoded()
            .chars()
            .map(|c| match c {
                SEPARATOR => '/',
                c if c.is_control() => char::REPLACEMENT_CHARACTER,
                c => c,
            })
            .collect()
    }

    /// Path components split at the 0x01 separators, for the carver (which must still
    /// refuse components like `..`).
    pub fn components(&self) -> Vec<String> {
        self.decoded().split(SEPARATOR).map(str::to_owned).collect()
    }

    /// Length of the name field when emitted: name + terminator, padded to at least 64.
    pub fn field_len(&self) -> usize {
        (self.raw.len()
            + (self.raw.len() & usize::from(self.encoding == NameEncoding::Utf16Be))
            + self.encoding.terminator_len())
        .max(MIN_NAME_FIELD)
    }
}

/// Every field of the OFT2 header (§1.2), in wire order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OftHeader {
    /// Offset 4: the whole header's length. `emit` uses it when it is at least what the name
    /// needs, so parsed headers go back out unchanged.
    pub length: u16,
    /// Offset 6.
    pub kind: OftType,
    /// Offset 8: the rendezvous cookie; often zero in the first PROMPT (§1.4).
    pub cookie: Cookie,
    pub encrypt: u16,
    pub compress: u16,
    pub total_files: u16,
    /// Files still to go, counting the current one.
    pub files_left: u16,
    pub total_parts: u16,
    pub parts_left: u16,
    /// Sum of all file sizes.
    pub total_size: u32,
    /// Size of the current file.
    pub size: u32,
    /// Unix seconds.
    pub mod_time: u32,
    /// Offset 40: checksum of the whole current file (§2), 0xXXXX0000.
    pub checksum: u32,
    pub rf_recv_checksum: u32,
    pub rf_size: u32,
    pub create_time: u32,
    pub rf_checksum: u32,
    /// Offset 60: bytes the receiver has / resume offset / bytes received in DONE.
    pub bytes_received: u32,
    /// Offset 64: checksum of the first `bytes_received` bytes.
    pub recv_checksum: u32,
    /// Offset 68: client ID string, NUL-padded.
    pub id_string: [u8; 32],
    /// Offset 100 (see [`flags`]).
    pub flags: u8,
    pub list_name_offset: u8,
    pub list_size_offset: u8,
    /// Offset 103: 69 bytes, zero in every known client.
    pub dummy: [u8; 69],
    /// Offset 172: Mac Finder info.
    pub mac_file_info: [u8; 16],
    /// Offset 190: encoding subcode / language, 0 in practice. (The encoding code of
    /// offset 188 lives in `name.encoding`.)
    pub name_language: u16,
    /// Offset 192.
    pub name: FileName,
}

impl OftHeader {
    /// The ID string up to its first NUL, as text.
    pub fn id_str(&self) -> String {
        super::lossy(super::until_nul(&self.id_string))
    }

    /// A WinAIM-style ("Cool FileXfer", flags 0x20, list offsets 28/17) PROMPT for one file.
    pub fn prompt(
        cookie: Cookie,
        name: FileName,
        size: u32,
        checksum: u32,
        total_files: u16,
        files_left: u16,
        total_size: u32,
    ) -> OftHeader {
        let mut id_string = [0u8; 32];
        id_string[..ID_COOL.len()].copy_from_slice(ID_COOL);
        let mut h = OftHeader {
            length: DEFAULT_LEN,
            kind: OftType::Prompt,
            cookie,
            encrypt: 0,
            compress: 0,
            total_files,
            files_left,
            total_parts: 1,
            parts_left: 1,
            total_size,
            size,
            mod_time: 0,
            checksum,
            rf_recv_checksum: CHECKSUM_EMPTY,
            rf_size: 0,
            create_time: 0,
            rf_checksum: CHECKSUM_EMPTY,
            bytes_received: 0,
            recv_checksum: CHECKSUM_EMPTY,
            id_string,
            flags: flags::DEFAULT,
            list_name_offset: 0x1C,
            list_size_offset: 0x11,
            dummy: [0; 69],
            mac_file_info: [0; 16],
            name_language: 0,
            name,
        };
        h.length = h.required_len();
        h
    }

    /// This header echoed back as `kind` with `cookie`, the way receivers answer a PROMPT
    /// (§8.7).
    pub fn reply(&self, kind: OftType, cookie: Cookie) -> OftHeader {
        OftHeader {
            kind,
            cookie,
            ..self.clone()
        }
    }

    /// The receiver's ACK to this PROMPT.
    pub fn ack(&self, cookie: Cookie) -> OftHeader {
        self.reply(OftType::Ack, cookie)
    }

    /// The receiver's DONE: bytes received and their checksum; `last` sets the done flag.
    pub fn done(
        &self,
        cookie: Cookie,
        bytes_received: u32,
        recv_checksum: u32,
        last: bool,
    ) -> OftHeader {
        OftHeader {
            bytes_received,
            recv_checksum,
            flags: if last { flags::DONE } else { self.flags },
            ..self.reply(OftType::Done, cookie)
        }
    }

    /// The receiver's RESUME: it holds `offset` bytes whose checksum is `prefix_checksum`.
    pub fn resume(&self, cookie: Cookie, offset: u32, prefix_checksum: u32) -> OftHeader {
        OftHeader {
            bytes_received: offset,
            recv_checksum: prefix_checksum,
            ..self.reply(OftType::Resume, cookie)
        }
    }

    /// Header length `emit` writes: at least what the name needs, at least `self.length`.
    pub fn required_len(&self) -> u16 {
        let need = FIXED_LEN + self.name.field_len();
        u16::try_from(need).unwrap_or(u16::MAX)
    }

    /// The header as bytes. The name field is the name, its terminator (00 00 for UTF-16)
    /// and NUL padding up to 64 bytes, or up to `self.length` when that is longer; long
    /// names grow the header. Names too long for a u16 length are cut.
    pub fn emit(&self) -> Vec<u8> {
        let total = usize::from(self.required_len().max(self.length));
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&(total as u16).to_be_bytes());
        out.extend_from_slice(&self.kind.code().to_be_bytes());
        out.extend_from_slice(&self.cookie.0);
        for v in [
            self.encrypt,
            self.compress,
            self.total_files,
            self.files_left,
            self.total_parts,
            self.parts_left,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        for v in [
            self.total_size,
            self.size,
            self.mod_time,
            self.checksum,
            self.rf_recv_checksum,
            self.rf_size,
            self.create_time,
            self.rf_checksum,
            self.bytes_received,
            self.recv_checksum,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(&self.id_string);
        out.extend_from_slice(&[self.flags, self.list_name_offset, self.list_size_offset]);
        out.extend_from_slice(&self.dummy);
        out.extend_from_slice(&self.mac_file_info);
        out.extend_from_slice(&self.name.encoding.code().to_be_bytes());
        out.extend_from_slice(&self.name_language.to_be_bytes());
        debug_assert_eq!(out.len(), FIXED_LEN);
        // Keep room for the terminator: a name that would fill a maximal header is cut.
        let room = total - FIXED_LEN - self.name.encoding.terminator_len();
        let name = &self.name.raw[..self.name.raw.len().min(room)];
        out.extend_from_slice(name);
        out.resize(total, 0);
        out
    }
}

/// Cheap recognition of an OFT2 header start (Appendix A rule 1): magic, a length in
/// 192..=2048 and a type code of §1.3.
pub fn probe_oft(buf: &[u8]) -> Probe {
    match probe_prefix(buf, &MAGIC) {
        Probe::Match => {}
        other => return other,
    }
    if buf.len() >= 6 && !(MIN_LEN..=MAX_LEN).contains(&be16(buf, 4)) {
        return Probe::NoMatch;
    }
    if buf.len() < 8 {
        return Probe::NeedMore;
    }
    if OftType::from_u16(be16(buf, 6)).is_known() {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

/// Parse one OFT2 header from the start of `buf`; returns it and the bytes it used (its
/// length field). Any type code parses (unknown ones as `OftType::Other`); the magic and
/// the length range are checked before waiting for more bytes.
pub fn parse_oft_header(buf: &[u8]) -> Result<(OftHeader, usize), ParseError> {
    if probe_prefix(buf, &MAGIC) == Probe::NoMatch {
        return Err(ParseError::Invalid("no OFT2 magic"));
    }
    need(buf, 6)?;
    let length = be16(buf, 4);
    if !(MIN_LEN..=MAX_LEN).contains(&length) {
        return Err(ParseError::Invalid("OFT2 header length outside 192..=2048"));
    }
    let len = usize::from(length);
    need(buf, len)?;
    let hdr = parse_fixed(&buf[..len]).map_err(|_| ParseError::Invalid("OFT2 header fields"))?;
    Ok((hdr, len))
}

type NomResult<'a, T> = nom::IResult<&'a [u8], T>;

fn array<const N: usize>(i: &[u8]) -> NomResult<'_, [u8; N]> {
    let (rest, bytes) = nom::bytes::complete::take(N)(i)?;
    let mut a = [0u8; N];
    a.copy_from_slice(bytes);
    Ok((rest, a))
}

/// Fields of a header whose `length` bytes are all present in `h`.
fn parse_fixed(h: &[u8]) -> Result<OftHeader, nom::Err<nom::error::Error<&[u8]>>> {
    let length = be16(h, 4);
    let i = &h[6..];
    let (i, (kind, cookie)) = tuple((be_u16, array::<8>))(i)?;
    let (i, (encrypt, compress, total_files, files_left, total_parts, parts_left)) =
        tuple((be_u16, be_u16, be_u16, be_u16, be_u16, be_u16))(i)?;
    let (i, (total_size, size, mod_time, checksum, rf_recv_checksum)) =
        tuple((be_u32, be_u32, be_u32, be_u32, be_u32))(i)?;
    let (i, (rf_size, create_time, rf_checksum, bytes_received, recv_checksum)) =
        tuple((be_u32, be_u32, be_u32, be_u32, be_u32))(i)?;
    let (i, (id_string, flags, list_name_offset, list_size_offset)) =
        tuple((array::<32>, be_u8, be_u8, be_u8))(i)?;
    let (i, (dummy, mac_file_info, encoding, name_language)) =
        tuple((array::<69>, array::<16>, be_u16, be_u16))(i)?;
    let encoding = NameEncoding::from_u16(encoding);
    Ok(OftHeader {
        length,
        kind: OftType::from_u16(kind),
        cookie: Cookie(cookie),
        encrypt,
        compress,
        total_files,
        files_left,
        total_parts,
        parts_left,
        total_size,
        size,
        mod_time,
        checksum,
        rf_recv_checksum,
        rf_size,
        create_time,
        rf_checksum,
        bytes_received,
        recv_checksum,
        id_string,
        flags,
        list_name_offset,
        list_size_offset,
        dummy,
        mac_file_info,
        name_language,
        name: FileName::from_field(encoding, i),
    })
}

#[cfg(test)]
mod tests;
