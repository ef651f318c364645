use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};

/// One side of a TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

impl Endpoint {
    pub fn new(ip: IpAddr, port: u16) -> Self {
        Endpoint { ip, port }
    }
    pub fn socket_addr(self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }
}

impl From<SocketAddr> for Endpoint {
    fn from(a: SocketAddr) -> Self {
        Endpoint::new(a.ip(), a.port())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{}:{}", ip, self.port),
            IpAddr::V6(ip) => write!(f, "[{}]:{}", ip, self.port),
        }
    }
}

/// Direction of a segment relative to its `FlowKey`: `AtoB` runs from `key.a` to `key.b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    AtoB,
    BtoA,
}

impl Direction {
    pub fn index(self) -> usize {
        match self {
            Direction::AtoB => 0,
            Direction::BtoA => 1,
        }
    }
    pub fn reverse(self) -> Direction {
        match self {
            Direction::AtoB => Direction::BtoA,
            Direction::BtoA => Direction::AtoB,
        }
    }
}

/// Direction-free identity of a TCP connection: the smaller endpoint is always `a`,
/// so both directions of a connection map to the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowKey {
    pub a: Endpoint,
    pub b: Endpoint,
}

impl FlowKey {
    /// Key and direction of a segment sent from `src` to `dst`.
    pub fn from_segment(src: Endpoint, dst: Endpoint) -> (FlowKey, Direction) {
        if src <= dst {
            (FlowKey { a: src, b: dst }, Direction::AtoB)
        } else {
            (FlowKey { a: dst, b: src }, Direction::BtoA)
        }
    }

    /// Sending endpoint of direction `dir`.
    pub fn src(&self, dir: Direction) -> Endpoint {
        match dir {
            Direction::AtoB => self.a,
            Direction::BtoA => self.b,
        }
    }
    pub fn dst(&self, dir: Direction) -> Endpoint {
        self.src(dir.reverse())
    }

    /// Symmetric by construction (the key is canonical), stable across runs and threads,
    /// cheap: picks the worker that owns this flow.
    pub fn shard_hash(&self) -> u64 {
        let mut h = FnvHasher::default();
        self.hash(&mut h);
        h.finish()
    }
}

impl fmt::Display for FlowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} <-> {}", self.a, self.b)
    }
}

/// FNV-1a: deterministic (unlike `RandomState`), so a flow lands on the same worker in
/// every run, which keeps offline output reproducible.
#[derive(Clone, Copy)]
pub struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> Self {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        // Final avalanche so the low bits used for `% workers` are well mixed.
        avalanche(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// Spreads every input bit over the whole word (the 64-bit finalizer of MurmurHash3).
#[inline]
fn avalanche(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

/// The flow table's hasher: deterministic as `FnvHasher`, but it takes a word per step
/// instead of a byte, and a `FlowKey` feeds it small integers (address family, ports)
/// and 4- or 16-byte addresses. The table hashes a key for every frame; byte-wise FNV
/// over the ~44 bytes a key writes was a long chain of dependent multiplies there.
#[derive(Clone, Copy, Default)]
pub struct FlowHasher(u64);

impl FlowHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FlowHasher {
    fn finish(&self) -> u64 {
        // The table takes its bucket from the low bits and a tag from the high ones:
        // mix both.
        avalanche(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ (rest.len() as u64) << 56);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    fn write_u16(&mut self, i: u16) {
        self.add(i as u64);
    }
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

#[cfg(test)]
mod tests;
