//! Capture filters in tcpdump's grammar (`oftsniff -i eth0 host 198.18.0.2`). oftsniff does
//! not parse the grammar itself: libpcap's `pcap_compile` (through the `pcap` crate, on a
//! "dead" handle of the right link type) turns the expression into a classic BPF program.
//! Live, the program is attached to the packet socket (SO_ATTACH_FILTER) so the kernel
//! drops what does not match before it reaches the ring or the receive queue; offline,
//! each frame is run through the same program (`pcap_offline_filter`).
//!
//! A filter can hide the FLAP connection whose rendezvous names a transfer (its cookie,
//! screen names and file name); the data connection is then still recognized by its
//! OFT2 header, but unnamed.

use std::fmt;

use pcap::{BpfProgram, Capture, Linktype};

use super::frame::{Frame, LinkType};

/// A validated filter expression; compiled once per link type it meets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterExpr(String);

/// A filter expression libpcap refused, with its reason (one line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    pub expr: String,
    pub reason: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad capture filter '{}': {}",
            self.expr,
            self.reason.replace(['\n', '\r'], " ")
        )
    }
}

impl std::error::Error for FilterError {}

impl FilterExpr {
    /// Checks the expression by compiling it for Ethernet, the usual link type; a live
    /// or offline source compiles it again for its own link type.
    pub fn new(expr: &str) -> Result<FilterExpr, FilterError> {
        let f = FilterExpr(expr.trim().to_string());
        f.compile(LinkType::Ethernet)?;
        Ok(f)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The classic BPF program for frames of `link`.
    pub fn compile(&self, link: LinkType) -> Result<BpfProgram, FilterError> {
        let err = |reason: String| FilterError {
            expr: self.0.clone(),
            reason,
        };
        let dead = Capture::dead(Linktype(dlt(link))).map_err(|e| err(e.to_string()))?;
        dead.compile(&self.0, true).map_err(|e| err(error_text(e)))
    }
}

/// The libpcap DLT_ value for a link type. They equal the LINKTYPE_ numbers a file
/// carries except for raw IP, whose file number 101 is DLT_RAW (12 on Linux) in libpcap.
fn dlt(link: LinkType) -> i32 {
    match link {
        LinkType::Raw | LinkType::Raw12 | LinkType::Raw14 => 12,
        other => other.linktype() as i32,
    }
}

/// libpcap's message without the crate's prefix ("libpcap error: ").
fn error_text(e: pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(s) => s,
        other => other.to_string(),
    }
}

/// Runs frames of any link type through the filter, compiling it the first time each link
/// type is seen (a pcapng file may mix interfaces of several types).
pub struct FrameFilter {
    expr: FilterExpr,
    programs: Vec<(LinkType, BpfProgram)>,
}

impl FrameFilter {
    pub fn new(expr: FilterExpr) -> FrameFilter {
        FrameFilter {
            expr,
            programs: Vec::new(),
        }
    }

    /// Whether the frame passes; an error when the expression does not apply to the
    /// frame's link type (e.g. `ether host` on raw IP).
    pub fn matches(&mut self, frame: &Frame) -> Result<bool, FilterError> {
        let i = match self.programs.iter().position(|(l, _)| *l == frame.link) {
            Some(i) => i,
            None => {
                let prog = self.expr.compile(frame.link)?;
                self.programs.push((frame.link, prog));
                self.programs.len() - 1
            }
        };
        Ok(self.programs[i].1.filter(&frame.data))
    }
}

#[cfg(test)]
mod tests;
