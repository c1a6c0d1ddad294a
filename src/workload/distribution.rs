//! Key and value-size distributions, sampled from the workload's seeded generator. Every
//! distribution of YCSB and Gadget that makes sense for keyed state is here; all are exact
//! functions of the random stream, so the same seed draws the same keys on every machine.

use anyhow::{Context, Result};
use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp, Normal, Zipf};

use super::spec::{KeyDistribution, KeySpec, ValueSize, MAX_VALUE_BYTES};

/// Draws key ids in `0..count` with the workload's popularity distribution.
#[derive(Clone, Debug)]
pub enum KeyChooser {
    /// Every key equally likely.
    Uniform {
        /// Number of keys.
        count: u64,
    },
    /// Zipf over ranks; rank r is key id r (key groups scatter hot keys anyway).
    Zipfian {
        /// The rank distribution over `1..=count`.
        zipf: Zipf<f64>,
    },
    /// Zipf over ranks, rank r mapped to key `fnv1a64(r) % count` (YCSB's scrambling; YCSB
    /// draws its ranks over 10^10 items with precomputed theta-0.99 constants, here they are drawn
    /// over the key space itself, for any theta).
    ScrambledZipfian {
        /// The rank distribution over `1..=count`.
        zipf: Zipf<f64>,
        /// Number of keys.
        count: u64,
    },
    /// YCSB's hotspot.
    Hotspot {
        /// Keys `0..hot` are the hot set.
        hot: u64,
        /// Number of keys.
        count: u64,
        /// Probability a draw hits the hot set.
        hot_op_fraction: f64,
    },
    /// YCSB's latest: draw i inserts key `i % count`; a draw picks a recent key, zipfian over
    /// how far back it was inserted.
    Latest {
        /// Recency ranks over `1..=count`.
        zipf: Zipf<f64>,
        /// Number of keys.
        count: u64,
        /// Draws so far (= keys inserted).
        drawn: u64,
    },
    /// 0, 1, ..., count − 1, then again.
    Sequential {
        /// Number of keys.
        count: u64,
        /// The next key.
        next: u64,
    },
    /// Always one key.
    Constant {
        /// The key.
        key: u64,
    },
}

/// FNV-1a, 64-bit, of a rank's 8 little-endian bytes (YCSB's `Utils.fnvhash64`).
fn fnv1a64(value: u64) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in value.to_le_bytes() {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

impl KeyChooser {
    /// Builds the chooser a validated key spec describes.
    pub fn new(spec: &KeySpec) -> Result<KeyChooser> {
        let count = spec.count;
        let zipf = |theta: f64| {
            Zipf::new(count as f64, theta)
                .context("keys.distribution: cannot build a zipfian distribution")
        };
        Ok(match spec.distribution {
            KeyDistribution::Uniform => KeyChooser::Uniform { count },
            KeyDistribution::Zipfian { theta } => KeyChooser::Zipfian { zipf: zipf(theta)? },
            KeyDistribution::ScrambledZipfian { theta } => KeyChooser::ScrambledZipfian {
                zipf: zipf(theta)?,
                count,
            },
            KeyDistribution::Hotspot {
                hot_fraction,
                hot_op_fraction,
            } => KeyChooser::Hotspot {
                hot: ((count as f64 * hot_fraction) as u64).clamp(1, count),
                count,
                hot_op_fraction,
            },
            KeyDistribution::Latest { theta } => KeyChooser::Latest {
                zipf: zipf(theta)?,
                count,
                drawn: 0,
            },
            KeyDistribution::Sequential => KeyChooser::Sequential { count, next: 0 },
            KeyDistribution::Constant { key } => KeyChooser::Constant { key },
        })
    }

    /// Draws one key id.
    pub fn sample<R: Rng + ?Sized>(&mut self, rng: &mut R) -> u64 {
        match self {
            KeyChooser::Uniform { count } => rng.random_range(0..*count),
            KeyChooser::Zipfian { zipf } => zipf.sample(rng) as u64 - 1,
            KeyChooser::ScrambledZipfian { zipf, count } => {
                fnv1a64(zipf.sample(rng) as u64 - 1) % *count
            }
            KeyChooser::Hotspot {
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
            KeyChooser::Latest { zipf, count, drawn } => {
                let newest = *drawn;
                *drawn += 1;
                // How far back: zipfian, redrawn until it reaches a key inserted already.
                let back = loop {
                    let back = zipf.sample(rng) as u64 - 1;
                    if back <= newest {
                        break back;
                    }
                };
                (newest - back) % *count
            }
            KeyChooser::Sequential { count, next } => {
                let key = *next;
                *next = (key + 1) % *count;
                key
            }
            KeyChooser::Constant { key } => *key,
        }
    }
}

/// Draws value sizes.
#[derive(Clone, Copy, Debug)]
pub enum SizeChooser {
    /// Always this many bytes.
    Fixed(u32),
    /// Uniform in `[min, max]`.
    Uniform(u32, u32),
    /// Normal, rounded and clamped to `[0, MAX_VALUE_BYTES]`.
    Normal(Normal<f64>),
    /// Exponential, rounded and clamped to `[0, MAX_VALUE_BYTES]`.
    Exponential(Exp<f64>),
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
            ValueSize::Exponential { mean } => SizeChooser::Exponential(
                Exp::new(1.0 / mean)
                    .context("value_size: cannot build an exponential distribution")?,
            ),
        })
    }

    /// Draws one size. A fixed size draws nothing, so it leaves the random stream untouched.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        let clamp = |v: f64| v.round().clamp(0.0, MAX_VALUE_BYTES as f64) as u32;
        match *self {
            SizeChooser::Fixed(n) => n,
            SizeChooser::Uniform(min, max) => rng.random_range(min..=max),
            SizeChooser::Normal(normal) => clamp(normal.sample(rng)),
            SizeChooser::Exponential(exp) => clamp(exp.sample(rng)),
        }
    }
}
