//! A connection's classification state: the first bytes of each direction while they
//! are too few to name, and for a connection picked up midstream, what each direction
//! carried while it was searched for an OFT2 header.

use super::pickup::Unframed;
use super::{classify_direction, Classification, MAX_CLASSIFY_BYTES};
use crate::capture::Timestamp;
use crate::flow::Direction;
use crate::proto::{probe_oft, Probe};

/// What a connection turned out to carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// An OFT2 header first: a direct data connection.
    Oft,
    /// A client's leg to the ARS proxy.
    ProxyClient,
    /// Direct IM (ODC2).
    Odc,
    /// An OSCAR server connection (FLAP).
    Flap,
    /// An OFT2 header found in a connection picked up midstream.
    Midstream,
}

/// The answer to a direction's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Too few bytes yet (they are held), or a midstream direction still searched.
    Wait,
    Found(Found),
    /// None of ours: the connection is not followed further.
    Other,
}

#[derive(Default)]
pub struct Classifier {
    /// The first bytes of each direction, while they are too few to classify.
    prefix: [Vec<u8>; 2],
    /// Per direction, bytes of a midstream connection still to be searched for a header.
    /// A direction that spent its budget is no longer probed but still counted: the
    /// other direction (a receiver that only sends OFT headers) may yet name the file.
    scan_left: [usize; 2],
    /// What each direction of a midstream connection carried while it was searched, for
    /// the state machine if a header turns up (boxed: only such connections have it).
    pickup: Option<Box<[Unframed; 2]>>,
}

impl Classifier {
    /// A connection seen from its start, or (`midstream`) picked up in the middle, whose
    /// first `scan_bytes` are then searched for a header.
    pub fn new(midstream: bool, scan_bytes: usize) -> Self {
        Classifier {
            scan_left: if midstream { [scan_bytes; 2] } else { [0; 2] },
            ..Classifier::default()
        }
    }

    /// In-order bytes of `dir`. Returns the verdict and, once the connection is named,
    /// the bytes held from this direction's earlier segments: they come before `bytes`.
    pub fn offer(
        &mut self,
        dir: Direction,
        from_client: bool,
        midstream: bool,
        bytes: &[u8],
        ts: Timestamp,
    ) -> (Verdict, Vec<u8>) {
        let d = dir.index();
        let prior = std::mem::take(&mut self.prefix[d]);
        let verdict = if prior.is_empty() {
            self.decide(dir, from_client, midstream, bytes, ts)
        } else {
            let mut probe = prior.clone();
            probe.extend_from_slice(&bytes[..bytes.len().min(MAX_CLASSIFY_BYTES)]);
            self.decide(dir, from_client, midstream, &probe, ts)
        };
        match verdict {
            Verdict::Wait => {
                // A midstream connection's bytes are not held: each chunk is searched.
                if !midstream {
                    let mut held = prior;
                    held.extend_from_slice(&bytes[..bytes.len().min(MAX_CLASSIFY_BYTES)]);
                    self.prefix[d] = held;
                }
                (Verdict::Wait, Vec::new())
            }
            named => {
                self.prefix = Default::default();
                (named, prior)
            }
        }
    }

    fn decide(
        &mut self,
        dir: Direction,
        from_client: bool,
        midstream: bool,
        probe: &[u8],
        ts: Timestamp,
    ) -> Verdict {
        // A midstream direction past its budget is only counted: probing every segment
        // of a long file would sooner or later take random bytes for a protocol start.
        if midstream && self.scan_left[dir.index()] == 0 {
            return self.scan(dir, probe, ts);
        }
        match classify_direction(probe) {
            Classification::NeedMore if !midstream && probe.len() < MAX_CLASSIFY_BYTES => {
                Verdict::Wait
            }
            Classification::Oft => Verdict::Found(Found::Oft),
            Classification::ProxyClient if from_client => Verdict::Found(Found::ProxyClient),
            Classification::Odc => Verdict::Found(Found::Odc),
            Classification::Flap => Verdict::Found(Found::Flap),
            _ if midstream => self.scan(dir, probe, ts),
            _ => Verdict::Other,
        }
    }

    /// A connection picked up midstream: look for an OFT2 header at this chunk's start,
    /// while `dir` has budget left. Chunks before it are counted and hashed (a DONE may
    /// later name the file they end) but not kept. In a data phase one direction carries
    /// the file and the other nothing but OFT headers, so the connection is given up only
    /// once one direction spent its budget and the other carried something else too.
    fn scan(&mut self, dir: Direction, bytes: &[u8], ts: Timestamp) -> Verdict {
        let d = dir.index();
        if self.scan_left[d] > 0 {
            self.scan_left[d] = self.scan_left[d].saturating_sub(bytes.len());
            if probe_oft(bytes) == Probe::Match {
                return Verdict::Found(Found::Midstream);
            }
        }
        let seen = self.pickup.get_or_insert_with(Box::default);
        seen[d].data(bytes, ts);
        let other = dir.reverse().index();
        let spent = |i: usize| self.scan_left[i] == 0;
        let carried = |i: usize| seen[i].bytes() > 0;
        if (spent(d) && carried(other)) || (spent(other) && carried(d)) {
            self.pickup = None;
            return Verdict::Other;
        }
        Verdict::Wait
    }

    /// `len` bytes of `dir` are lost: its start is gone, classification starts over.
    pub fn gap(&mut self, dir: Direction, len: u64) {
        self.prefix[dir.index()].clear();
        if let Some(seen) = self.pickup.as_mut() {
            seen[dir.index()].gap(len);
        }
    }

    /// What each direction carried before the connection was named (midstream only).
    pub fn take_pickup(&mut self) -> Option<Box<[Unframed; 2]>> {
        self.pickup.take()
    }
}
