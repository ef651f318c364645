//! Transfer state machines and rendezvous correlation.
