//! Transfer state machines and rendezvous correlation.
pub mod correlate;
pub mod flap;
pub mod framer;
pub mod handler;
pub mod machine;
pub mod merge;
pub mod phase;
pub mod pickup;
pub mod records;
pub mod report;

#[cfg(test)]
mod correlate_prediction_tests;
#[cfg(test)]
mod correlate_tests;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod machine_tests;
