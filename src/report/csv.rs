//! summary.csv: one row per (cell, op class), plus an `all` row per cell, for spreadsheets and
//! scripts; latencies are the median repeat's, and the last columns the throughput's median over
//! the repeats with its 95% interval.

use std::fmt::Write;

use anyhow::Result;

use super::summary::checkpoint_stats;
use super::Exporter;
use crate::analysis::analyze;
use crate::results::{Results, RocksDbStats};

const COLUMNS: [&str; 29] = [
    "cell",
    "backend",
    "profile",
    "checkpoint_mode",
    "checkpoint_interval_ms",
    "op",
    "count",
    "ops_per_s",
    "mean_ns",
    "p50_ns",
    "p90_ns",
    "p99_ns",
    "p999_ns",
    "max_ns",
    "checkpoints",
    "avg_sync_ms",
    "avg_async_ms",
    "restore_ms",
    "verified",
    "write_amplification",
    "block_cache_hit_rate",
    "stall_ms",
    "repeats",
    "ops_per_s_median",
    "ops_per_s_ci_low",
    "ops_per_s_ci_high",
    "recovery_ms",
    "rescale_recovery_ms",
    "failed_checkpoints",
];

/// Writes summary.csv.
pub struct CsvExporter;

/// Quotes a field as RFC 4180 asks: when it holds a comma, quote, or line break.
pub fn escape(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

impl Exporter for CsvExporter {
    fn file_name(&self) -> &'static str {
        "summary.csv"
    }

    fn render(&self, results: &Results) -> Result<Vec<u8>> {
        let mut out = COLUMNS.join(",");
        out.push_str("\r\n");
        let analysis = analyze(results);
        for (c, stats) in results.cells.iter().zip(&analysis.cells) {
            let s = checkpoint_stats(c).unwrap_or_default();
            // Empty where the cell has no such figure (the heap backend; tickers not measured).
            let stat = |f: fn(&RocksDbStats) -> Option<String>| {
                c.rocksdb.as_ref().and_then(f).unwrap_or_default()
            };
            for o in c.ops.iter().chain(std::iter::once(&c.all_ops)) {
                let fields = [
                    c.id.clone(),
                    c.setup.backend.name().to_string(),
                    c.setup.profile_label().unwrap_or_default(),
                    c.setup.checkpoint_mode.name().to_string(),
                    c.setup.checkpoint_interval_ms.to_string(),
                    o.op.clone(),
                    o.count.to_string(),
                    format!("{:.1}", c.ops_per_s),
                    format!("{:.1}", o.mean_ns),
                    o.p50_ns.to_string(),
                    o.p90_ns.to_string(),
                    o.p99_ns.to_string(),
                    o.p999_ns.to_string(),
                    o.max_ns.to_string(),
                    s.count.to_string(),
                    format!("{:.3}", s.avg_sync_ms),
                    format!("{:.3}", s.avg_async_ms),
                    c.restore
                        .as_ref()
                        .map_or(String::new(), |r| format!("{:.3}", r.restore_ms)),
                    c.restore
                        .as_ref()
                        .map_or(String::new(), |r| r.verified.to_string()),
                    stat(|r| r.write_amplification.map(|w| format!("{w:.4}"))),
                    stat(|r| r.block_cache_hit_rate.map(|h| format!("{h:.4}"))),
                    stat(|r| r.stall_ms.map(|ms| format!("{ms:.3}"))),
                    stats.repeats.to_string(),
                    format!("{:.1}", stats.ops_per_s.median),
                    format!("{:.1}", stats.ops_per_s.low),
                    format!("{:.1}", stats.ops_per_s.high),
                    c.recovery
                        .as_ref()
                        .map_or(String::new(), |r| format!("{:.3}", r.recovery_ms)),
                    c.recovery
                        .as_ref()
                        .and_then(|r| r.rescale.as_ref())
                        .map_or(String::new(), |r| format!("{:.3}", r.recovery_ms)),
                    c.failed_checkpoints.len().to_string(),
                ];
                let row: Vec<String> = fields.iter().map(|f| escape(f)).collect();
                write!(out, "{}\r\n", row.join(","))?;
            }
        }
        Ok(out.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a,b"), "\"a,b\"");
        assert_eq!(escape("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(escape("two\nlines"), "\"two\nlines\"");
    }
}
