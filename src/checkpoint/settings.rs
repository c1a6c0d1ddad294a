//! Checkpoint settings: the mode, and Flink's `execution.checkpointing.*` options that matter here.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// How state is checkpointed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointMode {
    /// Checkpointing disabled (Flink's default: no interval set).
    None,
    /// The whole state written as one stream each time.
    Full,
    /// RocksDB only: flush + native checkpoint, upload of new SST files only.
    Incremental,
}

impl CheckpointMode {
    /// Every mode, in report order.
    pub const ALL: [CheckpointMode; 3] = [
        CheckpointMode::None,
        CheckpointMode::Full,
        CheckpointMode::Incremental,
    ];

    /// The name used on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            CheckpointMode::None => "none",
            CheckpointMode::Full => "full",
            CheckpointMode::Incremental => "incremental",
        }
    }
}

impl fmt::Display for CheckpointMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CheckpointMode {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(CheckpointMode::None),
            "full" => Ok(CheckpointMode::Full),
            "incremental" => Ok(CheckpointMode::Incremental),
            other => bail!("unknown checkpoint mode {other:?}: expected none, full or incremental"),
        }
    }
}

/// What happens to the retained checkpoints when the job ends (Flink's
/// `ExternalizedCheckpointRetention`). A cell ends its job as a cancellation does, after its
/// final checkpoint and savepoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Retention {
    /// Not externalized: deleted when the job ends (Flink's default).
    NoExternalizedCheckpoints,
    /// Deleted on cancellation (kept only when a job fails, which a cell that ends never does).
    DeleteOnCancellation,
    /// Kept on cancellation: the retained checkpoints stay where they were written (moved into
    /// the run directory when they were in the work directory).
    RetainOnCancellation,
}

impl Retention {
    /// Every value, by Flink's name.
    pub const ALL: [Retention; 3] = [
        Retention::NoExternalizedCheckpoints,
        Retention::DeleteOnCancellation,
        Retention::RetainOnCancellation,
    ];

    /// Flink's name of the value.
    pub fn name(self) -> &'static str {
        match self {
            Retention::NoExternalizedCheckpoints => "NO_EXTERNALIZED_CHECKPOINTS",
            Retention::DeleteOnCancellation => "DELETE_ON_CANCELLATION",
            Retention::RetainOnCancellation => "RETAIN_ON_CANCELLATION",
        }
    }
}

/// A checkpoint setting: Flink's `execution.checkpointing.*` options that matter here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointSetting {
    /// Mode.
    pub mode: CheckpointMode,
    /// `execution.checkpointing.interval`.
    pub interval: Duration,
    /// `execution.checkpointing.min-pause` (Flink default 0).
    pub min_pause: Duration,
    /// `execution.checkpointing.num-retained` (Flink default 1).
    pub retained: usize,
    /// `execution.checkpointing.timeout` (Flink default 10 min): a checkpoint not completed this
    /// long after its trigger expires and is aborted.
    pub timeout: Duration,
    /// `execution.checkpointing.tolerable-failed-checkpoints` (Flink default 0): consecutive
    /// failed checkpoints tolerated before the job fails.
    pub tolerable_failures: u32,
    /// `execution.checkpointing.max-concurrent-checkpoints` (Flink default 1).
    pub max_concurrent: usize,
    /// `execution.checkpointing.externalized-checkpoint-retention`.
    pub retention: Retention,
}

/// Flink's default `execution.checkpointing.timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

impl CheckpointSetting {
    /// A setting with Flink's defaults for everything but mode and interval.
    pub fn new(mode: CheckpointMode, interval: Duration) -> CheckpointSetting {
        CheckpointSetting {
            mode,
            interval,
            min_pause: Duration::ZERO,
            retained: 1,
            timeout: DEFAULT_TIMEOUT,
            tolerable_failures: 0,
            max_concurrent: 1,
            retention: Retention::NoExternalizedCheckpoints,
        }
    }
}

/// Longest duration statebench accepts anywhere (checkpoint interval, min pause): 2^40 ms,
/// about 34 years.
pub const MAX_DURATION: Duration = Duration::from_millis(1 << 40);

/// Shortest checkpoint interval, the same for `--interval`, `execution.checkpointing.interval`
/// and a workload's `checkpoint_interval_ms` (10 ms, Flink's own minimum).
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// Parses a duration as Flink writes them: `500ms`, `2s`, `1min`, `1 h`; a bare number is ms.
/// At most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let shown = crate::input::excerpt(text);
    let value: f64 = match number.parse() {
        Ok(v) if v >= 0.0 => v,
        _ => bail!("invalid duration {shown}: expected a number with a unit like 500ms, 2s, 1min"),
    };
    let millis = match unit.trim() {
        "" | "ms" | "milli" | "millis" | "milliseconds" => value,
        "s" | "sec" | "secs" | "second" | "seconds" => value * 1e3,
        "m" | "min" | "mins" | "minute" | "minutes" => value * 60e3,
        "h" | "hour" | "hours" => value * 3600e3,
        other => bail!(
            "invalid duration {shown}: unknown unit {} (use ms, s, min or h)",
            crate::input::excerpt(other)
        ),
    };
    let max_ms = MAX_DURATION.as_millis();
    if millis > max_ms as f64 {
        bail!("invalid duration {shown}: longer than the limit of {max_ms} ms (about 34 years)");
    }
    Ok(Duration::from_secs_f64(millis / 1e3))
}

/// Parses a checkpoint interval: a duration ([`parse_duration`]) of at least [`MIN_INTERVAL`].
pub fn parse_interval(text: &str) -> Result<Duration> {
    let interval = parse_duration(text)?;
    if interval < MIN_INTERVAL {
        bail!(
            "checkpoint interval {}: below the minimum of {} ms",
            crate::input::excerpt(text),
            MIN_INTERVAL.as_millis()
        );
    }
    Ok(interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_flink_writes_them() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1 min").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("250").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3 weeks").is_err());
        let huge = parse_duration("99999999999999999999h")
            .unwrap_err()
            .to_string();
        assert!(huge.contains("limit of 1099511627776 ms"), "{huge}");
        assert!(parse_duration("1e400").is_err());
        assert!(parse_duration("0s").is_ok());
        let zero = parse_interval("0s").unwrap_err().to_string();
        assert!(zero.contains("minimum of 10 ms"), "{zero}");
        assert_eq!(parse_interval("10ms").unwrap(), MIN_INTERVAL);
    }

    #[test]
    fn modes_round_trip_through_their_names() {
        for m in CheckpointMode::ALL {
            assert_eq!(m.name().parse::<CheckpointMode>().unwrap(), m);
        }
        assert!("sometimes".parse::<CheckpointMode>().is_err());
    }
}
