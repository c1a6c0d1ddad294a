//! Measurement: per-op latency histograms, the per-second timeline, backend statistics over the
//! measured part, what the process used of the machine (device bytes, CPU, iowait), and the
//! machine description with its disk probed.

mod clock;
mod disk;
mod interval_log;
mod machine;
mod process;
mod recorder;
mod sampling;
mod stats;

pub use clock::{Clock, Ticks};
pub use interval_log::write_interval_log;
pub use machine::describe_machine;
pub use process::ProcessCounters;
pub use recorder::{
    merge_latencies, summarize, EventLatencies, IntervalHistogram, Recorded, Recorder,
};
pub use sampling::{stride_for, OpSampler, CALIBRATION_OPS, MAX_STRIDE, READ_BUDGET};
pub use stats::{sample, summarize_stats};
