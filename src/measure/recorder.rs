//! Records each timed op's latency for the whole measured part (an HdrHistogram per op class)
//! and per second (the timeline and the interval log), and counts every op, timed or not, per
//! class and per second (`measure::sampling` says which ops are timed).
//!
//! An op's latency is first counted, in clock ticks, into a fixed array of log-linear buckets
//! per op class ([`TickCounts`]: a leading-zero count, a shift and an increment, no bounds
//! to grow, no conversion to nanoseconds), and those counts are merged into the HdrHistograms
//! once per second, when the interval closes. The buckets are as fine as HdrHistogram's at 3
//! significant digits (2048 sub-buckets per power of two), so the merge moves a value by at
//! most half a bucket (under 0.05 %) before HdrHistogram's own bucketing.
//! `cargo bench --bench overhead` measures what recording costs.

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
    /// The mean latency of the timed ops, ns, from their exact ticks (the histograms round to
    /// whole nanoseconds); None when no op was timed.
    pub timed_mean_ns: Option<f64>,
    /// Their median, ns, to a clock tick (below 2048 ticks); None when no op was timed.
    pub timed_median_ns: Option<f64>,
    /// Per-second summary.
    pub timeline: Vec<TimelinePoint>,
    /// Per-second histograms, for the interval log.
    pub intervals: Vec<IntervalHistogram>,
    /// Event latencies of an open-loop replay (None in closed loop).
    pub events: Option<EventLatencies>,
}

/// An open-loop replay's event latencies, as wrk2 keeps them: from each event's intended start
/// (its place in the fixed-rate schedule, so time spent waiting behind a stall counts:
/// corrected for coordinated omission) and from its actual start (uncorrected: the service
/// time of its ops and what ran between them).
#[derive(Clone, Debug)]
pub struct EventLatencies {
    /// From the intended start to the end of the event's last op.
    pub corrected: OpLatency,
    /// From the actual start to the end of the event's last op.
    pub uncorrected: OpLatency,
}

/// Bits of the sub-bucket index: 2^SUB_BITS values one tick apart at the bottom, then
/// 2^(SUB_BITS − 1) per power of two above (HdrHistogram's layout at 3 significant digits).
const SUB_BITS: u32 = 11;
const HALF: usize = 1 << (SUB_BITS - 1);
/// Latencies of 2^MAX_BITS ticks or more (7 minutes at 2.6 GHz) are counted as just under it.
const MAX_BITS: u32 = 40;
const BUCKETS: usize = (MAX_BITS - SUB_BITS + 2) as usize * HALF;

/// Latencies in clock ticks counted into fixed log-linear buckets: what one op costs to record
/// (see the module). Merged into HdrHistograms by [`TickCounts::drain_into`].
struct TickCounts {
    counts: Box<[u32]>,
    /// Whether anything was counted since the last drain.
    touched: bool,
}

impl TickCounts {
    /// Empty counts.
    fn new() -> TickCounts {
        TickCounts {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            touched: false,
        }
    }

    /// Counts one latency of `ticks`.
    #[inline(always)]
    fn add(&mut self, ticks: u64) {
        let v = ticks.min((1 << MAX_BITS) - 1);
        // The highest set bit of v, at least SUB_BITS − 1; b = 0 for the first 2^SUB_BITS values.
        let b = 63 - (v | (2 * HALF as u64 - 1)).leading_zeros() - (SUB_BITS - 1);
        let index = ((b as usize) << (SUB_BITS - 1)) + (v >> b) as usize;
        self.counts[index] += 1;
        self.touched = true;
    }

    /// The middle of bucket `index`, in ticks.
    fn bucket_middle(index: usize) -> u64 {
        if index < 2 * HALF {
            return index as u64;
        }
        let b = index / HALF - 1;
        let low = ((index - b * HALF) as u64) << b;
        low + (1 << (b - 1))
    }

