//! Measurement: per-op latency histograms, the per-second timeline, backend statistics over the
//! measured part, and the machine description.

mod machine;
mod recorder;
mod stats;

pub use machine::describe_machine;
pub use recorder::{summarize, Recorder};
pub use stats::{sample, summarize_stats};
