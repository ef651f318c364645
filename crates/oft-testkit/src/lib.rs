//! oft-testkit: the test tooling of oftsniff, kept out of the product crate.
//!
//! * [`gen`]: synthetic traffic — pcap files of scripted TCP connections and whole OFT
//!   transfers, for the tests and the benchmarks (binary `oftgen`).
//! * [`fuzz`]: what the fuzz targets in `fuzz/` run, shared with the regression tests that
//!   replay their findings on stable, and the seed corpora (`oftgen fuzz-seeds`).
//! * [`peer`]: test peers that speak AIM file transfer over real TCP sockets — a FLAP relay,
//!   an ARS proxy, a file sender and a file receiver (binary `oftpeer`).
//!
//! Every protocol byte comes from the parsers and emitters of `oftsniff::proto`; this crate
//! depends on `oftsniff`, never the other way round (oftsniff's integration tests use it as
//! a dev-dependency).

pub mod fuzz;
pub mod gen;
pub mod peer;