    /// Adds the counts, converted to nanoseconds on `clock`, to every histogram in `into` (and,
    /// in ticks, to `ticks` when given), and empties them.
    fn drain_into(
        &mut self,
        clock: &Clock,
        into: &mut [&mut Histogram<u64>],
        mut ticks: Option<&mut [u64]>,
    ) {
        if !self.touched {
            return;
        }
        for (index, count) in self.counts.iter_mut().enumerate() {
            if *count == 0 {
                continue;
            }
            if let Some(ticks) = ticks.as_deref_mut() {
                ticks[index] += u64::from(*count);
            }
            let ns = clock.nanos(Self::bucket_middle(index)).max(LOWEST_NS);
            for h in into.iter_mut() {
                // Auto-resizing histograms accept any value; a failure would be an allocation
                // failure.
                let _ = h.record_n(ns, u64::from(*count));
            }
            *count = 0;
        }
        self.touched = false;
    }
}

/// The bucket holding the median of `counts` (None when empty).
fn median_bucket(counts: &[u64]) -> Option<usize> {
    let total: u64 = counts.iter().sum();
    let mut below = 0;
    counts.iter().position(|&c| {
        below += c;
        c > 0 && 2 * below >= total
    })
}

/// Open-loop event latencies being recorded.
struct EventRecorder {
    corrected: Histogram<u64>,
    uncorrected: Histogram<u64>,
    pending_corrected: TickCounts,
    pending_uncorrected: TickCounts,
}

/// Latency recorder of one cell's measured part.
pub struct Recorder {
    clock: &'static Clock,
    per_class: Vec<Histogram<u64>>,
    /// Ops counted per class (every op, timed or not).
    counted: [u64; OpClass::ALL.len()],
    /// Ops counted since the current interval started.
    interval_ops: u64,
    /// Timed ops and their ticks, all classes together: the exact mean, below the
    /// histograms' resolution.
    timed: u64,
    timed_ticks: u64,
    /// Every timed op's latency by tick bucket, all classes together, gathered when intervals
    /// close: the median to a tick.
    all_ticks: Box<[u64]>,
    /// Counts per class since the last interval closed.
    pending: Vec<TickCounts>,
    interval: Histogram<u64>,
    /// When the measured part started.
    epoch: Ticks,
    /// When the current interval ends, and that as an offset from `epoch`.
    interval_end: Ticks,
    interval_end_offset: Duration,
    timeline: Vec<TimelinePoint>,
    intervals: Vec<IntervalHistogram>,
    events: Option<EventRecorder>,
}

impl Recorder {
    /// A recorder whose measured part starts at `epoch` on [`Clock::get`]; `open_loop` also
    /// records event latencies ([`Recorder::record_event`]).
    pub fn new(epoch: Ticks, open_loop: bool) -> Recorder {
        let clock = Clock::get();
        Recorder {
            clock,
            per_class: OpClass::ALL.iter().map(|_| new_histogram()).collect(),
            counted: [0; OpClass::ALL.len()],
            interval_ops: 0,
            timed: 0,
            timed_ticks: 0,
            all_ticks: vec![0; BUCKETS].into_boxed_slice(),
            pending: OpClass::ALL.iter().map(|_| TickCounts::new()).collect(),
            interval: new_histogram(),
            epoch,
            interval_end: clock.after(epoch, INTERVAL),
            interval_end_offset: INTERVAL,
            timeline: Vec::new(),
            intervals: Vec::new(),
            events: open_loop.then(|| EventRecorder {
                corrected: new_histogram(),
                uncorrected: new_histogram(),
                pending_corrected: TickCounts::new(),
                pending_uncorrected: TickCounts::new(),
            }),
        }
    }

