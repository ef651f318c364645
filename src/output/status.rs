//! The live status area on a terminal: under the scrolling log, one progress bar per
//! transfer under way and a footer with the capture's counters. Fed by the event thread
//! (typed events, never the packet path) and drawn by indicatif, rate limited; the
//! footer is refreshed from the counters [`Board`] by a thread of its own a few times a
//! second. Log lines go through [`StatusLog`] so they scroll above the bars.

use crate::flow::Endpoint;
use crate::session::event::{Event, Step, TransferId};
use crate::stats::Board;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the footer is refreshed.
const FOOTER_EVERY: Duration = Duration::from_millis(250);

/// The bar of a transfer: `T1 [#####-----]  42% 1.2 MiB/2.9 MiB 3.1 MiB/s ETA 1s …`.
const BAR_TEMPLATE: &str = "{prefix:<4} [{bar:30.cyan/blue}] {percent:>3}% \
{bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} ETA {eta:<4} {wide_msg}";

/// Who sends and who receives, as the status line names them.
pub struct Parties {
    pub sender: Option<Endpoint>,
    pub receiver: Option<Endpoint>,
    pub sender_name: Option<String>,
    pub receiver_name: Option<String>,
}

impl Parties {
    fn label(&self) -> Option<String> {
        let side = |name: &Option<String>, ep: &Option<Endpoint>| match (name, ep) {
            (Some(n), Some(e)) => Some(format!("{n} ({e})")),
            (Some(n), None) => Some(n.clone()),
            (None, Some(e)) => Some(e.to_string()),
            (None, None) => None,
        };
        let s = side(&self.sender_name, &self.sender)?;
        let r = side(&self.receiver_name, &self.receiver)?;
        Some(format!("{s} → {r}"))
    }
}

struct Bar {
    pb: ProgressBar,
    name: String,
    parties: Option<String>,
    /// The correlator named both parties (their screen names, say): final.
    settled: bool,
}

impl Bar {
    fn show_message(&self) {
        let who = self.parties.as_deref().unwrap_or("? → ?");
        self.pb.set_message(format!("{who} {:?}", self.name));
    }
}

