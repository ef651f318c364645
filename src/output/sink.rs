//! The event thread: takes events from the workers and writes them out, as NDJSON to
//! `--json` and as readable lines to stdout, in the order they arrive.

use super::event::Event;
use crossbeam_channel::Receiver;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Where events go.
pub struct EventSink {
    json: Option<Box<dyn Write + Send>>,
    human: Option<Box<dyn Write + Send>>,
    verbose: bool,
}

impl EventSink {
    /// Opens `--json` before capture starts, so a bad path fails at once.
    pub fn open(json: Option<&Path>, human: bool, verbose: bool) -> io::Result<EventSink> {
        let json_to_stdout = json.is_some_and(|p| p.as_os_str() == "-");
        let json: Option<Box<dyn Write + Send>> = match json {
            None => None,
            Some(p) if p.as_os_str() == "-" => Some(Box::new(io::stdout())),
            Some(p) => Some(Box::new(BufWriter::with_capacity(1 << 16, File::create(p)?))),
        };
        // With `--json -` stdout carries NDJSON only, so tools can pipe it.
        let human: Option<Box<dyn Write + Send>> = if human && !json_to_stdout {
            Some(Box::new(io::stdout()))
        } else {
            None
        };
        Ok(EventSink { json, human, verbose })
    }

    pub fn write(&mut self, ev: &Event) -> io::Result<()> {
        if let Some(j) = self.json.as_mut() {
            serde_json::to_writer(&mut *j, ev)?;
            j.write_all(b"\n")?;
        }
        if let Some(h) = self.human.as_mut() {
            if let Some(line) = human_line(ev, self.verbose) {
                writeln!(h, "{line}")?;
            }
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(j) = self.json.as_mut() {
            j.flush()?;
        }
        if let Some(h) = self.human.as_mut() {
            h.flush()?;
        }
        Ok(())
    }

    /// Runs until every sender hung up.
    pub fn run(mut self, rx: Receiver<Event>) -> io::Result<EventSink> {
        for ev in rx.iter() {
            self.write(&ev)?;
        }
        self.flush()?;
        Ok(self)
    }
}

/// The readable line for an event, if it has one.
fn human_line(ev: &Event, verbose: bool) -> Option<String> {
    match ev {
        Event::Flow(f) if verbose => Some(format!(
            "{:.6} flow  {} -> {} {}{} pkts {}/{} bytes {}/{} gaps {} ({} B)",
            f.ts,
            f.client,
            f.server,
            f.close,
            if f.midstream { " midstream" } else { "" },
            f.packets_c2s,
            f.packets_s2c,
            f.bytes_c2s,
            f.bytes_s2c,
            f.gaps,
            f.gap_bytes
        )),
        _ => None,
    }
}
