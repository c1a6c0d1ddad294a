//! Which keys the events carry: how many there are and how popular each is. The same shape
//! describes a dedup operator's users, so it checks itself wherever it stands in the file.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::field_path::FieldPath;

/// Key population and popularity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// Number of distinct keys (ids `0..count`).
    pub count: u64,
    /// How often each key is drawn.
    pub distribution: KeyDistribution,
}

/// Key popularity. Ids are `0..count`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyDistribution {
    /// Every key equally likely.
    Uniform,
    /// Key of rank r (0-based) drawn with probability ∝ 1/(r+1)^theta; YCSB uses theta 0.99.
    Zipfian {
        /// Skew exponent, > 0.
        theta: f64,
    },
    /// YCSB's scrambled zipfian: a zipfian rank r (0-based) over YCSB's 10^10 items, key
    /// `|fnv1a64(r)| % count`. The hot keys are not the low ids, every key keeps some traffic,
    /// and the skew is milder than `zipfian` over fewer keys: the hottest key takes
    /// 1/ζ(10^10, theta) of the draws (3.8% at theta 0.99).
    ScrambledZipfian {
        /// Skew exponent, > 0.
        theta: f64,
    },
    /// YCSB's hotspot: `hot_op_fraction` of draws go uniformly to the first `hot_fraction` of
    /// the keys, the rest uniformly to the others.
    Hotspot {
        /// Fraction of keys that are hot, in (0, 1).
        hot_fraction: f64,
        /// Fraction of draws that hit the hot set, in [0, 1].
        hot_op_fraction: f64,
    },
    /// YCSB's latest: draw i (0-based) first inserts key i % count, then returns the key
    /// inserted b draws ago, with b (0-based) zipfian over the min(i + 1, count) keys inserted
    /// so far: recent keys are popular, and once all keys exist the hot spot keeps cycling
    /// through the ids.
    Latest {
        /// Skew exponent, > 0.
        theta: f64,
    },
    /// 0, 1, 2, ..., count − 1, 0, ...
    Sequential,
    /// Always the same key (Gadget's constant popularity).
    Constant {
        /// The key, < count.
        key: u64,
    },
}

impl KeySpec {
    /// Checks the key count and the distribution's parameters; `at` is where this spec stands
    /// (`keys`, `operator.users`).
    pub(crate) fn validate(&self, at: &FieldPath) -> Result<()> {
        if self.count == 0 {
            return at.invalid("count", "at least 1", self.count);
        }
        match self.distribution {
            KeyDistribution::Zipfian { theta }
            | KeyDistribution::ScrambledZipfian { theta }
            | KeyDistribution::Latest { theta }
                if !(theta.is_finite() && theta > 0.0) =>
            {
                at.invalid("distribution.theta", "a number > 0", theta)
            }
            KeyDistribution::Hotspot { hot_fraction, .. }
                if !(hot_fraction > 0.0 && hot_fraction < 1.0) =>
            {
                at.invalid(
                    "distribution.hot_fraction",
                    "a fraction in (0, 1)",
                    hot_fraction,
                )
            }
            KeyDistribution::Hotspot {
                hot_op_fraction, ..
            } if !(0.0..=1.0).contains(&hot_op_fraction) => at.invalid(
                "distribution.hot_op_fraction",
                "a fraction from 0 to 1",
                hot_op_fraction,
            ),
            KeyDistribution::Constant { key } if key >= self.count => at.invalid(
                "distribution.key",
                &format!("a key below count ({})", self.count),
                key,
            ),
            _ => Ok(()),
        }
    }
}
