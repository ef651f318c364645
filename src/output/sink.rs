//! The event thread: takes events from the workers and writes them out, as NDJSON to
//! `--json` and as readable lines to stdout, in the order they arrive.

use super::schema::StatsRecord;
use crate::session::event::Event;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

fn file_id(f: &File) -> io::Result<(u64, u64)> {
    f.metadata().map(|m| (m.dev(), m.ino()))
}

/// Where events go.
pub struct EventSink {
    json: Option<Box<dyn Write + Send>>,
    human: Option<Box<dyn Write + Send>>,
    verbose: bool,
    /// `--json FILE`: its path and the device and inode it named when opened, for
    /// `SIGHUP` (reopen when logrotate renamed it).
    json_file: Option<(PathBuf, (u64, u64))>,
    /// One JSON line, built in memory and handed to the writer whole: serde's many
    /// small writes cost more through a boxed writer than the serializing itself.
    line: Vec<u8>,
}

impl EventSink {
    /// Opens `--json` before capture starts, so a bad path fails at once.
    pub fn open(json: Option<&Path>, human: bool, verbose: bool) -> io::Result<EventSink> {
        let json_to_stdout = json.is_some_and(|p| p.as_os_str() == "-");
        let mut json_file = None;
        let json: Option<Box<dyn Write + Send>> = match json {
            None => None,
            Some(p) if p.as_os_str() == "-" => Some(Box::new(io::stdout())),
            Some(p) => {
                let f = File::create(p)?;
                json_file = Some((p.to_path_buf(), file_id(&f)?));
                Some(Box::new(BufWriter::with_capacity(1 << 16, f)))
            }
        };
        // With `--json -` stdout carries NDJSON only, so tools can pipe it.
        let human: Option<Box<dyn Write + Send>> = if human && !json_to_stdout {
            Some(Box::new(io::stdout()))
        } else {
            None
        };
        Ok(EventSink {
            json,
            human,
            verbose,
            json_file,
            line: Vec::with_capacity(1024),
        })
    }

    /// The readable log goes to `w` instead of stdout (the status area's log), when
    /// there is one.
    pub fn route_human(&mut self, w: Box<dyn Write + Send>) {
        if self.human.is_some() {
            self.human = Some(w);
        }
    }

    /// Whether the readable log is written (to stdout).
    pub fn has_human(&self) -> bool {
        self.human.is_some()
    }

    pub fn write(&mut self, ev: &Event) -> io::Result<()> {
        if let Some(j) = self.json.as_mut() {
            self.line.clear();
            super::schema::write_event(&mut self.line, ev)?;
            j.write_all(&self.line)?;
        }
        if let Some(h) = self.human.as_mut() {
            if let Some(line) = super::human::line(ev, self.verbose) {
                writeln!(h, "{line}")?;
            }
        }
        Ok(())
    }

    /// The run's counters: a `stats` record in the JSON output (the readable log gets
    /// them as counter lines at exit instead).
    pub fn write_stats(&mut self, s: &StatsRecord) -> io::Result<()> {
        if let Some(j) = self.json.as_mut() {
            self.line.clear();
            super::schema::write_stats(&mut self.line, s)?;
            j.write_all(&self.line)?;
        }
        Ok(())
    }

    /// `SIGHUP`: when the `--json` file was renamed or removed (logrotate), writes what
    /// is buffered to it and goes on in a new file at its path (appended to, should one
    /// have appeared there). Returns whether it did.
    pub fn reopen(&mut self) -> io::Result<bool> {
        let Some((path, id)) = self.json_file.as_mut() else {
            return Ok(false);
        };
        if std::fs::metadata(&*path).is_ok_and(|m| (m.dev(), m.ino()) == *id) {
            return Ok(false);
        }
        if let Some(j) = self.json.as_mut() {
            j.flush()?;
        }
        let f = OpenOptions::new().create(true).append(true).open(&*path)?;
        *id = file_id(&f)?;
        self.json = Some(Box::new(BufWriter::with_capacity(1 << 16, f)));
        Ok(true)
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
}