    /// The same recorder, its measured part starting at `epoch` instead: for a recorder made
    /// ahead of the start, so that making its tables is not measured. Nothing may have been
    /// recorded yet.
    pub fn starting_at(mut self, epoch: Ticks) -> Recorder {
        debug_assert!(self.timed == 0 && self.interval_ops == 0 && self.timeline.is_empty());
        self.epoch = epoch;
        self.interval_end = self.clock.after(epoch, INTERVAL);
        self
    }

    /// Records the latency of one timed op of `class` that ran from `start` to `end` (the op
    /// itself is counted by [`Recorder::count`]).
    #[inline(always)]
    pub fn record(&mut self, class: OpClass, start: Ticks, end: Ticks) {
        self.advance(end);
        let ticks = end.ticks_since(start);
        self.timed += 1;
        self.timed_ticks += ticks;
        self.pending[class.index()].add(ticks);
    }

    /// Counts `n` ops of `class`, timed or not, into the measured part's totals (the seconds
    /// they fall in are [`Recorder::done`]'s).
    pub fn count(&mut self, class: OpClass, n: u64) {
        self.counted[class.index()] += n;
    }

    /// Counts `n` ops done by `at` into the second they were done in.
    #[inline]
    pub fn done(&mut self, n: u64, at: Ticks) {
        self.advance(at);
        self.interval_ops += n;
    }

    /// Closes the intervals that ended by `now`.
    #[inline(always)]
    fn advance(&mut self, now: Ticks) {
        if now >= self.interval_end {
            self.close_intervals(now);
        }
    }

    /// Records one open-loop event meant to start at `intended`, started at `start` and done at
    /// `end` (its ops recorded first). Ignored by a closed-loop recorder.
    #[inline]
    pub fn record_event(&mut self, intended: Ticks, start: Ticks, end: Ticks) {
        self.advance(end);
        if let Some(events) = self.events.as_mut() {
            events.pending_corrected.add(end.ticks_since(intended));
            events.pending_uncorrected.add(end.ticks_since(start));
        }
    }

    #[cold]
    fn close_intervals(&mut self, now: Ticks) {
        while now >= self.interval_end {
            self.close_interval(self.interval_end_offset, INTERVAL);
            self.interval_end_offset += INTERVAL;
            self.interval_end = self.clock.after(self.epoch, self.interval_end_offset);
        }
    }

    /// Merges what was counted since the last interval closed into the histograms.
    fn merge_pending(&mut self) {
        for (pending, total) in self.pending.iter_mut().zip(&mut self.per_class) {
            pending.drain_into(
                self.clock,
                &mut [total, &mut self.interval],
                Some(&mut self.all_ticks),
            );
        }
        if let Some(e) = self.events.as_mut() {
            e.pending_corrected
                .drain_into(self.clock, &mut [&mut e.corrected], None);
            e.pending_uncorrected
                .drain_into(self.clock, &mut [&mut e.uncorrected], None);
        }
    }

