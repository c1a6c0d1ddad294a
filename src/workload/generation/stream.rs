//! The event-time stream: timestamps that advance by a gap distribution, a fraction of events that
//! arrive out of order, and periodic watermarks as Flink's `BoundedOutOfOrdernessWatermarks` emits
//! them (max timestamp seen − bound − 1, every watermark interval of event time).

use rand::RngExt;

use super::draws::Draws;
use crate::workload::op::ValueRef;
use crate::workload::spec::{GapDistribution, StreamSpec};

/// One input record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    /// The record's key.
    pub key: u64,
    /// Event timestamp, ms.
    pub timestamp: i64,
    /// The record's value.
    pub value: ValueRef,
}

/// Generates events and the watermarks between them.
#[derive(Clone, Debug)]
pub(crate) struct EventStream {
    gap: GapDistribution,
    out_of_order_fraction: f64,
    max_delay_ms: i64,
    watermark_delay_ms: i64,
    watermark_interval_ms: i64,
    clock_ms: f64,
    max_timestamp: i64,
    next_watermark_at: i64,
    watermark: i64,
}

impl EventStream {
    /// The stream `spec` describes, before its first event.
    pub(crate) fn new(spec: &StreamSpec) -> EventStream {
        EventStream {
            gap: spec.gap.clone(),
            out_of_order_fraction: spec.out_of_order_fraction,
            max_delay_ms: spec.max_delay_ms as i64,
            watermark_delay_ms: spec.watermark_delay_ms as i64,
            watermark_interval_ms: spec.watermark_interval_ms as i64,
            clock_ms: 0.0,
            max_timestamp: i64::MIN,
            next_watermark_at: spec.watermark_interval_ms as i64,
            watermark: i64::MIN,
        }
    }

    /// The next event, and the watermark emitted just before it, if one was due.
    pub(crate) fn next(&mut self, draws: &mut Draws) -> (Event, Option<i64>) {
        let gap = match self.gap {
            GapDistribution::Constant { ms } => ms,
            GapDistribution::Exponential { mean_ms } => {
                let u: f64 = draws.rng.random();
                -mean_ms * (1.0 - u).ln()
            }
            GapDistribution::Uniform { min_ms, max_ms } => {
                let u: f64 = draws.rng.random();
                min_ms + u * (max_ms - min_ms)
            }
            GapDistribution::Normal {
                mean_ms,
                std_dev_ms,
            } => {
                // Box–Muller from two uniforms: portable, no lookup tables.
                let (u1, u2): (f64, f64) = (draws.rng.random(), draws.rng.random());
                let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                (mean_ms + std_dev_ms * z).max(0.0)
            }
        };
        self.clock_ms += gap;
        let clock = self.clock_ms as i64;
        let watermark = if clock >= self.next_watermark_at {
            // The first watermark time after `clock`, in one step: a gap may span many
            // intervals, and only the last watermark among them is emitted.
            let behind = clock - self.next_watermark_at;
            self.next_watermark_at +=
                (behind / self.watermark_interval_ms + 1) * self.watermark_interval_ms;
            let candidate = self
                .max_timestamp
                .saturating_sub(self.watermark_delay_ms)
                .saturating_sub(1);
            (self.max_timestamp != i64::MIN && candidate > self.watermark).then(|| {
                self.watermark = candidate;
                candidate
            })
        } else {
            None
        };
        let late =
            self.out_of_order_fraction > 0.0 && draws.rng.random_bool(self.out_of_order_fraction);
        let timestamp = if late && self.max_delay_ms > 0 {
            (clock - draws.rng.random_range(0..=self.max_delay_ms)).max(0)
        } else {
            clock
        };
        self.max_timestamp = self.max_timestamp.max(timestamp);
        let key = draws.key();
        let value = draws.value();
        (
            Event {
                key,
                timestamp,
                value,
            },
            watermark,
        )
    }
}
