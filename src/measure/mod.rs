//! Measurement: per-op latency histograms, the per-second timeline, backend statistics over the
//! measured part, and the machine description with its disk probed.

mod clock;
mod disk;
mod interval_log;
mod machine;
mod recorder;
mod stats;

pub use clock::{Clock, Ticks};
pub use interval_log::write_interval_log;
pub use machine::describe_machine;
pub use recorder::{summarize, EventLatencies, IntervalHistogram, Recorded, Recorder};
pub use stats::{sample, summarize_stats};
