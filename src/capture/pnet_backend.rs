//! Live capture through pnet's datalink channel: one `recvfrom` per frame. Portable and
//! simple, the fallback when the mmap ring is not wanted.
//!
//! pnet does not expose its socket, so the socket is made here and handed to pnet
//! (`Config::socket_fd`); the descriptor number is kept to read PACKET_STATISTICS, which
//! is the only way to learn what the kernel dropped, and to attach a capture filter to
//! (SO_ATTACH_FILTER: the kernel drops non-matching frames before they are queued). pnet does not report capture times
//! or original lengths: frames are stamped when they are read, and a frame longer than
//! the read buffer would be cut without notice, so the buffer is sized for GRO
//! super-frames.

use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pnet::datalink::{self, Channel, DataLinkReceiver, FanoutOption, FanoutType};

use super::error::CaptureError;
use super::filter::FilterExpr;
use super::frame::{Batch, Frame, FrameNo, LinkType, Timestamp};
use super::pool::{BufTaker, FramePool};
use super::ring::{self, KernelStats};

/// How long one receive call waits; bounds how late a partial batch is handed on.
const READ_TIMEOUT: Duration = Duration::from_millis(10);
/// How long `next_batch` waits for the first frame, so a stop request is seen in time.
const FIRST_FRAME_WAIT: Duration = Duration::from_millis(ring::POLL_INTERVAL_MS as u64);

/// Socket options for the pnet backend.
#[derive(Clone, Debug)]
pub struct PnetOptions {
    pub promisc: bool,
    /// Join this PACKET_FANOUT group (hash mode, defragmenting).
    pub fanout_group: Option<u16>,
    /// Kernel receive buffer (SO_RCVBUF); the queue that absorbs bursts.
    pub recv_buffer_bytes: usize,
    /// Largest frame read whole; longer ones are cut.
    pub max_frame_bytes: usize,
    /// A capture filter the kernel applies before a frame is queued.
    pub filter: Option<FilterExpr>,
    /// Bytes of each frame kept (`-s`); the length read is the original length.
    pub snaplen: u32,
}

impl Default for PnetOptions {
    fn default() -> Self {
        PnetOptions {
            promisc: true,
            fanout_group: None,
            recv_buffer_bytes: 64 << 20,
            max_frame_bytes: 256 << 10,
            filter: None,
            snaplen: super::DEFAULT_SNAPLEN,
        }
    }
}

pub struct PnetSource {
    iface: String,
    rx: Box<dyn DataLinkReceiver>,
    /// The socket, owned by `rx` (pnet closes it); valid exactly as long as `rx` lives.
    fd: RawFd,
    link: LinkType,
    stats: KernelStats,
    frames: u64,
    snaplen: usize,
    bufs: Box<BufTaker>,
}

