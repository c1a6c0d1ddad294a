//! Key and value-size distributions, sampled from the workload's seeded generator. Every
//! distribution of YCSB and Gadget that makes sense for keyed state is here; all are exact
//! functions of the random stream, so the same seed draws the same keys on every machine.
//!
//! The zipfian keys (`zipfian`, `scrambled_zipfian`, `latest`) are drawn from a table
//! ([`ZipfTable`]) built with platform-independent arithmetic: tens of millions of keys per
//! second, where a `pow` per draw allowed a few million.

use std::f64::consts::{PI, SQRT_2};

use anyhow::{Context, Result};
use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp1, Normal};

use super::zipf::ZipfTable;
use crate::workload::spec::{KeyDistribution, KeySpec, ValueSize, MAX_VALUE_BYTES};

/// Size of the item space YCSB's `ScrambledZipfianGenerator` draws its ranks from
/// (`ITEM_COUNT`, 10^10).
const YCSB_SCRAMBLED_ITEMS: u64 = 10_000_000_000;

/// Draws key ids in `0..count` with the workload's popularity distribution.
#[derive(Clone, Debug)]
pub struct KeyChooser(Keys);

#[derive(Clone, Debug)]
enum Keys {
    /// Every key equally likely.
    Uniform { count: u64 },
    /// Zipf over ranks; rank r is key id r − 1 (key groups scatter hot keys anyway).
    Zipfian { ranks: ZipfTable },
    /// YCSB's `ScrambledZipfianGenerator`: a zipfian rank r in `0..10^10` (YCSB's item space,
    /// or `0..count` if that is larger) mapped to key `|fnv1a64(r)| % count`, the absolute
    /// value of the signed FNV-1a hash as YCSB's `Utils.fnvhash64` takes it. The distribution
    /// is YCSB's for any theta (YCSB precomputes its zeta constant for 0.99 only); the ranks are
    /// drawn from the zipfian table, where YCSB's Gray et al. generator approximates them.
    ScrambledZipfian { ranks: ZipfTable, count: u64 },
    /// YCSB's hotspot: keys `0..hot` (at least one) take `hot_op_fraction` of the draws,
    /// uniformly; the others the rest.
    Hotspot {
        hot: u64,
        count: u64,
        hot_op_fraction: f64,
    },
    /// YCSB's latest: every draw first inserts key `next` (0, 1, ..., count − 1, then 0
    /// again), then returns the key inserted b draws ago, b + 1 zipfian over the `inserted`
    /// keys so far (at most `count`): until `count` draws, only keys already inserted. The
    /// ranks come from a table over `span` ranks, the power of two (or `count`) at or above
    /// `inserted`, rebuilt as `inserted` passes it; a rank above `inserted` is drawn again,
    /// which leaves exactly the zipfian over `inserted` (and is rare: at most half the mass
    /// lies above it).
    Latest {
        ranks: ZipfTable,
        span: u64,
        theta: f64,
        count: u64,
        inserted: u64,
        next: u64,
    },
    /// 0, 1, ..., count − 1, then again.
    Sequential { count: u64, next: u64 },
    /// Always one key.
    Constant { key: u64 },
}

/// FNV-1a, 64-bit, of a rank's 8 little-endian bytes, made non-negative as a signed number:
/// YCSB's `Utils.fnvhash64` (where `Long.MIN_VALUE` stays negative, here it is 2^63).
fn ycsb_fnv_hash64(value: u64) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in value.to_le_bytes() {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash as i64).unsigned_abs()
}

impl KeyChooser {
    /// Builds the chooser a validated key spec describes.
    pub fn new(spec: &KeySpec) -> Result<KeyChooser> {
        let count = spec.count;
        Ok(KeyChooser(match spec.distribution {
            KeyDistribution::Uniform => Keys::Uniform { count },
            KeyDistribution::Zipfian { theta } => Keys::Zipfian {
                ranks: ZipfTable::new(count, theta),
            },
            KeyDistribution::ScrambledZipfian { theta } => Keys::ScrambledZipfian {
                ranks: ZipfTable::new(YCSB_SCRAMBLED_ITEMS.max(count), theta),
                count,
            },
            KeyDistribution::Hotspot {
                hot_fraction,
                hot_op_fraction,
            } => Keys::Hotspot {
                hot: ((count as f64 * hot_fraction) as u64).clamp(1, count),
                count,
                hot_op_fraction,
            },
            KeyDistribution::Latest { theta } => Keys::Latest {
                ranks: ZipfTable::new(1, theta),
                span: 1,
                theta,
                count,
                inserted: 0,
                next: 0,
            },
            KeyDistribution::Sequential => Keys::Sequential { count, next: 0 },
            KeyDistribution::Constant { key } => Keys::Constant { key },
        }))
    }

    /// Draws one key id.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&mut self, rng: &mut R) -> u64 {
        match &mut self.0 {
            Keys::Uniform { count } => rng.random_range(0..*count),
            Keys::Zipfian { ranks } => ranks.sample(rng) - 1,
            Keys::ScrambledZipfian { ranks, count } => {
                ycsb_fnv_hash64(ranks.sample(rng) - 1) % *count
            }
            Keys::Hotspot {
                hot,
                count,
                hot_op_fraction,
            } => {
                if *hot == *count || rng.random_bool(*hot_op_fraction) {
                    rng.random_range(0..*hot)
                } else {
                    rng.random_range(*hot..*count)
                }
            }
            Keys::Latest {
                ranks,
                span,
                theta,
                count,
                inserted,
                next,
            } => {
                let newest = *next;
                *next = if newest + 1 == *count { 0 } else { newest + 1 };
                if *inserted < *count {
                    *inserted += 1;
                    if *inserted > *span {
                        *span = (*span * 2).min(*count);
                        *ranks = ZipfTable::new(*span, *theta);
                    }
                }
                let back = loop {
                    let rank = ranks.sample(rng);
                    if rank <= *inserted {
                        break rank - 1;
                    }
                };
                if back <= newest {
                    newest - back
                } else {
                    newest + *count - back
                }
            }
            Keys::Sequential { count, next } => {
                let key = *next;
                *next = if key + 1 == *count { 0 } else { key + 1 };
                key
            }
            Keys::Constant { key } => *key,
        }
    }
}

