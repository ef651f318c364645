//! One line per step on stderr: `[  0.012] oftpeer send alice: …`.

use std::fmt;
use std::time::Instant;

/// Step logger of one role; cheap to clone into threads.
#[derive(Clone, Debug)]
pub struct Log {
    who: String,
    start: Instant,
}

impl Log {
    pub fn new(who: impl Into<String>) -> Log {
        Log {
            who: who.into(),
            start: Instant::now(),
        }
    }

    /// Same clock, a more specific label (a connection of a server role).
    pub fn child(&self, what: impl fmt::Display) -> Log {
        Log {
            who: format!("{} {what}", self.who),
            start: self.start,
        }
    }

    pub fn step(&self, msg: impl fmt::Display) {
        let t = self.start.elapsed().as_secs_f64();
        eprintln!("[{t:8.3}] oftpeer {}: {msg}", self.who);
    }
}