impl PnetSource {
    pub fn open(iface: &str, opts: &PnetOptions) -> Result<PnetSource, CaptureError> {
        if iface == super::ANY_INTERFACE {
            return Err(CaptureError::Live {
                iface: iface.to_string(),
                what: "open pnet channel",
                source: io::Error::other(
                    "pnet's channel has no cooked mode for all interfaces; use --backend ring",
                ),
            });
        }
        let ni = datalink::interfaces()
            .into_iter()
            .find(|i| i.name == iface)
            .ok_or_else(|| CaptureError::NoSuchInterface {
                iface: iface.to_string(),
            })?;
        let sock = ring::open_packet_socket(iface)?;
        if opts.filter.is_some() {
            // pnet binds the socket; until the real filter is attached below, nothing in.
            ring::block_all(sock.as_raw_fd(), iface)?;
        }
        if ni.is_loopback() {
            // A plain read does not say which way a frame went, so the kernel must leave
            // out loopback's outgoing copies (the ring backend skips them itself).
            ring::ignore_outgoing(sock.as_raw_fd())
                .map_err(|e| CaptureError::from_os(iface, "skip loopback's outgoing copies", e))?;
        }
        let fd = sock.into_raw_fd();
        // A small receive buffer is where pnet's silent losses come from; a failure here
        // only means the default size stays, so capture goes on.
        let _ = ring::set_receive_buffer(fd, opts.recv_buffer_bytes);
        let config = datalink::Config {
            read_buffer_size: opts.max_frame_bytes,
            write_buffer_size: 4096,
            read_timeout: Some(READ_TIMEOUT),
            promiscuous: opts.promisc,
            linux_fanout: opts.fanout_group.map(|group_id| FanoutOption {
                group_id,
                fanout_type: FanoutType::HASH,
                defrag: true,
                rollover: false,
            }),
            socket_fd: Some(fd),
            ..datalink::Config::default()
        };
        // pnet owns (and on its error paths closes) the socket from here on.
        let rx = match datalink::channel(&ni, config) {
            Ok(Channel::Ethernet(_tx, rx)) => rx,
            Ok(_) => {
                return Err(CaptureError::Live {
                    iface: iface.to_string(),
                    what: "open pnet channel",
                    source: io::Error::other("pnet returned a channel of an unknown kind"),
                })
            }
            Err(e) => return Err(CaptureError::from_os(iface, "open pnet channel", e)),
        };
        let link = ring::bound_link_type(&fd, iface)?;
        if let Some(expr) = &opts.filter {
            // The whole frame: cut by the kernel, its original length would be lost (a
            // plain read does not report it); `-s` cuts on copy instead.
            ring::attach_filter(fd, iface, link, expr, u32::MAX)?;
        }
        Ok(PnetSource {
            iface: iface.to_string(),
            rx,
            fd,
            link,
            stats: KernelStats::default(),
            frames: 0,
            snaplen: (opts.snaplen as usize).max(1),
            bufs: Box::default(),
        })
    }

    pub fn link_type(&self) -> LinkType {
        self.link
    }

    /// Copies frames into buffers from `pool` when it has any.
    pub fn use_pool(&mut self, pool: &FramePool) {
        *self.bufs = pool.taker();
    }

    /// Appends up to `max` frames. Waits about one poll interval for the first frame;
    /// returns 0 when none came or `stop` is set.
    pub fn next_batch(
        &mut self,
        batch: &mut Batch,
        max: usize,
        stop: &AtomicBool,
    ) -> Result<usize, CaptureError> {
        let started = Instant::now();
        let mut added = 0;
        while added < max {
            match self.rx.next() {
                Ok(bytes) => {
                    self.frames += 1;
                    batch.push(Frame {
                        no: FrameNo(self.frames),
                        ts: now(),
                        orig_len: bytes.len() as u32,
                        link: self.link,
                        data: self.bufs.copy(&bytes[..bytes.len().min(self.snaplen)]),
                    });
                    added += 1;
                }
                Err(e) if is_idle(&e) => {
                    if added > 0
                        || stop.load(Ordering::Relaxed)
                        || started.elapsed() >= FIRST_FRAME_WAIT
                    {
                        break;
                    }
                }
                Err(e) => {
                    // pnet reports a poll error event without the cause; the socket has it.
                    let cause = ring::take_socket_error(&self.fd).unwrap_or(e);
                    return Err(CaptureError::from_os(&self.iface, "receive", cause));
                }
            }
        }
        Ok(added)
    }

    /// Kernel counters, accumulated (the kernel resets them on every read).
    pub fn stats(&mut self) -> Result<KernelStats, CaptureError> {
        let s = ring::read_packet_stats(&self.fd)
            .map_err(|e| CaptureError::from_os(&self.iface, "read PACKET_STATISTICS", e))?;
        self.stats.packets += s.packets;
        self.stats.drops += s.drops;
        Ok(self.stats)
    }

    /// Frames the kernel dropped so far; keeps the last known total if reading fails.
    pub fn kernel_drops(&mut self) -> u64 {
        self.stats().map(|s| s.drops).unwrap_or(self.stats.drops)
    }
}

fn is_idle(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_parts(d.as_secs(), d.subsec_nanos())
}
