//! Identity of a TCP connection: endpoints, the direction-free key, and the hash that
//! shards flows over workers.

pub mod key;

pub use key::{Direction, Endpoint, FlowKey};
