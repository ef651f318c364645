//! pcapng blocks: interface bookkeeping per section, packets turned into frames, and the
//! per-interface clock.

use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{Block, OptionCode, PcapNGOption};

use super::{FrameBytes, Step};
use crate::capture::frame::{Batch, Frame, FrameNo, LinkType, Timestamp};

/// One pcapng Interface Description Block, as far as frames need it.
pub(super) struct NgInterface {
    /// The link type, or the raw number when oftsniff cannot decode it; that is an error
    /// only once a packet actually arrives on the interface.
    pub(super) link: Result<LinkType, u32>,
    /// Timestamp units per second (if_tsresol), `None` when the option is invalid.
    units_per_sec: Option<u64>,
    /// if_tsoffset, seconds added to every timestamp.
    offset_secs: i64,
    pub(super) snaplen: u32,
}
pub(super) enum NgProblem {
    UnsupportedLink(u32),
    Corrupt(String),
}

/// Handles one pcapng block: interface bookkeeping, or a frame pushed onto `batch`.
pub(super) fn ng_block(
    block: Block<'_>,
    ifaces: &mut Vec<NgInterface>,
    big_endian: &mut bool,
    no: FrameNo,
    batch: &mut Batch,
    bytes: &mut FrameBytes<'_>,
) -> Result<Step, NgProblem> {
    match block {
        Block::SectionHeader(shb) => {
            // Interface ids are scoped to their section.
            ifaces.clear();
            *big_endian = shb.big_endian();
            Ok(Step::Skip)
        }
        Block::InterfaceDescription(idb) => {
            let raw = idb.linktype.0 as u32;
            ifaces.push(NgInterface {
                link: LinkType::from_linktype(raw).ok_or(raw),
                units_per_sec: ts_units_per_sec(idb.if_tsresol),
                offset_secs: ts_offset_secs(&idb.options, *big_endian),
                snaplen: idb.snaplen,
            });
            Ok(Step::Skip)
        }
        Block::EnhancedPacket(epb) => {
            let iface = ifaces.get(epb.if_id as usize).ok_or_else(|| {
                NgProblem::Corrupt(format!("packet on undeclared interface {}", epb.if_id))
            })?;
            let link = iface.link.map_err(NgProblem::UnsupportedLink)?;
            let units = iface.units_per_sec.ok_or_else(|| {
                NgProblem::Corrupt(format!("interface {} has an invalid if_tsresol", epb.if_id))
            })?;
            let raw_ts = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
            batch.push(Frame {
                no,
                ts: ng_timestamp(raw_ts, units, iface.offset_secs),
                orig_len: epb.origlen,
                link,
                data: bytes.take(epb.packet_data()),
            });
            Ok(Step::Frame)
        }
        Block::SimplePacket(spb) => {
            let iface = ifaces.first().ok_or_else(|| {
                NgProblem::Corrupt("simple packet block before any interface".to_string())
            })?;
            let link = iface.link.map_err(NgProblem::UnsupportedLink)?;
            let mut data = spb.packet_data();
            if iface.snaplen > 0 && data.len() > iface.snaplen as usize {
                data = &data[..iface.snaplen as usize];
            }
            // Simple packet blocks carry no timestamp at all.
            batch.push(Frame {
                no,
                ts: Timestamp(0),
                orig_len: spb.origlen,
                link,
                data: bytes.take(data),
            });
            Ok(Step::Frame)
        }
        _ => Ok(Step::Skip),
    }
}

/// Converts a pcapng timestamp in `units` per second, plus an offset in seconds, to
/// nanoseconds. The common resolutions avoid the 128-bit division.
fn ng_timestamp(raw: u64, units: u64, offset_secs: i64) -> Timestamp {
    let nanos = match units {
        1_000_000_000 => raw as u128,
        1_000_000 => raw as u128 * 1000,
        _ => {
            let secs = (raw / units) as u128;
            let frac = (raw % units) as u128;
            secs * 1_000_000_000 + frac * 1_000_000_000 / units as u128
        }
    };
    let nanos = nanos as i128 + offset_secs as i128 * 1_000_000_000;
    Timestamp(nanos.clamp(0, u64::MAX as i128) as u64)
}

/// Reads if_tsoffset in the section's byte order (pcap-parser's own field assumes
/// little-endian).
fn ts_offset_secs(options: &[PcapNGOption<'_>], big_endian: bool) -> i64 {
    options
        .iter()
        .find(|o| o.code == OptionCode::IfTsoffset)
        .and_then(|o| o.value().get(..8))
        .map(|v| {
            let a: [u8; 8] = v.try_into().unwrap_or([0; 8]);
            if big_endian {
                i64::from_be_bytes(a)
            } else {
                i64::from_le_bytes(a)
            }
        })
        .unwrap_or(0)
}

/// Decodes if_tsresol: a power of ten, or of two when the top bit is set. Done here rather
/// than with pcap-parser's helper, which rejects every power-of-two resolution.
fn ts_units_per_sec(tsresol: u8) -> Option<u64> {
    let exp = (tsresol & 0x7f) as u32;
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(exp)
    } else {
        1u64.checked_shl(exp).filter(|_| exp < 64)
    }
}
