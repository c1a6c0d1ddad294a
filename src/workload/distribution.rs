//! Key and value-size distributions, sampled from the workload's seeded generator.

use anyhow::{Context, Result};
use rand::{Rng, RngExt};
use rand_distr::{Distribution, Zipf};

use super::spec::{KeyDistribution, KeySpec, ValueSize};

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
}

impl KeyChooser {
    /// Builds the chooser a validated key spec describes.
    pub fn new(spec: &KeySpec) -> Result<KeyChooser> {
        Ok(match spec.distribution {
            KeyDistribution::Uniform => KeyChooser::Uniform { count: spec.count },
            KeyDistribution::Zipfian { theta } => KeyChooser::Zipfian {
                zipf: Zipf::new(spec.count as f64, theta)
                    .context("keys.distribution: cannot build a zipfian distribution")?,
            },
        })
    }

    /// Draws one key id.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        match self {
            KeyChooser::Uniform { count } => rng.random_range(0..*count),
            KeyChooser::Zipfian { zipf } => zipf.sample(rng) as u64 - 1,
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
}

impl SizeChooser {
    /// Builds the chooser a validated value-size spec describes.
    pub fn new(spec: &ValueSize) -> SizeChooser {
        match *spec {
            ValueSize::Fixed { bytes } => SizeChooser::Fixed(bytes),
            ValueSize::Uniform { min, max } => SizeChooser::Uniform(min, max),
        }
    }

    /// Draws one size. A fixed size draws nothing, so it leaves the random stream untouched.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        match *self {
            SizeChooser::Fixed(n) => n,
            SizeChooser::Uniform(min, max) => rng.random_range(min..=max),
        }
    }

    /// The mean size, for estimates.
    pub fn mean(&self) -> f64 {
        match *self {
            SizeChooser::Fixed(n) => n as f64,
            SizeChooser::Uniform(min, max) => (min as f64 + max as f64) / 2.0,
        }
    }
}
