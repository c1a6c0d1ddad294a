//! Whether a repeat's per-second throughput drifts: the Theil–Sen slope (the median of the slopes
//! between every pair of seconds: robust to the slow second of a checkpoint) and the
//! Mann–Kendall test of no monotonic trend. A repeat drifts when the trend is significant
//! (p < [`TREND_P`]) and large (the slope over the measured part is at least [`TREND_CHANGE`] of
//! the median second): compaction debt piling up, a cache still filling, state still growing.
//! Either way the cell's mean hides a moving target, so the report flags it.

use super::bootstrap::median;
use crate::results::Trend;

/// Significance level of the trend test.
pub const TREND_P: f64 = 0.01;
/// Smallest change over the measured part, relative to the median second, that counts as drift.
pub const TREND_CHANGE: f64 = 0.10;
/// Fewest whole seconds a trend is judged from.
pub const MIN_TREND_SECONDS: usize = 6;

/// The trend of per-second samples `y` (one per second); None with fewer than
/// [`MIN_TREND_SECONDS`].
pub fn trend(y: &[f64]) -> Option<Trend> {
    let n = y.len();
    if n < MIN_TREND_SECONDS {
        return None;
    }
    let mut slopes = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            slopes.push((y[j] - y[i]) / (j - i) as f64);
        }
    }
    let slope = median(&slopes);
    let level = median(y);
    let change = match level > 0.0 {
        true => slope * (n - 1) as f64 / level,
        false => 0.0,
    };
    let p_value = mann_kendall(y);
    Some(Trend {
        slope_per_s: slope,
        change,
        p_value,
        drifting: p_value < TREND_P && change.abs() >= TREND_CHANGE,
    })
}

/// Two-sided p-value of the Mann–Kendall test, normal approximation with the tie correction.
fn mann_kendall(y: &[f64]) -> f64 {
    let n = y.len();
    let mut s = 0i64;
    for i in 0..n {
        for j in i + 1..n {
            s += match y[j].total_cmp(&y[i]) {
                std::cmp::Ordering::Greater => 1,
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
            };
        }
    }
    let mut sorted = y.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut run = 1usize;
    for k in 1..=n {
        if k < n && sorted[k] == sorted[k - 1] {
            run += 1;
        } else {
            let t = run as f64;
            ties += t * (t - 1.0) * (2.0 * t + 5.0);
            run = 1;
        }
    }
    let nf = n as f64;
    let variance = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    if variance <= 0.0 || s == 0 {
        return 1.0;
    }
    let z = (s.abs() as f64 - 1.0) / variance.sqrt();
    2.0 * (1.0 - normal_cdf(z))
}

/// The standard normal distribution function (Abramowitz & Stegun 7.1.26, error < 1.5e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    match z >= 0.0 {
        true => 0.5 * (1.0 + erf),
        false => 0.5 * (1.0 - erf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::rng::SplitMix64;

    #[test]
    fn a_falling_throughput_drifts_and_a_flat_noisy_one_does_not() {
        let mut rng = SplitMix64::new(5);
        let falling: Vec<f64> = (0..20)
            .map(|s| 100_000.0 - 2_000.0 * s as f64 + 3_000.0 * rng.unit())
            .collect();
        let t = trend(&falling).unwrap();
        assert!(
            t.drifting && t.slope_per_s < 0.0 && t.p_value < 1e-4,
            "{t:?}"
        );
        assert!((-0.5..-0.4).contains(&t.change), "{t:?}");
        let mut flat_drifts = 0;
        for _ in 0..200 {
            let flat: Vec<f64> = (0..20).map(|_| 100_000.0 + 20_000.0 * rng.unit()).collect();
            flat_drifts += usize::from(trend(&flat).unwrap().drifting);
        }
        assert!(flat_drifts <= 4, "{flat_drifts} of 200 flat series flagged");
        // One slow second (a checkpoint) does not make a trend.
        let mut spiky = vec![100_000.0; 12];
        spiky[6] = 10_000.0;
        assert!(!trend(&spiky).unwrap().drifting);
        assert_eq!(trend(&[1.0; 5]), None);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
    }
}
