//! oftsniff: passive recognition of AOL OSCAR File Transfer (OFT2) sessions.
//!
//! The modules follow the data flow, one stage each:
//! capture → decode → dispatch → reassembly → classify → session → output.
//! Threads: capture threads (`capture_thread`) | worker pool, one owner per flow
//! (`worker`) | event thread: correlation and logs (`event_thread`) | pcap writer thread.
//! `run` wires them together.

pub mod capture_thread;
pub mod cli;
pub mod config;
pub mod event_thread;
pub mod run;
pub mod stats;

pub mod capture;
pub mod decode;
pub mod dispatch;
pub mod flow;
pub mod reassembly;
pub mod worker;

pub mod classify;
pub mod passthrough;
pub mod proto;
pub mod session;

pub mod output;
