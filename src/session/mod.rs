//! Transfer state machines and rendezvous correlation.
pub mod correlate;
pub mod digest;
pub mod event;
pub mod flap;
pub mod framer;
pub mod handler;
pub mod machine;
pub mod merge;
pub mod phase;
pub mod record;
pub mod rendezvous;
pub mod report;
pub mod store;

pub use event::TransferId;

#[cfg(test)]
mod tests;
