//! A TaskManager's managed memory, derived from its memory keys by Flink's own arithmetic
//! (`ProcessMemoryUtils` and `TaskExecutorFlinkMemoryUtils`), so a user's `config.yaml` gives
//! the RocksDB block cache and write buffers the bytes it gives them in Flink.
//!
//! Managed memory is `taskmanager.memory.managed.size` when set, else
//! `managed.fraction` × total Flink memory, where total Flink memory is
//! `taskmanager.memory.flink.size` when set, else `process.size` − JVM metaspace − JVM overhead,
//! the overhead being `jvm-overhead.fraction` × process size capped to `[min, max]`. Fractions
//! are Java floats (`Configuration.getFloat`) and products are truncated, as `MemorySize.multiply`
//! does: Flink's default 1728m process gives 536870920 bytes ("512.000mb (536870920 bytes)" in
//! a TaskManager's log), not 2^29.

use anyhow::{bail, Result};

/// Flink's default `taskmanager.memory.process.size` (the value its shipped config.yaml sets).
pub const DEFAULT_PROCESS_BYTES: u64 = 1728 << 20;
/// `taskmanager.memory.managed.fraction`'s default.
pub const DEFAULT_MANAGED_FRACTION: f32 = 0.4;
/// `taskmanager.memory.jvm-metaspace.size`'s default.
pub const DEFAULT_METASPACE_BYTES: u64 = 256 << 20;
/// `taskmanager.memory.jvm-overhead.fraction`'s default.
pub const DEFAULT_OVERHEAD_FRACTION: f32 = 0.1;
/// `taskmanager.memory.jvm-overhead.min`'s default.
pub const DEFAULT_OVERHEAD_MIN_BYTES: u64 = 192 << 20;
/// `taskmanager.memory.jvm-overhead.max`'s default.
pub const DEFAULT_OVERHEAD_MAX_BYTES: u64 = 1 << 30;

/// The TaskManager memory keys that decide managed memory, as configured (None: not set).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TaskManagerMemory {
    /// `taskmanager.memory.process.size`.
    pub process: Option<u64>,
    /// `taskmanager.memory.flink.size`.
    pub flink: Option<u64>,
    /// `taskmanager.memory.managed.size`.
    pub managed: Option<u64>,
    /// `taskmanager.memory.managed.fraction`.
    pub managed_fraction: f32,
    /// `taskmanager.memory.jvm-metaspace.size`.
    pub metaspace: u64,
    /// `taskmanager.memory.jvm-overhead.fraction`.
    pub overhead_fraction: f32,
    /// `taskmanager.memory.jvm-overhead.min`.
    pub overhead_min: u64,
    /// `taskmanager.memory.jvm-overhead.max`.
    pub overhead_max: u64,
}

impl Default for TaskManagerMemory {
    /// Flink's defaults, with no size set (so the default process size applies).
    fn default() -> TaskManagerMemory {
        TaskManagerMemory {
            process: None,
            flink: None,
            managed: None,
            managed_fraction: DEFAULT_MANAGED_FRACTION,
            metaspace: DEFAULT_METASPACE_BYTES,
            overhead_fraction: DEFAULT_OVERHEAD_FRACTION,
            overhead_min: DEFAULT_OVERHEAD_MIN_BYTES,
            overhead_max: DEFAULT_OVERHEAD_MAX_BYTES,
        }
    }
}

/// `MemorySize.multiply(float)`: the exact product of `bytes` and the float, truncated.
fn multiply(bytes: u64, fraction: f32) -> u64 {
    // A finite non-negative float is m·2^e exactly, with m < 2^24.
    let bits = fraction.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32;
    let (mantissa, exponent) = match exponent {
        0 => (bits & 0x7f_ffff, -149),
        e => ((bits & 0x7f_ffff) | 0x80_0000, e - 150),
    };
    let product = u128::from(bytes) * u128::from(mantissa);
    let value = if exponent >= 0 {
        product << exponent
    } else {
        product >> (-exponent).min(127)
    };
    u64::try_from(value).unwrap_or(u64::MAX)
}

impl TaskManagerMemory {
    /// The TaskManager's managed memory in bytes, or Flink's error for sizes that do not add up.
    pub fn managed_bytes(&self) -> Result<u64> {
        if let Some(managed) = self.managed {
            return Ok(managed);
        }
        Ok(multiply(self.total_flink()?, self.managed_fraction))
    }