    /// Summarizes the current interval (ending `offset` after the epoch, `length` long) and
    /// starts a new one.
    fn close_interval(&mut self, offset: Duration, length: Duration) {
        self.merge_pending();
        let h = &self.interval;
        self.timeline.push(TimelinePoint {
            t_s: offset.as_secs_f64(),
            ops: self.interval_ops,
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
        self.interval_ops = 0;
    }

    /// Ends the measured part at `end`: closes the last partial interval and returns what was
    /// recorded.
    pub fn finish(mut self, end: Ticks) -> Recorded {
        self.merge_pending();
        if self.interval_ops > 0 || !self.interval.is_empty() {
            let offset = Duration::from_nanos(self.clock.nanos_between(self.epoch, end));
            let length = offset.saturating_sub(self.interval_end_offset - INTERVAL);
            self.close_interval(offset, length);
        }
        let mut all = new_histogram();
        let mut ops = Vec::new();
        for ((class, h), &count) in OpClass::ALL.iter().zip(&self.per_class).zip(&self.counted) {
            if count == 0 && h.is_empty() {
                continue;
            }
            let _ = all.add(h);
            ops.push(summarize(class.name(), h).counting(count));
        }
        let count = self.counted.iter().sum();
        Recorded {
            all: summarize("all", &all).counting(count),
            timed_mean_ns: match self.timed {
                0 => None,
                n => Some(self.clock.nanos_f64(self.timed_ticks as f64) / n as f64),
            },
            timed_median_ns: median_bucket(&self.all_ticks)
                .map(|b| self.clock.nanos_f64(TickCounts::bucket_middle(b) as f64)),
            ops,
            timeline: self.timeline,
            intervals: self.intervals,
            events: self.events.map(|e| EventLatencies {
                corrected: summarize("event (from intended start)", &e.corrected),
                uncorrected: summarize("event (from actual start)", &e.uncorrected),
            }),
        }
    }
}

/// The latency of several parts (a cell's slots) together: their histograms added, summarized
/// again. Parts without a histogram (older results) are an error, not skipped.
pub fn merge_latencies(name: &str, parts: &[&OpLatency]) -> anyhow::Result<OpLatency> {
    let mut total: Histogram<u64> = Histogram::new(3)?;
    for part in parts {
        if part.count == 0 || part.timed == Some(0) {
            continue;
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(&part.histogram)?;
        let h: Histogram<u64> = Deserializer::new().deserialize(&mut bytes.as_slice())?;
        total.add(&h)?;
    }
    Ok(summarize(name, &total).counting(parts.iter().map(|p| p.count).sum()))
}

/// Summarizes a histogram: percentiles, a distribution ladder for plots, and the histogram itself.
pub fn summarize(name: &str, h: &Histogram<u64>) -> OpLatency {
    if h.is_empty() {
        return OpLatency {
            op: name.to_string(),
            timed: Some(0),
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
        timed: Some(h.len()),
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
        let mut r = Recorder::new(start, false);
        for i in 1..=1000u64 {
            let end = at(Duration::from_nanos(i * 10));
            r.done(1, end);
            r.record(OpClass::ValueGet, start, end);
        }
        r.count(OpClass::ValueGet, 1000);
        let end = at(Duration::from_millis(1500) + Duration::from_micros(5));
        r.record(OpClass::MapPut, at(Duration::from_millis(1500)), end);
        // Two ops, one of them not timed (a sampled stride): in the op counts and the timeline.
        r.done(2, end);
        r.count(OpClass::MapPut, 2);
        let recorded = r.finish(at(Duration::from_millis(1600)));
        let (all, classes, timeline) = (recorded.all, recorded.ops, recorded.timeline);
        assert_eq!(recorded.intervals.len(), 2);
        assert_eq!(recorded.intervals[1].start, Duration::from_secs(1));
        assert_eq!(recorded.intervals[1].histogram.len(), 1);
        assert_eq!(all.count, 1002);
        assert_eq!(all.timed, Some(1001));
        assert_eq!(classes[1].count, 2);
        assert_eq!(classes[1].timed, Some(1));
        let median = recorded.timed_median_ns.unwrap();
        assert!((median - 5000.0).abs() < 10.0, "median {median}");
        let mean = recorded.timed_mean_ns.unwrap();
        let expected = (500.5 * 10.0 * 1000.0 + 5000.0) / 1001.0;
        assert!(
            (mean - expected).abs() < 0.01 * expected,
            "{mean} vs {expected}"
        );
        assert_eq!(classes.len(), 2);
        let get = &classes[0];
        assert_eq!(get.op, "value.get");
        assert!((4990..=5010).contains(&get.p50_ns), "p50 {}", get.p50_ns);
        assert!((9890..=9910).contains(&get.p99_ns), "p99 {}", get.p99_ns);
        assert_eq!(timeline.len(), 2);
        assert_eq!(timeline[0].ops, 1000);
        assert_eq!(timeline[1].ops, 2);
        assert!(get
            .distribution
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        assert!(!get.histogram.is_empty());
    }
}
