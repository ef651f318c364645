//! Getting generated traffic into pcap files: `PcapBuilder` merges whole conversations
//! (tests, scenarios); `SegmentWriter` streams segments straight to disk (workloads too big
//! to hold in memory).

use super::encode;
use super::tcp::{Segment, TcpConv};
use oftsniff::capture::{Frame, FrameNo, LinkType};
use oftsniff::output::pcapfile::PcapFileWriter;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Numbers frames 1.. in their current order, as a capture reader would.
pub fn number(frames: &mut [Frame]) {
    for (i, f) in frames.iter_mut().enumerate() {
        f.no = FrameNo(i as u64 + 1);
    }
}

/// Collects frames from any number of conversations and lays them out in time order.
/// Frames with equal timestamps keep the order in which they were added.
#[derive(Default)]
pub struct PcapBuilder {
    frames: Vec<Frame>,
}

impl PcapBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_conv(&mut self, conv: &TcpConv) -> &mut Self {
        self.add_segments(conv.segments())
    }

    /// Segments as produced, or as left by a `Mutator`.
    pub fn add_segments(&mut self, segs: &[Segment]) -> &mut Self {
        self.frames.extend(segs.iter().map(encode::frame));
        self
    }

    pub fn add_frames(&mut self, frames: impl IntoIterator<Item = Frame>) -> &mut Self {
        self.frames.extend(frames);
        self
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// All frames merged in time order and numbered from 1.
    pub fn into_frames(mut self) -> Vec<Frame> {
        self.frames.sort_by_key(|f| f.ts);
        number(&mut self.frames);
        self.frames
    }

    /// Writes the merged frames as a pcap stream; returns the number of frames.
    pub fn write_to<W: Write>(self, out: W) -> io::Result<u64> {
        let frames = self.into_frames();
        let mut w = PcapFileWriter::new(out, LinkType::Ethernet)?;
        for f in &frames {
            w.write_frame(f)?;
        }
        w.flush()?;
        Ok(frames.len() as u64)
    }

    pub fn write_file(self, path: &Path) -> io::Result<u64> {
        self.write_to(BufWriter::new(File::create(path)?))
    }
}

/// What a streamed capture ended up holding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureSummary {
    pub frames: u64,
    /// Size of the pcap stream, headers included.
    pub bytes: u64,
}

/// Encodes segments one by one into a pcap stream through one reused buffer, so memory
/// stays flat however large the capture grows. The caller keeps timestamps in order.
pub struct SegmentWriter<W: Write> {
    out: PcapFileWriter<W>,
    buf: Vec<u8>,
    frames: u64,
}

impl<W: Write> SegmentWriter<W> {
    pub fn new(out: W) -> io::Result<Self> {
        Ok(SegmentWriter {
            out: PcapFileWriter::new(out, LinkType::Ethernet)?,
            buf: Vec::with_capacity(2048),
            frames: 0,
        })
    }

    pub fn write_segment(&mut self, seg: &Segment) -> io::Result<()> {
        encode::encode_into(seg, &mut self.buf);
        self.out
            .write_record(seg.ts, self.buf.len() as u32, &self.buf)?;
        self.frames += 1;
        Ok(())
    }

    /// Writes and forgets everything `conv` has produced so far.
    pub fn drain(&mut self, conv: &mut TcpConv) -> io::Result<()> {
        for seg in conv.take_segments() {
            self.write_segment(&seg)?;
        }
        Ok(())
    }

    pub fn summary(&self) -> CaptureSummary {
        CaptureSummary {
            frames: self.frames,
            bytes: self.out.bytes_written(),
        }
    }

    /// Flushes and returns the summary and the underlying writer.
    pub fn finish(mut self) -> io::Result<(CaptureSummary, W)> {
        self.out.flush()?;
        let s = self.summary();
        Ok((s, self.out.into_inner()))
    }
}