    /// Total Flink memory: configured, or what the process size leaves after metaspace and
    /// overhead.
    fn total_flink(&self) -> Result<u64> {
        if self.overhead_min > self.overhead_max {
            bail!(
                "taskmanager.memory.jvm-overhead.min ({}) is larger than taskmanager.memory.jvm-overhead.max ({})",
                self.overhead_min,
                self.overhead_max
            );
        }
        if let Some(flink) = self.flink {
            if let Some(process) = self.process {
                // Both set: the overhead is what is left, and must lie in its range.
                let overhead = process.checked_sub(flink + self.metaspace);
                match overhead {
                    Some(o) if (self.overhead_min..=self.overhead_max).contains(&o) => {}
                    _ => bail!(
                        "taskmanager.memory.process.size ({process} bytes) minus taskmanager.memory.flink.size \
                         ({flink}) and JVM metaspace ({}) leaves a JVM overhead outside its range [{}, {}] bytes",
                        self.metaspace,
                        self.overhead_min,
                        self.overhead_max
                    ),
                }
            }
            return Ok(flink);
        }
        let process = self.process.unwrap_or(DEFAULT_PROCESS_BYTES);
        let overhead =
            multiply(process, self.overhead_fraction).clamp(self.overhead_min, self.overhead_max);
        match process.checked_sub(self.metaspace + overhead) {
            Some(flink) if flink > 0 => Ok(flink),
            _ => bail!(
                "Sum of configured JVM Metaspace ({} bytes) and JVM Overhead ({overhead} bytes) exceed \
                 configured Total Process Memory ({process} bytes): raise taskmanager.memory.process.size",
                self.metaspace
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1 << 20;

    #[test]
    fn float_products_truncate_as_flinks_memory_size_does() {
        // 0.4f is 0.4000000059604644775390625: 1280m × 0.4f = 536870920.0 exactly.
        assert_eq!(multiply(1280 * MB, 0.4), 536_870_920);
        // 0.1f × 1728m = 181193935.7..., truncated.
        assert_eq!(multiply(1728 * MB, 0.1), 181_193_935);
        assert_eq!(multiply(1 << 30, 1.0), 1 << 30);
        assert_eq!(multiply(12345, 0.0), 0);
    }

    #[test]
    fn the_default_taskmanager_has_flinks_512_mb_of_managed_memory() {
        // Flink's log for the default 1728m process: "Managed Memory: 512.000mb (536870920 bytes)".
        let default = TaskManagerMemory::default();
        assert_eq!(default.managed_bytes().unwrap(), 536_870_920);
        let explicit = TaskManagerMemory {
            process: Some(1728 * MB),
            ..default
        };
        assert_eq!(explicit.managed_bytes().unwrap(), 536_870_920);
        assert_eq!(
            default.managed_bytes().unwrap(),
            crate::backend::rocksdb::MemoryMode::DEFAULT_MANAGED_BYTES
        );
    }

    #[test]
    fn flink_size_and_managed_size_take_precedence_as_in_flink() {
        // Total Flink memory given: the fraction applies to it (Flink's docs: flink.size 1280m).
        let flink = TaskManagerMemory {
            flink: Some(1280 * MB),
            ..TaskManagerMemory::default()
        };
        assert_eq!(flink.managed_bytes().unwrap(), 536_870_920);
        // A larger process: overhead 0.1f × 4g = 429496736 (inside [192m, 1g]);
        // Flink memory 4g − 256m − 429496736 = 3597035104; managed = that × 0.4f, truncated.
        let big = TaskManagerMemory {
            process: Some(4096 * MB),
            ..TaskManagerMemory::default()
        };
        assert_eq!(big.managed_bytes().unwrap(), 1_438_814_063);
        // The overhead's max caps it: 0.1f × 16g > 1g.
        let huge = TaskManagerMemory {
            process: Some(16384 * MB),
            ..TaskManagerMemory::default()
        };
        assert_eq!(
            huge.managed_bytes().unwrap(),
            multiply(16384 * MB - 256 * MB - 1024 * MB, 0.4)
        );
        let fixed = TaskManagerMemory {
            managed: Some(100 * MB),
            process: Some(4096 * MB),
            ..TaskManagerMemory::default()
        };
        assert_eq!(fixed.managed_bytes().unwrap(), 100 * MB);
        let fraction = TaskManagerMemory {
            managed_fraction: 0.5,
            ..TaskManagerMemory::default()
        };
        assert_eq!(fraction.managed_bytes().unwrap(), 640 * MB);
    }

    #[test]
    fn sizes_that_do_not_add_up_are_flinks_errors() {
        let tiny = TaskManagerMemory {
            process: Some(300 * MB),
            ..TaskManagerMemory::default()
        };
        assert!(tiny
            .managed_bytes()
            .unwrap_err()
            .to_string()
            .contains("exceed configured Total Process Memory"));
        let inconsistent = TaskManagerMemory {
            process: Some(1728 * MB),
            flink: Some(1700 * MB),
            ..TaskManagerMemory::default()
        };
        assert!(inconsistent
            .managed_bytes()
            .unwrap_err()
            .to_string()
            .contains("outside its range"));
    }
}
