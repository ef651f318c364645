//! Short ASCII texts of events (addresses, cookies, checksums, timestamps) built on the
//! stack. Every NDJSON record carries several; formatting them through `to_string()`
//! cost an allocation and the `fmt` machinery each, which made writing the records
//! the bulk of a run over many short transfers. The texts are the same bytes their
//! `Display` impls write (tests compare the two).

use crate::capture::Timestamp;
use crate::flow::Endpoint;
use crate::proto::cookie::Cookie;
use crate::session::event::{Checksum, Md5Digest, Sha256Digest};
use crate::session::TransferId;
use serde::{Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;

/// Up to `N` bytes of ASCII text, on the stack. Writes past `N` are dropped (every
/// caller sizes `N` for its longest text, so that does not happen).
#[derive(Clone, Copy)]
pub struct InlineStr<const N: usize> {
    len: u8,
    buf: [u8; N],
}

/// `ip:port` or `[ip6]:port`.
pub type EndpointText = InlineStr<48>;
/// `client-server`: two endpoints joined by `-`.
pub type ConnText = InlineStr<96>;
/// Room for any short text here (cookie, checksum, transfer id, timestamp).
pub type ShortText = InlineStr<32>;
/// 64 hex digits.
pub type DigestText = InlineStr<64>;

impl<const N: usize> Default for InlineStr<N> {
    fn default() -> Self {
        InlineStr {
            len: 0,
            buf: [0; N],
        }
    }
}

impl<const N: usize> InlineStr<N> {
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever pushed, so this never falls back.
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }

    pub fn push_bytes(&mut self, s: &[u8]) {
        let at = usize::from(self.len);
        let n = s.len().min(N - at);
        self.buf[at..at + n].copy_from_slice(&s[..n]);
        self.len += n as u8;
    }

    fn push(&mut self, b: u8) {
        self.push_bytes(&[b]);
    }

    /// `v` in decimal.
    pub fn push_u64(&mut self, v: u64) {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        let mut v = v;
        loop {
            i -= 1;
            tmp[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push_bytes(&tmp[i..]);
    }

    /// Each byte as two lower-case hex digits.
    pub fn push_hex(&mut self, bytes: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for &b in bytes {
            self.push_bytes(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }

    /// `ip:port`. Every phase, file and flow record carries two or more: an IPv4
    /// endpoint is built in one small buffer and copied once, the bytes per push and the
    /// division loop per octet having cost ~470 instructions an endpoint.
    pub fn push_endpoint(&mut self, e: &Endpoint) {
        match e.ip {
            IpAddr::V4(ip) => {
                let mut b = [0u8; 21];
                let mut n = 0;
                for o in ip.octets() {
                    if o >= 100 {
                        b[n] = b'0' + o / 100;
                        n += 1;
                    }
                    if o >= 10 {
                        b[n] = b'0' + o / 10 % 10;
                        n += 1;
                    }
                    b[n] = b'0' + o % 10;
                    b[n + 1] = b'.';
                    n += 2;
                }
                b[n - 1] = b':';
                let mut port = [0u8; 5];
                let mut p = e.port;
                let mut i = port.len();
                loop {
                    i -= 1;
                    port[i] = b'0' + (p % 10) as u8;
                    p /= 10;
                    if p == 0 {
                        break;
                    }
                }
                let digits = &port[i..];
                b[n..n + digits.len()].copy_from_slice(digits);
                self.push_bytes(&b[..n + digits.len()]);
                return;
            }
            // Rare, and its compression rules are `Ipv6Addr`'s own: left to `fmt`.
            IpAddr::V6(ip) => {
                use fmt::Write;
                let _ = write!(self, "[{ip}]");
            }
        }
        self.push(b':');
        self.push_u64(u64::from(e.port));
    }
}

impl<const N: usize> fmt::Write for InlineStr<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_bytes(s.as_bytes());
        Ok(())
    }
}

impl<const N: usize> fmt::Display for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> PartialEq<&str> for InlineStr<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<const N: usize> Serialize for InlineStr<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// `Endpoint`'s `Display` text.
pub fn endpoint(e: &Endpoint) -> EndpointText {
    let mut t = EndpointText::default();
    t.push_endpoint(e);
    t
}

/// `client-server`.
pub fn conn(a: &Endpoint, b: &Endpoint) -> ConnText {
    let mut t = ConnText::default();
    t.push_endpoint(a);
    t.push(b'-');
    t.push_endpoint(b);
    t
}

/// `Cookie`'s `Display` text (16 hex digits).
pub fn cookie(c: &Cookie) -> ShortText {
    let mut t = ShortText::default();
    t.push_hex(&c.0);
    t
}

/// `Checksum`'s `Display` text (`0x` and 8 hex digits).
pub fn checksum(c: Checksum) -> ShortText {
    let mut t = ShortText::default();
    t.push_bytes(b"0x");
    t.push_hex(&c.0.to_be_bytes());
    t
}

/// `TransferId`'s `Display` text (`T7`).
pub fn transfer(id: TransferId) -> ShortText {
    let mut t = ShortText::default();
    t.push(b'T');
    t.push_u64(id.0);
    t
}

/// `Sha256Digest`'s `Display` text.
pub fn sha256(d: &Sha256Digest) -> DigestText {
    let mut t = DigestText::default();
    t.push_hex(&d.0);
    t
}

/// `Md5Digest`'s `Display` text.
pub fn md5(d: &Md5Digest) -> DigestText {
    let mut t = DigestText::default();
    t.push_hex(&d.0);
    t
}

/// ISO 8601 UTC with microseconds (`output::timestamp::iso8601`).
pub fn iso8601(ts: Timestamp) -> ShortText {
    let mut t = ShortText::default();
    t.push_bytes(&super::timestamp::iso8601_bytes(ts.0 / 1_000));
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ep(ip: IpAddr, port: u16) -> Endpoint {
        Endpoint { ip, port }
    }

    #[test]
    fn texts_match_display() {
        let eps = [
            ep(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 5190),
            ep(IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0)), 0),
            ep(IpAddr::V4(Ipv4Addr::new(255, 255, 255, 255)), 65535),
            ep(IpAddr::V4(Ipv4Addr::new(10, 100, 9, 199)), 10),
            ep(IpAddr::V4(Ipv4Addr::new(1, 20, 200, 0)), 9999),
            ep(
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                443,
            ),
            ep(
                IpAddr::V6(Ipv6Addr::new(0xffff, 1, 2, 3, 4, 5, 6, 0xfffe)),
                65535,
            ),
        ];
        for a in &eps {
            assert_eq!(endpoint(a), a.to_string().as_str());
            for b in &eps {
                assert_eq!(conn(a, b), format!("{a}-{b}").as_str());
            }
        }
        for c in [
            [0u8; 8],
            [0xff; 8],
            [1, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef],
        ] {
            assert_eq!(cookie(&Cookie(c)), Cookie(c).to_string().as_str());
        }
        for v in [0, 1, 0xdead_beef, u32::MAX] {
            assert_eq!(checksum(Checksum(v)), Checksum(v).to_string().as_str());
        }
        for v in [0, 9, 10, 12345, u64::MAX] {
            assert_eq!(transfer(TransferId(v)), TransferId(v).to_string().as_str());
        }
        let d = Sha256Digest(std::array::from_fn(|i| (i * 37) as u8));
        assert_eq!(sha256(&d), d.to_string().as_str());
        let m = Md5Digest(std::array::from_fn(|i| (i * 41) as u8));
        assert_eq!(md5(&m), m.to_string().as_str());
        for ns in [0, 1_131_312_796_767_049_123, 4_102_444_799_999_999_999] {
            let ts = Timestamp(ns);
            assert_eq!(iso8601(ts), super::super::timestamp::iso8601(ts).as_str());
        }
    }
}
