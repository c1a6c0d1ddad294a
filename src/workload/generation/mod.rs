//! Generation primitives.

pub(crate) mod distribution;
pub(crate) mod stream;
pub(crate) mod timers;
