//! The user's limits a recommended cell must keep (`--heap-budget`, `--p99`,
//! `--max-checkpoint-duration`, `--max-recovery-time`), kept in results.json so a redrawn report
//! applies them again (`statebench report DIR` may replace them).

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::checkpoint::parse_duration;
use crate::config::parse_memory_size;

/// Limits on a cell's measurements; None: no limit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    /// The JVM heap the state may take, bytes: the heap backend is out when its measured
    /// footprint exceeds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap_budget_bytes: Option<u64>,
    /// Largest all-ops p99, ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ns: Option<u64>,
    /// Longest checkpoint (sync + async), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_checkpoint_ms: Option<f64>,
    /// Longest recovery, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_recovery_ms: Option<f64>,
}

impl Constraints {
    /// The limits as the command line gives them: a size as Flink writes it (`512mb`, `2 gb`),
    /// durations as Flink writes them (`100ms`, `10 s`); each error names its option.
    pub fn parse(
        heap_budget: Option<&str>,
        p99: Option<&str>,
        max_checkpoint: Option<&str>,
        max_recovery: Option<&str>,
    ) -> Result<Constraints> {
        let duration = |text: Option<&str>, option: &str| {
            text.map(|t| parse_duration(t).with_context(|| option.to_string()))
                .transpose()
        };
        Ok(Constraints {
            heap_budget_bytes: heap_budget
                .map(|t| {
                    parse_memory_size(t).with_context(|| {
                        format!(
                            "--heap-budget: invalid size {}: expected a number with a unit like \
                             512mb or 2gb",
                            crate::input::excerpt(t)
                        )
                    })
                })
                .transpose()?,
            p99_ns: duration(p99, "--p99")?.map(|d| d.as_nanos() as u64),
            max_checkpoint_ms: duration(max_checkpoint, "--max-checkpoint-duration")?
                .map(|d| d.as_secs_f64() * 1e3),
            max_recovery_ms: duration(max_recovery, "--max-recovery-time")?
                .map(|d| d.as_secs_f64() * 1e3),
        })
    }

    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        *self == Constraints::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_as_flink_writes_them_and_errors_name_the_option() {
        let c =
            Constraints::parse(Some("512mb"), Some("100 ms"), Some("10s"), Some("1min")).unwrap();
        assert_eq!(c.heap_budget_bytes, Some(512 << 20));
        assert_eq!(c.p99_ns, Some(100_000_000));
        assert_eq!(c.max_checkpoint_ms, Some(10_000.0));
        assert_eq!(c.max_recovery_ms, Some(60_000.0));
        assert!(Constraints::parse(None, None, None, None)
            .unwrap()
            .is_empty());
        let err = format!(
            "{:#}",
            Constraints::parse(Some("lots"), None, None, None).unwrap_err()
        );
        assert!(
            err.contains("--heap-budget") && err.contains("lots"),
            "{err}"
        );
        let err = format!(
            "{:#}",
            Constraints::parse(None, Some("fast"), None, None).unwrap_err()
        );
        assert!(
            err.contains("--p99") && err.contains("invalid duration"),
            "{err}"
        );
    }
}