/// The status area of a run.
pub struct Status {
    mp: MultiProgress,
    bars: BTreeMap<TransferId, Bar>,
    footer: ProgressBar,
    /// Transfers ended so far, for the footer.
    ended: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl Status {
    /// The status area, when stdout is a terminal; None otherwise.
    pub fn on_terminal(board: Board) -> Option<Status> {
        if !io::stdout().is_terminal() {
            return None;
        }
        let mp = MultiProgress::with_draw_target(ProgressDrawTarget::stdout_with_hz(10));
        let footer = mp.add(ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{wide_msg}").unwrap_or(ProgressStyle::default_bar()),
        ));
        footer.set_message("waiting for frames");
        let ended = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (footer, ended, stop) = (footer.clone(), ended.clone(), stop.clone());
            std::thread::Builder::new()
                .name("status".into())
                .spawn(move || footer_loop(&footer, &board, &ended, &stop))
                .ok()
        };
        Some(Status {
            mp,
            bars: BTreeMap::new(),
            footer,
            ended,
            stop,
            ticker,
        })
    }

    /// A writer for the log lines: each complete line printed above the bars.
    pub fn log(&self) -> StatusLog {
        StatusLog {
            mp: self.mp.clone(),
            buf: Vec::new(),
        }
    }

    /// Runs `f` (writing to stderr, say) with the status area out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.mp.suspend(f)
    }

    /// Follows one event: a PROMPT starts (or renames) a transfer's bar, its data phases
    /// and progress move it, its `file` or `transfer` event ends it.
    pub fn event(&mut self, ev: &Event) {
        match ev {
            Event::Phase {
                transfer, phase, ..
            } => match &phase.step {
                Step::Prompt(p) => {
                    let bar = self.bar(*transfer, &p.name);
                    if let (None, Some((from, to))) = (&bar.parties, p.ends) {
                        bar.parties = Some(format!("{from} → {to}"));
                        bar.show_message();
                    }
                    bar.pb.set_length(p.size);
                    bar.pb.set_position(0);
                    bar.pb.reset_eta();
                }
                Step::DataStart { offset } => self.moved(*transfer, *offset),
                Step::DataEnd { bytes } | Step::Done { bytes, .. } => self.moved(*transfer, *bytes),
                _ => {}
            },
            Event::Progress {
                transfer,
                progress: p,
            } => {
                let bar = self.bar(*transfer, &p.name);
                if bar.pb.length() != Some(p.size) {
                    bar.pb.set_length(p.size);
                }
                bar.pb.set_position(p.bytes);
            }
            Event::File { transfer, .. } => self.end(*transfer),
            Event::Transfer(t) => {
                self.end(t.transfer);
                self.ended.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    /// Bars whose parties the correlator has not named yet: asks it (`parties`). Until
    /// then a bar names the ends of the connection its PROMPT crossed.
    pub fn fill_parties(&mut self, parties: impl Fn(TransferId) -> Option<Parties>) {
        for (t, bar) in self.bars.iter_mut().filter(|(_, b)| !b.settled) {
            if let Some(label) = parties(*t).and_then(|p| p.label()) {
                bar.parties = Some(label);
                bar.settled = true;
                bar.show_message();
            }
        }
    }

    fn bar(&mut self, t: TransferId, name: &str) -> &mut Bar {
        let mp = &self.mp;
        let footer = &self.footer;
        let bar = self.bars.entry(t).or_insert_with(|| {
            let style = ProgressStyle::with_template(BAR_TEMPLATE)
                .unwrap_or(ProgressStyle::default_bar())
                .progress_chars("#>-");
            let pb = mp.insert_before(footer, ProgressBar::new(0).with_style(style));
            pb.set_prefix(t.to_string());
            Bar {
                pb,
                name: String::new(),
                parties: None,
                settled: false,
            }
        });
        if bar.name != name {
            bar.name = name.to_string();
            bar.show_message();
        }
        bar
    }

    fn moved(&mut self, t: TransferId, bytes: u64) {
        if let Some(bar) = self.bars.get(&t) {
            bar.pb.set_position(bytes);
        }
    }

    fn end(&mut self, t: TransferId) {
        if let Some(bar) = self.bars.remove(&t) {
            bar.pb.finish_and_clear();
            self.mp.remove(&bar.pb);
        }
    }

    /// Clears the area, leaving the log as it scrolled (at exit, before the counters).
    pub fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        for (_, bar) in std::mem::take(&mut self.bars) {
            bar.pb.finish_and_clear();
        }
        self.footer.finish_and_clear();
        let _ = self.mp.clear();
    }
}

impl Drop for Status {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The footer's thread: frames per second, drops, active flows and transfers so far,
/// from what the other threads published on the board.
fn footer_loop(footer: &ProgressBar, board: &Board, ended: &AtomicU64, stop: &AtomicBool) {
    let mut last: Option<(Instant, u64)> = None;
    let mut fps = 0.0;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(FOOTER_EVERY);
        let (c, active_flows) = board.sum_with_active();
        let now = Instant::now();
        if let Some((t, frames)) = last {
            let secs = now.duration_since(t).as_secs_f64();
            if secs > 0.0 {
                fps = c.frames_captured.saturating_sub(frames) as f64 / secs;
            }
        }
        last = Some((now, c.frames_captured));
        footer.set_message(format!(
            "{fps:.0} frames/s, {} frames | dropped: {} by kernel, {} by oftsniff | \
             {active_flows} flows active | {} transfers ended",
            c.frames_captured,
            c.kernel_dropped,
            c.queue_dropped,
            ended.load(Ordering::Relaxed)
        ));
    }
}

/// The log through the status area: each complete line printed above the bars.
pub struct StatusLog {
    mp: MultiProgress,
    buf: Vec<u8>,
}

impl Write for StatusLog {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        if let Some(end) = self.buf.iter().rposition(|&c| c == b'\n') {
            let rest = self.buf.split_off(end + 1);
            let lines = std::mem::replace(&mut self.buf, rest);
            let text = String::from_utf8_lossy(&lines[..end]);
            self.mp.println(text)?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
