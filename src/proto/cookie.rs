//! The rendezvous cookie and capability UUIDs (docs/PROTOCOL.md §1.4, §5.4).

use std::fmt;
use std::str::FromStr;

/// The 8-byte ICBM rendezvous cookie. It links the FLAP negotiation, the proxy INIT frames
/// and the OFT headers of one transfer; the bytes are opaque.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cookie(pub [u8; 8]);

impl Cookie {
    pub const ZERO: Cookie = Cookie([0; 8]);

    /// WinAIM-style first PROMPTs carry an all-zero cookie (§1.4).
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 8]
    }

    /// The first 8 bytes of `b`, if there are that many.
    pub fn from_slice(b: &[u8]) -> Option<Cookie> {
        b.get(..8).map(|s| {
            let mut c = [0; 8];
            c.copy_from_slice(s);
            Cookie(c)
        })
    }
}

impl fmt::Display for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cookie({self})")
    }
}

impl FromStr for Cookie {
    type Err = &'static str;

    /// Parses 16 hex digits, the form `Display` writes.
    fn from_str(s: &str) -> Result<Cookie, &'static str> {
        let s = s.as_bytes();
        if s.len() != 16 {
            return Err("a cookie is 16 hex digits");
        }
        let mut c = [0u8; 8];
        for (i, pair) in s.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16).ok_or("not a hex digit")?;
            let lo = (pair[1] as char).to_digit(16).ok_or("not a hex digit")?;
            c[i] = (hi << 4 | lo) as u8;
        }
        Ok(Cookie(c))
    }
}

/// A 16-byte capability UUID, as on the wire: what a rendezvous or proxy session is for.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Capability(pub [u8; 16]);

/// The AOL capability UUIDs all share this pattern and differ in byte 3 (§5.4).
const fn aol_cap(b3: u8) -> Capability {
    Capability([
        0x09, 0x46, 0x13, b3, 0x4C, 0x7F, 0x11, 0xD1, 0x82, 0x22, 0x44, 0x45, 0x53, 0x54, 0x00,
        0x00,
    ])
}

impl Capability {
    /// Send File: the data connection carries OFT2.
    pub const SEND_FILE: Capability = aol_cap(0x43);
    /// Direct IM / IM images: the data connection carries ODC2.
    pub const DIRECT_IM: Capability = aol_cap(0x45);
    /// Get File (file sharing): OFT2 with the 0x11xx/0x12xx types.
    pub const GET_FILE: Capability = aol_cap(0x48);
    /// Old ICQ peer-to-peer protocol, not OFT.
    pub const ICQ_DIRECT: Capability = aol_cap(0x44);
    /// ICQ rich messages relayed through channel 2, no peer connection.
    pub const ICQ_SERVER_RELAY: Capability = aol_cap(0x49);

    /// The first 16 bytes of `b`, if there are that many.
    pub fn from_slice(b: &[u8]) -> Option<Capability> {
        b.get(..16).map(|s| {
            let mut c = [0; 16];
            c.copy_from_slice(s);
            Capability(c)
        })
    }

    /// Short name of a capability this project knows.
    pub fn name(&self) -> Option<&'static str> {
        Some(match *self {
            Capability::SEND_FILE => "send-file",
            Capability::DIRECT_IM => "direct-im",
            Capability::GET_FILE => "get-file",
            Capability::ICQ_DIRECT => "icq-direct",
            Capability::ICQ_SERVER_RELAY => "icq-server-relay",
            _ => return None,
        })
    }
}

impl fmt::Display for Capability {
    /// UUID form, upper case as the spec writes it: `09461343-4C7F-11D1-8222-444553540000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "Capability({n})"),
            None => write!(f, "Capability({self})"),
        }
    }
}

#[cfg(test)]
mod tests;
