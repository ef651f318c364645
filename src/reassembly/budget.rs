//! The process-wide memory budget (`--memcap`): one byte account that every worker's flow
//! table charges for what it holds (flows, their handler state, reassemblers and
//! out-of-order bytes) and that each table relieves, by eviction, when it runs over.
//!
//! One shared account rather than `memcap / workers` per worker: a flood is not spread
//! evenly (one connection's out-of-order segments all hash to one worker), and a split
//! budget would evict on the loaded worker while the others' shares sit unused. The cost
//! is an atomic add when a table's holdings change (a flow opens or closes, a buffer
//! grows), not per frame; `Relaxed` is enough, as the account is a bound, not a lock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct MemBudget {
    used: Arc<AtomicUsize>,
    limit: usize,
}

impl MemBudget {
    /// An empty account of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        MemBudget {
            used: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes charged now, over all tables.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    pub fn over(&self) -> bool {
        self.used() > self.limit
    }

    /// Bytes to give back to be within the limit again.
    pub fn excess(&self) -> usize {
        self.used().saturating_sub(self.limit)
    }

    /// The limit divided among the accounts' holders (one per worker's table, and any
    /// other clone): if every table held no more than this, the process would be within
    /// the limit, so one that is over it knows the excess is (partly) its own.
    pub fn share(&self) -> usize {
        self.limit / Arc::strong_count(&self.used).max(1)
    }

    /// Records a holding that went from `before` to `after` bytes.
    pub fn change(&self, before: usize, after: usize) {
        if after > before {
            self.used.fetch_add(after - before, Ordering::Relaxed);
        } else if before > after {
            self.used.fetch_sub(before - after, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_account() {
        let a = MemBudget::new(100);
        let b = a.clone();
        a.change(0, 80);
        b.change(0, 30);
        assert_eq!(a.used(), 110);
        assert!(b.over());
        assert_eq!(a.excess(), 10);
        b.change(30, 0);
        assert!(!a.over());
        assert_eq!(b.used(), 80);
        assert_eq!(a.share(), 50);
        let c = b.clone();
        assert_eq!(c.share(), 33);
        drop((b, c));
        assert_eq!(a.share(), 100);
    }
}
