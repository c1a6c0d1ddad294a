//! Bootstrap intervals of a cell's metric, seeded and deterministic.
//!
//! A metric of a cell is one value per repeat and, for throughput, the per-second samples within
//! each repeat. One bootstrap resample draws as many repeats as there are, with replacement;
//! each drawn repeat's value is scaled by a resample of its own seconds (a circular block
//! bootstrap: blocks of ⌈n^⅓⌉ consecutive seconds, so a checkpoint's slow second stays next to
//! its neighbours) over their actual mean; the resample's statistic is the median of those
//! values. The 95% interval is the 2.5th to 97.5th percentile of [`RESAMPLES`] such statistics
//! (the percentile method). Both levels of noise, between processes and within one, widen it.
//!
//! With few repeats the interval can only be as wide as the repeats spread: with three, a
//! repeats-only interval of the median is the smallest to the largest repeat, which holds the
//! true median 75% of the time. The within-repeat level widens it for throughput; the report
//! says how many repeats each interval rests on.

use super::rng::SplitMix64;
use crate::results::Estimate;

/// Resamples per interval.
pub const RESAMPLES: usize = 2000;

/// Confidence level of every interval.
pub const CONFIDENCE: f64 = 0.95;

/// A metric of one cell: one value per repeat, and the per-second samples of each repeat (empty
/// where the metric has none, or the repeat was shorter than two seconds).
#[derive(Clone, Debug, Default)]
pub struct Repeats {
    /// One value per repeat.
    pub values: Vec<f64>,
    /// Per repeat, its per-second samples (same order as `values`).
    pub seconds: Vec<Vec<f64>>,
}

impl Repeats {
    /// A metric with one value per repeat and no within-repeat samples.
    pub fn of(values: Vec<f64>) -> Repeats {
        let seconds = vec![Vec::new(); values.len()];
        Repeats { values, seconds }
    }

    /// The median of the repeats' values.
    pub fn median(&self) -> f64 {
        median(&self.values)
    }

    /// One bootstrap resample's median.
    fn resample(&self, rng: &mut SplitMix64) -> f64 {
        let n = self.values.len();
        let mut drawn: Vec<f64> = (0..n)
            .map(|_| {
                let i = rng.below(n);
                self.values[i] * within(&self.seconds[i], rng)
            })
            .collect();
        median_in_place(&mut drawn)
    }
}

/// A block-bootstrap resample of `seconds`' mean over their actual mean (1 with fewer than two).
fn within(seconds: &[f64], rng: &mut SplitMix64) -> f64 {
    let n = seconds.len();
    let mean = seconds.iter().sum::<f64>() / n.max(1) as f64;
    if n < 2 || mean <= 0.0 {
        return 1.0;
    }
    let block = ((n as f64).cbrt().ceil() as usize).max(1);
    let (mut sum, mut taken) = (0.0, 0);
    while taken < n {
        let start = rng.below(n);
        for k in 0..block.min(n - taken) {
            sum += seconds[(start + k) % n];
        }
        taken += block.min(n - taken);
    }
    sum / n as f64 / mean
}

/// The median of `values` (the mean of the middle two for an even count; 0 when empty).
pub fn median(values: &[f64]) -> f64 {
    median_in_place(&mut values.to_vec())
}

