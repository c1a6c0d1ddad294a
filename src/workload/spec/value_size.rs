//! How large the written values are. Values are not stored in the op stream, only their sizes
//! (see `ValueRef`), so the size distribution is all the file says about them.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::field_path::FieldPath;

/// Size of written values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ValueSize {
    /// Always `bytes` bytes.
    Fixed {
        /// Value size in bytes.
        bytes: u32,
    },
    /// Uniform in `[min, max]` bytes.
    Uniform {
        /// Smallest size.
        min: u32,
        /// Largest size.
        max: u32,
    },
    /// Normal, rounded and clamped to `[0, 64 MiB]`.
    Normal {
        /// Mean size.
        mean: f64,
        /// Standard deviation.
        std_dev: f64,
    },
    /// Exponential with this mean, rounded and clamped to `[0, 64 MiB]`.
    Exponential {
        /// Mean size.
        mean: f64,
    },
}

/// Largest value size accepted (RocksDB handles more, but a benchmark of that is a mistake).
pub const MAX_VALUE_BYTES: u32 = 64 << 20;

impl ValueSize {
    /// Checks the size parameters; `at` is where this spec stands (`value_size`).
    pub(crate) fn validate(&self, at: &FieldPath) -> Result<()> {
        let max = MAX_VALUE_BYTES as f64;
        match *self {
            ValueSize::Fixed { bytes } if bytes > MAX_VALUE_BYTES => {
                at.invalid("bytes", &format!("at most {MAX_VALUE_BYTES}"), bytes)
            }
            ValueSize::Uniform { max, .. } if max > MAX_VALUE_BYTES => {
                at.invalid("max", &format!("at most {MAX_VALUE_BYTES}"), max)
            }
            ValueSize::Uniform { min, max } if min > max => {
                at.invalid("min", &format!("at most max ({max})"), min)
            }
            ValueSize::Normal { mean, .. } | ValueSize::Exponential { mean }
                if !(mean.is_finite() && mean > 0.0 && mean <= max) =>
            {
                at.invalid(
                    "mean",
                    &format!("a size > 0 and <= {MAX_VALUE_BYTES}"),
                    mean,
                )
            }
            ValueSize::Normal { std_dev, .. } if !(std_dev.is_finite() && std_dev >= 0.0) => {
                at.invalid("std_dev", "a number >= 0", std_dev)
            }
            _ => Ok(()),
        }
    }
}
