//! Measurement: per-op latency histograms, the per-second timeline, and the machine description.

mod machine;
mod recorder;

pub use machine::describe_machine;
pub use recorder::{summarize, Recorder};
