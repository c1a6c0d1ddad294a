//! HdrHistogram interval logs (the Java `HistogramLogWriter` format): one compressed histogram
//! per second of a cell's measured part, for HistogramLogAnalyzer and friends.

use std::path::Path;
use std::time::SystemTime;

use anyhow::{anyhow, Result};
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;

use super::recorder::IntervalHistogram;
use crate::atomic::write_atomically;

/// Writes `intervals` (values in ns; the log's max values are in µs) as an interval log, with
/// `started` as the log's start time.
pub fn write_interval_log(
    path: &Path,
    started: SystemTime,
    cell: &str,
    intervals: &[IntervalHistogram],
) -> Result<()> {
    let mut bytes = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut writer = IntervalLogWriterBuilder::new()
            .add_comment(&format!("statebench cell {cell}: latency of every op, ns"))
            .with_start_time(started)
            .with_base_time(started)
            .with_max_value_divisor(1000.0)
            .begin_log_with(&mut bytes, &mut serializer)?;
        for interval in intervals {
            writer
                .write_histogram(
                    &interval.histogram,
                    interval.start,
                    interval.length,
                    Tag::new("all"),
                )
                .map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_atomically(path, &bytes)
}