fn median_in_place(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n % 2 {
        1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The `q` quantile of sorted `values`, interpolated linearly.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let at = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
}

/// The percentile interval of `statistics` around `point`.
fn interval(point: f64, mut statistics: Vec<f64>) -> Estimate {
    statistics.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    Estimate {
        median: point,
        low: quantile(&statistics, tail),
        high: quantile(&statistics, 1.0 - tail),
    }
}

/// The median of `metric` with its interval, resampled from `seed`.
pub fn estimate(metric: &Repeats, seed: u64) -> Estimate {
    if metric.values.is_empty() {
        return Estimate::default();
    }
    let mut rng = SplitMix64::new(seed);
    let statistics = (0..RESAMPLES).map(|_| metric.resample(&mut rng)).collect();
    interval(metric.median(), statistics)
}

/// The ratio of `a`'s median to `b`'s with its interval: each resampled independently (the two
/// cells ran in different processes), from `seed`.
pub fn ratio(a: &Repeats, b: &Repeats, seed: u64) -> Estimate {
    if a.values.is_empty() || b.values.is_empty() || b.median() == 0.0 {
        return Estimate::default();
    }
    let mut rng = SplitMix64::new(seed);
    let statistics = (0..RESAMPLES)
        .map(|_| {
            let (x, y) = (a.resample(&mut rng), b.resample(&mut rng));
            if y > 0.0 {
                x / y
            } else {
                f64::INFINITY
            }
        })
        .collect();
    interval(a.median() / b.median(), statistics)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A standard normal draw (Box–Muller).
    fn normal(rng: &mut SplitMix64) -> f64 {
        let (u, v) = (1.0 - rng.unit(), rng.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    #[test]
    fn the_median_interval_covers_the_true_median_about_95_percent_of_the_time() {
        let mut rng = SplitMix64::new(11);
        let trials = 300;
        let mut covered = 0;
        for t in 0..trials {
            // An exponential distribution of mean 1: median ln 2.
            let values = (0..40).map(|_| -(1.0 - rng.unit()).ln()).collect();
            let e = estimate(&Repeats::of(values), t);
            assert!(e.low <= e.median && e.median <= e.high);
            covered += usize::from(e.contains(std::f64::consts::LN_2));
        }
        let coverage = covered as f64 / trials as f64;
        assert!((0.90..=0.99).contains(&coverage), "coverage {coverage}");
    }

    #[test]
    fn both_levels_of_noise_widen_the_interval_and_it_still_covers() {
        let mut rng = SplitMix64::new(12);
        let trials = 200;
        let mut covered = 0;
        let mut widths = (0.0, 0.0);
        for t in 0..trials {
            // Ten repeats around 1000 (between-repeat sd 20), each of 30 noisy seconds (sd 100).
            let mut metric = Repeats::default();
            for _ in 0..10 {
                let level = 1000.0 + 20.0 * normal(&mut rng);
                let seconds: Vec<f64> = (0..30).map(|_| level + 100.0 * normal(&mut rng)).collect();
                metric.values.push(seconds.iter().sum::<f64>() / 30.0);
                metric.seconds.push(seconds);
            }
            let both = estimate(&metric, t);
            let between = estimate(&Repeats::of(metric.values.clone()), t);
            widths.0 += both.high - both.low;
            widths.1 += between.high - between.low;
            covered += usize::from(both.contains(1000.0));
        }
        let coverage = covered as f64 / trials as f64;
        assert!((0.88..=1.0).contains(&coverage), "coverage {coverage}");
        assert!(widths.0 > widths.1, "{widths:?}");
    }

    #[test]
    fn ratios_separate_different_cells_and_tie_equal_ones() {
        let mut rng = SplitMix64::new(13);
        let mut draw = |centre: f64| {
            Repeats::of(
                (0..5)
                    .map(|_| centre * (1.0 + 0.03 * normal(&mut rng)))
                    .collect(),
            )
        };
        let (fast, slow, same) = (draw(2000.0), draw(1000.0), draw(2000.0));
        let r = ratio(&fast, &slow, 1);
        assert!(r.low > 1.5 && r.contains(2.0), "{r:?}");
        let tie = ratio(&fast, &same, 1);
        assert!(tie.contains(1.0), "{tie:?}");
        assert_eq!(ratio(&fast, &slow, 1), r, "seeded: the same every time");
    }

    #[test]
    fn medians_and_small_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        let one = estimate(&Repeats::of(vec![5.0]), 1);
        assert_eq!((one.low, one.median, one.high), (5.0, 5.0, 5.0));
        let three = estimate(&Repeats::of(vec![1.0, 2.0, 9.0]), 1);
        assert_eq!((three.low, three.median, three.high), (1.0, 2.0, 9.0));
    }
}
