//! What the repeats say, as results.json keeps it beside the raw numbers: per cell and metric a
//! median with its 95% bootstrap interval, whether each repeat reached a steady state, and the
//! ranking of the cells by throughput with the ratio of each to the fastest and its interval.
//! Computed by `analysis` (seeded, so the same results always give the same figures).

use serde::{Deserialize, Serialize};

/// A median and its confidence interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The median (of the repeats, or of a ratio's resamples).
    pub median: f64,
    /// Lower bound of the interval.
    pub low: f64,
    /// Upper bound of the interval.
    pub high: f64,
}

impl Estimate {
    /// Whether the interval holds `value`.
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }

    /// Whether this interval of a ratio lies wholly beyond `1 ± margin` (above `1 + margin` or
    /// below `1 / (1 + margin)`): a difference both beyond the noise and larger than `margin`.
    pub fn beyond(&self, margin: f64) -> bool {
        self.low > 1.0 + margin || self.high < 1.0 / (1.0 + margin)
    }
}

/// The analysis of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Seed of the bootstrap resampling.
    pub seed: u64,
    /// Bootstrap resamples per interval.
    pub resamples: usize,
    /// Confidence level of every interval (0.95).
    pub confidence: f64,
    /// The smallest difference the recommendation acts on, as a fraction (0.10): a ratio
    /// between two cells decides only when its interval lies wholly beyond 1 ± this.
    #[serde(default)]
    pub practical_margin: f64,
    /// Per cell, in the order of `Results::cells`.
    pub cells: Vec<CellStatistics>,
    /// Every cell by median throughput, fastest first.
    pub ranking: Vec<Ranked>,
}

/// A cell's statistics over its repeats.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CellStatistics {
    /// The cell.
    pub cell: String,
    /// Repeats measured.
    pub repeats: usize,
    /// Events per second: resampled over repeats and over each repeat's seconds.
    pub events_per_s: Estimate,
    /// Ops per second, likewise.
    pub ops_per_s: Estimate,
    /// All-ops median latency, ns (resampled over repeats).
    pub p50_ns: Estimate,
    /// All-ops p99, ns.
    pub p99_ns: Estimate,
    /// All-ops p99.9, ns.
    pub p999_ns: Estimate,
    /// Mean checkpoint duration (sync + async), ms.
    pub checkpoint_ms: Option<Estimate>,
    /// Longest checkpoint, ms.
    pub max_checkpoint_ms: Option<Estimate>,
    /// Mean synchronous phase (the operator's stall), ms.
    pub sync_ms: Option<Estimate>,
    /// Size of the last checkpoint, bytes.
    pub checkpoint_bytes: Option<Estimate>,
    /// Recovery time, ms: the restore of the final checkpoint (see `analysis::recovery_ms`).
    pub recovery_ms: Option<Estimate>,
    /// Peak resident memory of the repeat's process, bytes.
    pub peak_rss_bytes: Option<Estimate>,
    /// Per repeat: its measured part and its throughput trend.
    pub steady: Vec<SteadyState>,
}

impl CellStatistics {
    /// Whether some repeat's throughput drifted.
    pub fn drifting(&self) -> bool {
        self.steady
            .iter()
            .any(|s| s.trend.as_ref().is_some_and(|t| t.drifting))
    }

    /// Whether some repeat's measured part held fewer checkpoint intervals than required.
    pub fn short(&self) -> bool {
        self.steady.iter().any(|s| !s.enough_intervals)
    }
}

/// Whether one repeat's measured part was long and steady enough.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SteadyState {
    /// The repeat.
    pub repeat: u32,
    /// Length of the measured part, seconds.
    pub measured_s: f64,
    /// Checkpoint intervals it held (0 without checkpoints).
    pub checkpoint_intervals: f64,
    /// Whether that is at least `analysis::MIN_CHECKPOINT_INTERVALS` (always for cells without
    /// checkpoints).
    pub enough_intervals: bool,
    /// Events it measured, when its stream was continued past the workload's events to hold
    /// enough intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_events: Option<u64>,
    /// The trend of its per-second throughput; None when it has too few whole seconds.
    pub trend: Option<Trend>,
}

/// The trend of a repeat's per-second throughput.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    /// Theil–Sen slope, ops/s per second.
    pub slope_per_s: f64,
    /// The slope over the whole measured part relative to the median per-second throughput.
    pub change: f64,
    /// Two-sided p-value of the Mann–Kendall test (no trend).
    pub p_value: f64,
    /// Significant and large: p < `analysis::TREND_P` and |change| ≥ `analysis::TREND_CHANGE`.
    pub drifting: bool,
}

/// One cell in the throughput ranking.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    /// The cell.
    pub cell: String,
    /// Its median ops per second over the fastest cell's, with the interval of that ratio.
    pub ratio_to_fastest: Estimate,
    /// Whether the interval holds 1: no difference from the fastest beyond the noise.
    pub tied_with_fastest: bool,
    /// Whether it is faster than the next cell beyond the noise (None for the last).
    pub ahead_of_next: Option<bool>,
}
