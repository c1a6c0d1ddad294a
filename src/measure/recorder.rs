//! Records each op's latency into an HdrHistogram per op class, plus a per-second histogram for
//! the timeline. One tick-to-nanosecond multiplication, two histogram records and one comparison
//! per op: a few nanoseconds, next to the hundreds RocksDB takes (`cargo bench --bench overhead`
//! measures it).

use std::time::Duration;

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use super::clock::{Clock, Ticks};
use crate::results::{OpLatency, TimelinePoint};
use crate::workload::OpClass;

/// Lowest and highest trackable latency (1 ns to 1 min; larger values resize the histogram).
const LOWEST_NS: u64 = 1;
const HIGHEST_NS: u64 = 60_000_000_000;
const SIGNIFICANT_DIGITS: u8 = 3;
/// Timeline resolution.
const INTERVAL: Duration = Duration::from_secs(1);

fn new_histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_DIGITS)
        .expect("constant histogram bounds are valid");
    h.auto(true);
    h
}

/// Intervals kept for the interval log (two hours of one-second intervals).
const MAX_LOGGED_INTERVALS: usize = 7_200;

/// One interval's histogram of every op, for the HdrHistogram interval log.
#[derive(Clone, Debug)]
pub struct IntervalHistogram {
    /// Start, relative to the measured part's start.
    pub start: Duration,
    /// Length of the interval.
    pub length: Duration,
    /// Latencies recorded in it, ns.
    pub histogram: Histogram<u64>,
}

/// What a recorder measured.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Every op together.
    pub all: OpLatency,
    /// Per op class (classes that occurred).
    pub ops: Vec<OpLatency>,
    /// Per-second summary.
    pub timeline: Vec<TimelinePoint>,
    /// Per-second histograms, for the interval log.
    pub intervals: Vec<IntervalHistogram>,
}

/// Latency recorder of one cell's measured part.
pub struct Recorder {
    clock: &'static Clock,
    per_class: Vec<Histogram<u64>>,
    interval: Histogram<u64>,
    /// When the measured part started.
    epoch: Ticks,
    /// When the current interval ends, and that as an offset from `epoch`.
    interval_end: Ticks,
    interval_end_offset: Duration,
    timeline: Vec<TimelinePoint>,
    intervals: Vec<IntervalHistogram>,
}

impl Recorder {
    /// A recorder whose measured part starts at `epoch` on [`Clock::get`].
    pub fn new(epoch: Ticks) -> Recorder {
        let clock = Clock::get();
        Recorder {
            clock,
            per_class: OpClass::ALL.iter().map(|_| new_histogram()).collect(),
            interval: new_histogram(),
            epoch,
            interval_end: clock.after(epoch, INTERVAL),
            interval_end_offset: INTERVAL,
            timeline: Vec::new(),
            intervals: Vec::new(),
        }
    }

    /// Records one op of `class` that ran from `start` to `end`.
    #[inline]
    pub fn record(&mut self, class: OpClass, start: Ticks, end: Ticks) {
        if end >= self.interval_end {
            self.close_intervals(end);
        }
        let ns = self.clock.nanos_between(start, end).max(LOWEST_NS);
        // Auto-resizing histograms accept any value; a failure would be an allocation failure.
        let _ = self.per_class[class.index()].record(ns);
        let _ = self.interval.record(ns);
    }

    #[cold]
    fn close_intervals(&mut self, now: Ticks) {
        while now >= self.interval_end {
            self.close_interval(self.interval_end_offset, INTERVAL);
            self.interval_end_offset += INTERVAL;
            self.interval_end = self.clock.after(self.epoch, self.interval_end_offset);
        }
    }

    /// Summarizes the current interval (ending `offset` after the epoch, `length` long) and
    /// starts a new one.
    fn close_interval(&mut self, offset: Duration, length: Duration) {
        let h = &self.interval;
        self.timeline.push(TimelinePoint {
            t_s: offset.as_secs_f64(),
            ops: h.len(),
            p50_ns: h.value_at_quantile(0.5),
            p99_ns: h.value_at_quantile(0.99),
            max_ns: h.max(),
        });
        if self.intervals.len() < MAX_LOGGED_INTERVALS {
            self.intervals.push(IntervalHistogram {
                start: offset.saturating_sub(length),
                length,
                histogram: h.clone(),
            });
        }
        self.interval.reset();
    }

