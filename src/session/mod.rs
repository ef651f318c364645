//! Transfer state machines and rendezvous correlation.
pub mod handler;
