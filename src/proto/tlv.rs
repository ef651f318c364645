//! Type-length-value chains of OSCAR (u16 type, u16 length, value), as used in SNAC bodies
//! and rendezvous blocks. The chains sit inside frames whose bytes are all present, so a
//! TLV running past its container is invalid, not incomplete.

use super::ParseError;
use nom::multi::length_data;
use nom::number::complete::be_u16;
use nom::sequence::tuple;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tlv<'a> {
    pub typ: u16,
    pub value: &'a [u8],
}

/// One TLV from the start of `buf` and the bytes after it.
pub(crate) fn take_tlv(buf: &[u8]) -> Result<(Tlv<'_>, &[u8]), ParseError> {
    let parsed: nom::IResult<&[u8], (u16, &[u8])> = tuple((be_u16, length_data(be_u16)))(buf);
    match parsed {
        Ok((rest, (typ, value))) => Ok((Tlv { typ, value }, rest)),
        Err(_) => Err(ParseError::Invalid(
            "TLV runs past the end of its container",
        )),
    }
}

/// Iterator over a TLV chain filling all of `buf`; yields one error and stops if a TLV is
/// truncated.
pub(crate) struct Tlvs<'a> {
    rest: &'a [u8],
}

pub(crate) fn tlvs(buf: &[u8]) -> Tlvs<'_> {
    Tlvs { rest: buf }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Result<Tlv<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match take_tlv(self.rest) {
            Ok((t, rest)) => {
                self.rest = rest;
                Some(Ok(t))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// Append a TLV; values longer than a u16 length can say are cut.
pub(crate) fn put_tlv(out: &mut Vec<u8>, typ: u16, value: &[u8]) {
    let value = &value[..value.len().min(usize::from(u16::MAX))];
    out.extend_from_slice(&typ.to_be_bytes());
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests;