    /// Ends the measured part at `end`: closes the last partial interval and returns what was
    /// recorded.
    pub fn finish(mut self, end: Ticks) -> Recorded {
        if !self.interval.is_empty() {
            let offset = Duration::from_nanos(self.clock.nanos_between(self.epoch, end));
            let length = offset.saturating_sub(self.interval_end_offset - INTERVAL);
            self.close_interval(offset, length);
        }
        let mut all = new_histogram();
        let mut ops = Vec::new();
        for (class, h) in OpClass::ALL.iter().zip(&self.per_class) {
            if h.is_empty() {
                continue;
            }
            let _ = all.add(h);
            ops.push(summarize(class.name(), h));
        }
        Recorded {
            all: summarize("all", &all),
            ops,
            timeline: self.timeline,
            intervals: self.intervals,
        }
    }
}

/// The latency of several parts (a cell's slots) together: their histograms added, summarized
/// again. Parts without a histogram (older results) are an error, not skipped.
pub fn merge_latencies(name: &str, parts: &[&OpLatency]) -> anyhow::Result<OpLatency> {
    let mut total: Histogram<u64> = Histogram::new(3)?;
    for part in parts {
        if part.count == 0 {
            continue;
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(&part.histogram)?;
        let h: Histogram<u64> = Deserializer::new().deserialize(&mut bytes.as_slice())?;
        total.add(&h)?;
    }
    Ok(summarize(name, &total))
}

/// Summarizes a histogram: percentiles, a distribution ladder for plots, and the histogram itself.
pub fn summarize(name: &str, h: &Histogram<u64>) -> OpLatency {
    if h.is_empty() {
        return OpLatency {
            op: name.to_string(),
            ..OpLatency::default()
        };
    }
    // HdrHistogram's percentile distribution: each halving of the remaining fraction (0–50 %,
    // 50–75 %, 75–87.5 %, ...) gets the same number of points, until less than one sample is left.
    const TICKS_PER_HALF: u32 = 4;
    let mut distribution = Vec::new();
    let mut remaining = 1.0f64;
    while remaining * (h.len() as f64) >= 1.0 && distribution.len() < 200 {
        for j in 0..TICKS_PER_HALF {
            let q = 1.0 - remaining + remaining / 2.0 * f64::from(j) / f64::from(TICKS_PER_HALF);
            distribution.push((q * 100.0, h.value_at_quantile(q)));
        }
        remaining /= 2.0;
    }
    distribution.push((100.0, h.max()));
    distribution.dedup_by(|a, b| a.0 == b.0);
    let mut bytes = Vec::new();
    let histogram = match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(&bytes),
        Err(_) => String::new(),
    };
    OpLatency {
        op: name.to_string(),
        count: h.len(),
        mean_ns: h.mean(),
        p50_ns: h.value_at_quantile(0.5),
        p90_ns: h.value_at_quantile(0.9),
        p99_ns: h.value_at_quantile(0.99),
        p999_ns: h.value_at_quantile(0.999),
        max_ns: h.max(),
        distribution,
        histogram,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_reflect_what_was_recorded() {
        let clock = Clock::get();
        let start = clock.now();
        let at = |d: Duration| clock.after(start, d);
        let mut r = Recorder::new(start);
        for i in 1..=1000u64 {
            r.record(OpClass::ValueGet, start, at(Duration::from_nanos(i * 10)));
        }
        r.record(
            OpClass::MapPut,
            at(Duration::from_millis(1500)),
            at(Duration::from_millis(1500) + Duration::from_micros(5)),
        );
        let recorded = r.finish(at(Duration::from_millis(1600)));
        let (all, classes, timeline) = (recorded.all, recorded.ops, recorded.timeline);
        assert_eq!(recorded.intervals.len(), 2);
        assert_eq!(recorded.intervals[1].start, Duration::from_secs(1));
        assert_eq!(recorded.intervals[1].histogram.len(), 1);
        assert_eq!(all.count, 1001);
        assert_eq!(classes.len(), 2);
        let get = &classes[0];
        assert_eq!(get.op, "value.get");
        assert!((4990..=5010).contains(&get.p50_ns), "p50 {}", get.p50_ns);
        assert!((9890..=9910).contains(&get.p99_ns), "p99 {}", get.p99_ns);
        assert_eq!(timeline.len(), 2);
        assert_eq!(timeline[0].ops, 1000);
        assert_eq!(timeline[1].ops, 1);
        assert!(get
            .distribution
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        assert!(!get.histogram.is_empty());
    }
}