/// Draws value sizes, whole bytes in `[0, MAX_VALUE_BYTES]`.
#[derive(Clone, Copy, Debug)]
pub enum SizeChooser {
    /// Always this many bytes.
    Fixed(u32),
    /// Uniform in `[min, max]`.
    Uniform(u32, u32),
    /// Normal, rounded and clamped to `[0, MAX_VALUE_BYTES]`.
    Normal(Normal<f64>),
    /// Exponential with this mean, rounded and clamped to `[0, MAX_VALUE_BYTES]`.
    Exponential(f64),
}

/// A real size rounded to whole bytes and clamped to `[0, MAX_VALUE_BYTES]`.
fn clamp_size(v: f64) -> u32 {
    v.round().clamp(0.0, MAX_VALUE_BYTES as f64) as u32
}

impl SizeChooser {
    /// Builds the chooser a validated value-size spec describes.
    pub fn new(spec: &ValueSize) -> Result<SizeChooser> {
        Ok(match *spec {
            ValueSize::Fixed { bytes } => SizeChooser::Fixed(bytes),
            ValueSize::Uniform { min, max } => SizeChooser::Uniform(min, max),
            ValueSize::Normal { mean, std_dev } => SizeChooser::Normal(
                Normal::new(mean, std_dev)
                    .context("value_size: cannot build a normal distribution")?,
            ),
            ValueSize::Exponential { mean } => SizeChooser::Exponential(mean),
        })
    }

    /// Draws one size. A fixed size draws nothing, so it leaves the random stream untouched.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        match *self {
            SizeChooser::Fixed(n) => n,
            SizeChooser::Uniform(min, max) => rng.random_range(min..=max),
            SizeChooser::Normal(normal) => clamp_size(normal.sample(rng)),
            SizeChooser::Exponential(mean) => {
                let standard: f64 = Exp1.sample(rng);
                clamp_size(standard * mean)
            }
        }
    }

    /// The mean of the drawn sizes, rounding and clamping included (a normal of mean 5 and
    /// standard deviation 50 draws 22.5 bytes on average), for estimates.
    pub fn mean(&self) -> f64 {
        match *self {
            SizeChooser::Fixed(n) => n as f64,
            SizeChooser::Uniform(min, max) => (min as f64 + max as f64) / 2.0,
            SizeChooser::Normal(normal) => normal_size_mean(normal.mean(), normal.std_dev()),
            SizeChooser::Exponential(mean) => {
                // Σ_{k=1..=limit} P(X ≥ k − ½) = e^(−λ/2) (1 − e^(−λ·limit)) / (1 − e^(−λ)).
                let rate = 1.0 / mean;
                let limit = MAX_VALUE_BYTES as f64;
                (-0.5 * rate).exp() * (-rate * limit).exp_m1() / (-rate).exp_m1()
            }
        }
    }
}

/// Mean of `clamp_size(X)` for X normal: E = Σ_{k=1..=MAX_VALUE_BYTES} P(X ≥ k − ½), since a
/// size is at least k exactly when X rounds to k or more.
fn normal_size_mean(mu: f64, sigma: f64) -> f64 {
    let max = MAX_VALUE_BYTES as f64;
    if sigma == 0.0 {
        return clamp_size(mu) as f64;
    }
    if sigma >= 8.0 {
        // The sum is the midpoint rule for E[clamp(X, 0, max)] = ∫_0^max P(X ≥ t) dt; with its
        // first Euler-Maclaurin correction it is exact to 1e-5 bytes at this width.
        let (a, b) = (-mu / sigma, (max - mu) / sigma);
        let density = |z: f64| (-0.5 * z * z).exp() / (2.0 * PI).sqrt();
        return max * normal_tail(b)
            + mu * (normal_tail(a) - normal_tail(b))
            + sigma * (density(a) - density(b))
            + (density(b) - density(a)) / (24.0 * sigma);
    }
    // Narrow: the terms more than 10 σ below the mean are 1, those above it 0; sum the others.
    let first = (mu - 10.0 * sigma + 0.5).ceil().clamp(1.0, max + 1.0);
    let last = (mu + 10.0 * sigma + 0.5).floor().min(max);
    let mut sum = first - 1.0;
    let mut k = first;
    while k <= last {
        sum += normal_tail((k - 0.5 - mu) / sigma);
        k += 1.0;
    }
    sum
}

/// P(Z ≥ z) for a standard normal Z, to 1.2e-7 relative: `erfc` by the Chebyshev fit of
/// Numerical Recipes' `erfcc`.
fn normal_tail(z: f64) -> f64 {
    let x = (z / SQRT_2).abs();
    let t = 1.0 / (1.0 + 0.5 * x);
    let poly = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ]
    .iter()
    .rev()
    .fold(0.0, |acc, c| c + t * acc);
    let erfc = t * (-x * x + poly).exp();
    0.5 * if z >= 0.0 { erfc } else { 2.0 - erfc }
}
