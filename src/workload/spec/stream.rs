//! The event-time stream the operator models run on: how timestamps advance, how far events
//! arrive out of order, and when watermarks follow.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::field_path::FieldPath;

/// Longest time span a workload may name, ms (window sizes and slides, gaps, lateness, delays,
/// periods, join bounds, watermark intervals): 2^40 ms, about 34 years. Event times and
/// everything added to them then stay far inside an `i64`.
pub const MAX_SPAN_MS: u64 = 1 << 40;
/// Latest event time a stream may reach, ms: `events` × the mean gap may not exceed 2^53 (about
/// 285,000 years), where event times are still exact in the `f64` clock.
pub const MAX_EVENT_TIME_MS: f64 = (1u64 << 53) as f64;

/// Checks that field `name` of `at`, a time span, is at most [`MAX_SPAN_MS`].
pub(crate) fn check_span(at: &FieldPath, name: &str, ms: u64) -> Result<()> {
    if ms > MAX_SPAN_MS {
        return at.invalid(name, &format!("at most {MAX_SPAN_MS} ms"), ms);
    }
    Ok(())
}

/// The event-time stream: how timestamps advance, how many events arrive out of order, and how
/// watermarks follow (Flink's `BoundedOutOfOrdernessWatermarks`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    /// Event-time gap between consecutive events.
    pub gap: GapDistribution,
    /// Fraction of events whose timestamp lies behind the stream's clock.
    #[serde(default)]
    pub out_of_order_fraction: f64,
    /// How far behind (uniform up to this, ms) an out-of-order event's timestamp lies.
    #[serde(default)]
    pub max_delay_ms: u64,
    /// The watermark's bound on out-of-orderness, ms: watermark = max timestamp − this − 1.
    #[serde(default)]
    pub watermark_delay_ms: u64,
    /// Event time between watermarks, ms (Flink's auto-watermark interval, 200 ms by default).
    pub watermark_interval_ms: u64,
}

/// Distribution of event-time gaps between events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum GapDistribution {
    /// Always `ms`.
    Constant {
        /// Gap, ms.
        ms: f64,
    },
    /// Exponential with this mean (a Poisson arrival process).
    Exponential {
        /// Mean gap, ms.
        mean_ms: f64,
    },
    /// Uniform in `[min_ms, max_ms]`.
    Uniform {
        /// Smallest gap, ms.
        min_ms: f64,
        /// Largest gap, ms.
        max_ms: f64,
    },
    /// Normal, clamped at 0 (events never go back in arrival order).
    Normal {
        /// Mean gap, ms.
        mean_ms: f64,
        /// Standard deviation, ms.
        std_dev_ms: f64,
    },
}

impl StreamSpec {
    /// The mean gap between events and the gap's spread (width or standard deviation), ms.
    pub(crate) fn gap_moments(&self) -> (f64, f64) {
        match self.gap {
            GapDistribution::Constant { ms } | GapDistribution::Exponential { mean_ms: ms } => {
                (ms, 0.0)
            }
            GapDistribution::Uniform { min_ms, max_ms } => {
                ((min_ms + max_ms) / 2.0, max_ms - min_ms)
            }
            GapDistribution::Normal {
                mean_ms,
                std_dev_ms,
            } => (mean_ms, std_dev_ms),
        }
    }

    /// Checks the gaps, the disorder and the watermark interval; `at` is where this spec stands
    /// (`stream`); `events` is the workload's event count, which with the mean gap bounds the
    /// latest event time ([`MAX_EVENT_TIME_MS`]).
    pub(crate) fn validate(&self, at: &FieldPath, events: u64) -> Result<()> {
        let (gap, spread) = self.gap_moments();
        let max = MAX_SPAN_MS as f64;
        if !(gap.is_finite() && gap > 0.0 && gap <= max) {
            return at.invalid(
                "gap",
                &format!("a mean gap > 0 and at most {MAX_SPAN_MS} ms"),
                gap,
            );
        }
        if !(spread.is_finite() && (0.0..=max).contains(&spread)) {
            return at.invalid(
                "gap",
                &format!(
                    "min_ms <= max_ms and std_dev_ms >= 0, a spread of at most {MAX_SPAN_MS} ms"
                ),
                spread,
            );
        }
        if gap * events as f64 > MAX_EVENT_TIME_MS {
            return at.invalid(
                "gap",
                &format!(
                    "a mean gap × events ({events}) of at most {MAX_EVENT_TIME_MS} ms of event time"
                ),
                gap,
            );
        }
        if let GapDistribution::Uniform { min_ms, .. } = self.gap {
            if min_ms < 0.0 {
                return at.invalid("gap.min_ms", "a gap >= 0 ms", min_ms);
            }
        }
        if !(0.0..=1.0).contains(&self.out_of_order_fraction) {
            return at.invalid(
                "out_of_order_fraction",
                "a fraction from 0 to 1",
                self.out_of_order_fraction,
            );
        }
        if self.watermark_interval_ms == 0 {
            return at.invalid("watermark_interval_ms", "at least 1", 0);
        }
        check_span(at, "watermark_interval_ms", self.watermark_interval_ms)?;
        check_span(at, "max_delay_ms", self.max_delay_ms)?;
        check_span(at, "watermark_delay_ms", self.watermark_delay_ms)
    }
}
