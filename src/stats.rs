//! The one counters registry: everything counted in a run (frames, flows, gaps, what was
//! dropped, evicted or skipped) is a named field of [`Counters`]. Each thread owns its
//! own plain `Counters` (no atomics on the packet path) and increments only the fields
//! of its stage; `pipeline::run` merges them once at exit with [`Counters::add`]. The
//! `stats` event carries every field, in the order declared here, and [`Counters::lines`]
//! says every one that is not zero on stderr. Only the pcap writer thread keeps its own
//! record (`output::pcap_out::PcapOutStats`, the `stats` event's `pcap` object).

use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One counter, as [`Counters::iter`] yields it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counter {
    /// Field name, as in the `stats` event.
    pub name: &'static str,
    pub value: u64,
    /// What it counts, as its stderr line says after the number.
    pub what: &'static str,
}

/// Declares the registry: one `u64` field per counter, with its doc, its stderr wording,
/// and `add`, `iter` over them all.
macro_rules! counters {
    ($( $(#[doc = $doc:literal])+ $name:ident: $what:literal, )+) => {
        /// Every counter of a run; see the module documentation.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
        pub struct Counters {
            $( $(#[doc = $doc])+ pub $name: u64, )+
        }

        impl Counters {
            /// Field names, in order.
            pub const NAMES: &'static [&'static str] = &[$( stringify!($name) ),+];

            /// Adds every counter of `o` to this one.
            pub fn add(&mut self, o: &Counters) {
                $( self.$name += o.$name; )+
            }

            /// Every counter, in the order of the `stats` event.
            pub fn iter(&self) -> impl Iterator<Item = Counter> {
                [$( Counter { name: stringify!($name), value: self.$name, what: $what } ),+]
                    .into_iter()
            }


#[cfg(test)]
            fn fields_mut(&mut self) -> Vec<&mut u64> {
                vec![$( &mut self.$name ),+]
            }
        }
    };
}

counters! {
    /// Frames read from the NIC or file (capture threads).
    frames_captured: "frames captured",
    /// Frames the kernel dropped (PACKET_STATISTICS), 0 offline (capture threads).
    kernel_dropped: "frames dropped by kernel",
    /// Frames dropped inside oftsniff because a worker queue was full, live only
    /// (dispatcher, on the capture threads).
    queue_dropped: "frames dropped by oftsniff (queues full)",
    /// Frames that are not TCP: counted by the dispatcher when its shard hash sees it,
    /// by a worker when only a full decode does.
    non_tcp: "non-TCP frames skipped",
    /// Frames a worker could not decode.
    undecodable: "undecodable frames",
    /// IP fragments, skipped by the workers (not reassembled).
    ip_fragments: "IP fragments skipped",
    /// TCP flows opened in a worker's flow table.
    flows_seen: "flows seen",
    /// Flows evicted at `--max-flows`.
    flows_evicted: "flows evicted",
    /// Flows expired after `--idle-timeout` of packet time.
    flows_timed_out: "flows timed out",
    /// Holes in a stream given up as gaps.
    reassembly_gaps: "reassembly gaps",
    /// Bytes in those gaps.
    gap_bytes: "gap bytes",
    /// Overlapping copies of the same stream bytes whose content differed.
    overlaps_differing: "overlaps with differing bytes",
    /// Out-of-order bytes dropped from reassembly buffers.
    ooo_dropped_bytes: "out-of-order bytes dropped",
    /// Segments after which a direction's out-of-order buffer passed `--max-ooo-bytes`
    /// and its oldest holes were given up as gaps.
    ooo_limit_gaps: "holes given up at --max-ooo-bytes",
    /// Directions whose buffered holes were given up because the worker's reassembly
    /// memory passed `--max-reassembly-mem`.
    mem_limit_flushes: "holes given up at --max-reassembly-mem",
    /// Flows closed as evicted because the process passed `--memcap` (the longest idle
    /// first; workers).
    memcap_flows_evicted: "flows evicted at --memcap",
    /// Flows the session protects (a recognized transfer, a FLAP connection) evicted at
    /// `--memcap` because nothing else was left to evict (workers).
    memcap_protected_evicted: "protected flows (transfers) evicted at --memcap",
    /// Directions whose buffered holes were given up because the process passed
    /// `--memcap` (workers).
    memcap_ooo_flushes: "holes given up at --memcap",
    /// Frames held for pcap output by not-yet-recognized connections, given up because
    /// the process passed `--memcap` (the longest idle connections' first; workers).
    memcap_held_frames_dropped: "held frames given up at --memcap",
    /// Frames of not-yet-recognized connections not held past `--max-held-frames`
    /// (session handler, in the workers).
    held_frames_dropped: "frames not held for pcap output (--max-held-frames)",
    /// Transfers ended early because `--max-transfers` were followed (correlator, on the
    /// event thread).
    transfers_evicted: "transfers ended early (--max-transfers)",
    /// Reports the event thread correlated before a slower worker had caught up, because
    /// `Limits::max_held_reports` were held: only then can the output differ from a
    /// one-worker run.
    reports_forced: "reports correlated before every worker had caught up (too many held)",
    /// TCP frames whose payload the snap length cut short (captured length below the
    /// original, fewer payload bytes than the IP header claims); the missing bytes
    /// become gaps (workers).
    snaplen_truncated: "frames truncated by snaplen",
    /// Frames that reached a worker (all captured frames but those the dispatcher
    /// skipped as non-TCP or dropped at a full queue).
    worker_frames: "frames decoded by the workers",
    /// Connections recognized as OFT2, proxy or direct-IM data connections (session
    /// handler).
    data_conns: "data connections recognized",
    /// Connections recognized as FLAP (OSCAR) and read for rendezvous messages
    /// (session handler).
    flap_conns: "FLAP connections read for rendezvous messages",
    /// Bytes of data connections thrown away because their framing was lost or a
    /// direction waiting for the other side held too much (session handler).
    bytes_discarded: "bytes of data connections discarded (framing lost)",
    /// `--explain` ladder lines not kept past `Limits::max_ladder_lines` per connection
    /// (session handler).
    ladder_lines_dropped: "ladder lines not kept for --explain (too many per connection)",
    /// Payload bytes delivered in order with `--no-classify`, which only counts them.
    no_classify_bytes: "bytes reassembled and not classified (--no-classify)",
    /// RSTs ignored because their sequence number lay outside the receiver's window (a
    /// blind or stale reset, RFC 5961): the connection stays tracked (workers).
    rst_out_of_window: "RSTs ignored (sequence number outside the window)",
    /// SYNs ignored on a connection under way because they did not repeat its handshake
    /// (workers).
    syn_on_established: "SYNs ignored on established connections",
    /// Capture files of a multi-file `-r` skipped: unreadable, or damaged part way
    /// (their frames before the damage are kept) (capture thread).
    files_skipped: "capture files skipped (unreadable or damaged)",
    /// Frames of `-r` input the capture filter left out (capture thread); live, the kernel
    /// drops them before anyone can count them, as with tcpdump.
    frames_filtered: "frames left out by the capture filter (-r)",
    /// Transfers reported before their 5 s linger after their last connection closed was
    /// over, because `--max-held-transfers` were lingering (correlator): a leg reported
    /// later than that would start a transfer of its own.
    transfers_reported_early: "transfers reported before their linger ended (--max-held-transfers)",
    /// Reported transfers forgotten before their 60 s, because `--max-held-transfers`
    /// were remembered (correlator): a late report of one starts a transfer of its own.
    transfers_forgotten_early: "reported transfers forgotten early (--max-held-transfers)",
}

/// Printed on every run, like tcpdump's counters, whatever their value.
const ALWAYS: &[&str] = &[
    "frames_captured",
    "kernel_dropped",
    "queue_dropped",
    "non_tcp",
];

/// Printed on lines of several counters (below), not on lines of their own.
const GROUPED: &[&str] = &[
    "undecodable",
    "ip_fragments",
    "flows_seen",
    "flows_evicted",
    "flows_timed_out",
    "reassembly_gaps",
    "gap_bytes",
    "overlaps_differing",
    "snaplen_truncated",
    "ooo_limit_gaps",
    "mem_limit_flushes",
    "ooo_dropped_bytes",
    "memcap_flows_evicted",
    "memcap_protected_evicted",
    "memcap_ooo_flushes",
    "memcap_held_frames_dropped",
];

impl Counters {
    /// The exit summary for stderr: the tcpdump-style lines printed on every run, then
    /// one line for every other counter that is not zero.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .iter()
            .filter(|c| ALWAYS.contains(&c.name))
            .map(|c| format!("{} {}", c.value, c.what))
            .collect();
        if self.undecodable + self.ip_fragments > 0 {
            out.push(format!(
                "{} undecodable frames, {} IP fragments skipped",
                self.undecodable, self.ip_fragments
            ));
        }
        out.push(format!(
            "{} flows seen, {} evicted, {} timed out",
            self.flows_seen, self.flows_evicted, self.flows_timed_out
        ));
        out.push(format!(
            "{} reassembly gaps ({} bytes), {} overlaps with differing bytes",
            self.reassembly_gaps, self.gap_bytes, self.overlaps_differing
        ));
        out.push(format!(
            "{} frames truncated by snaplen",
            self.snaplen_truncated
        ));
        if self.ooo_limit_gaps + self.mem_limit_flushes + self.ooo_dropped_bytes > 0 {
            out.push(format!(
                "{} holes given up at --max-ooo-bytes, {} at --max-reassembly-mem, {} out-of-order bytes dropped",
                self.ooo_limit_gaps, self.mem_limit_flushes, self.ooo_dropped_bytes
            ));
        }
        let memcap = [
            self.memcap_flows_evicted,
            self.memcap_protected_evicted,
            self.memcap_ooo_flushes,
            self.memcap_held_frames_dropped,
        ];
        if memcap.iter().sum::<u64>() > 0 {
            out.push(format!(
                "{} flows evicted at --memcap (and {} protected transfers), {} holes given up at --memcap, {} held frames given up at --memcap",
                memcap[0], memcap[1], memcap[2], memcap[3]
            ));
        }
        out.extend(
            self.iter()
                .filter(|c| c.value > 0 && !ALWAYS.contains(&c.name) && !GROUPED.contains(&c.name))
                .map(|c| format!("{} {}", c.value, c.what)),
        );
        out
    }
}

/// The run's counters at its end, handed to the event thread for the `stats` event.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunTotals {
    /// Packet time of the run's end, in seconds.
    pub ts: f64,
    pub counters: Counters,
}

/// Counters each thread publishes while it runs, for the counters so far
/// (`--stats-interval`, `SIGUSR1`). Every thread still counts into its own copy; it
/// copies it here now and then (a lock per publication, never per frame).
#[derive(Clone, Default)]
pub struct Board(Arc<Mutex<Vec<Published>>>);

/// What one thread published: its counters, and the flows it follows now (a worker).
#[derive(Clone, Copy, Default)]
struct Published {
    counters: Counters,
    active_flows: u64,
}

/// How often a busy thread publishes at most.
const PUBLISH_EVERY: Duration = Duration::from_millis(200);

impl Board {
    /// A slot for one more thread.
    pub fn slot(&self) -> Slot {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        v.push(Published::default());
        Slot {
            board: self.0.clone(),
            index: v.len() - 1,
            last: None,
        }
    }

    /// The sum of what every thread published.
    pub fn sum(&self) -> Counters {
        self.sum_with_active().0
    }

    /// The sum of what every thread published, and the flows followed now.
    pub fn sum_with_active(&self) -> (Counters, u64) {
        let mut all = Counters::default();
        let mut active = 0;
        for p in self.0.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            all.add(&p.counters);
            active += p.active_flows;
        }
        (all, active)
    }
}

/// One thread's place on the [`Board`].
pub struct Slot {
    board: Arc<Mutex<Vec<Published>>>,
    index: usize,
    last: Option<Instant>,
}

impl Slot {
    /// Whether a publication is due: `idle` (about to wait, so what it has is current),
    /// or [`PUBLISH_EVERY`] since the last.
    pub fn due(&self, idle: bool) -> bool {
        idle || self.last.is_none_or(|t| t.elapsed() >= PUBLISH_EVERY)
    }

    pub fn publish(&mut self, c: Counters) {
        self.publish_with_active(c, 0);
    }

    /// Publishes with the number of flows the thread follows now.
    pub fn publish_with_active(&mut self, counters: Counters, active_flows: u64) {
        self.last = Some(Instant::now());
        if let Some(s) = self
            .board
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(self.index)
        {
            *s = Published {
                counters,
                active_flows,
            };
        }
    }
}

#[cfg(test)]
mod tests;
