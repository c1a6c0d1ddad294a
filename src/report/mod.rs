//! Reports, computed from results.json alone: report.md, summary.csv and plots. Each text format
//! is an [`Exporter`]; charts live in [`plots`].

mod csv;
mod format;
mod markdown;
mod plots;
pub mod recommend;
pub mod schema;
mod summary;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub use crate::atomic::write_atomically;
use schema::{Results, SCHEMA_VERSION};
pub use summary::{checkpoint_stats, CheckpointStats};

/// The charts every report has: (file stem, title).
pub const PLOTS: [(&str, &str); 4] = [
    ("p99_per_cell", "p99 per cell"),
    ("throughput_per_cell", "throughput per cell"),
    ("latency_distribution", "latency distribution per cell"),
    ("timeline", "p99 per second per cell"),
];

/// A text output format of the report.
pub trait Exporter {
    /// File name inside the run directory.
    fn file_name(&self) -> &'static str;
    /// The file's content.
    fn render(&self, results: &Results) -> Result<Vec<u8>>;
}

/// Writes the whole report of `results` into `dir`; returns the files written.
pub fn write_report(results: &Results, dir: &Path) -> Result<Vec<PathBuf>> {
    let exporters: [&dyn Exporter; 2] = [&markdown::MarkdownExporter, &csv::CsvExporter];
    let mut files = Vec::new();
    for exporter in exporters {
        let path = dir.join(exporter.file_name());
        write_atomically(&path, &exporter.render(results)?)?;
        files.push(path);
    }
    files.extend(plots::write_plots(results, &dir.join("plots"))?);
    Ok(files)
}

/// Reads `dir/results.json`, refusing other schema versions.
pub fn load_results(dir: &Path) -> Result<Results> {
    let path = dir.join("results.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let version: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    match version.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == SCHEMA_VERSION as u64 => {}
        Some(v) => bail!(
            "{}: field `schema_version`: expected {SCHEMA_VERSION}, got {v}",
            path.display()
        ),
        None => bail!("{}: field `schema_version`: missing", path.display()),
    }
    serde_json::from_value(version).with_context(|| format!("{}: invalid results", path.display()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::schema::{
        CellResult, CheckpointRecord, Machine, OpLatency, RestoreRecord, RocksDbStats,
        TimelinePoint,
    };
    use crate::workload::WorkloadSpec;

    /// A RocksDB DEFAULT cell with the given mode, throughput, all-ops p99.9 and restore outcome
    /// (None: no restore); everything else empty.
    pub(crate) fn cell(
        id: &str,
        mode: &str,
        ops: f64,
        p999: u64,
        verified: Option<bool>,
    ) -> CellResult {
        CellResult {
            id: id.to_string(),
            backend: "rocksdb".to_string(),
            profile: Some("DEFAULT".to_string()),
            checkpoint_mode: mode.to_string(),
            checkpoint_interval_ms: 1000,
            measured_events: 10,
            measured_ops: 10,
            elapsed_s: 1.0,
            ops_per_s: ops,
            events_per_s: ops,
            all_ops: OpLatency {
                op: "all".into(),
                p999_ns: p999,
                ..OpLatency::default()
            },
            ops: vec![],
            timeline: vec![],
            histogram_log: None,
            checkpoints: vec![],
            restore: verified.map(|verified| RestoreRecord {
                verified,
                ..RestoreRecord::default()
            }),
            savepoint: None,
            savepoint_restore: None,
            options_file: None,
            rocksdb: None,
        }
    }

    /// A latency summary whose percentiles grow from `base_ns`, with a distribution that ends in
    /// the 100 % point the plots must skip.
    fn latency(op: &str, base_ns: u64) -> OpLatency {
        let ladder = [50.0, 90.0, 99.0, 99.9, 99.99, 100.0];
        OpLatency {
            op: op.to_string(),
            count: 1000,
            mean_ns: base_ns as f64 * 1.5,
            p50_ns: base_ns,
            p90_ns: base_ns * 2,
            p99_ns: base_ns * 5,
            p999_ns: base_ns * 20,
            max_ns: base_ns * 100,
            distribution: ladder
                .iter()
                .enumerate()
                .map(|(i, &p)| (p, base_ns << (2 * i)))
                .collect(),
            histogram: String::new(),
        }
    }

    /// A fully populated cell: op classes, a timeline with a checkpoint spike, checkpoints,
    /// restore and (for RocksDB) statistics and an OPTIONS file.
    fn full_cell(backend: &str, profile: Option<&str>, mode: &str, ops: f64) -> CellResult {
        let id = [Some(backend), profile, Some(mode)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("-");
        let mut c = cell(&id, mode, ops, 0, (mode != "none").then_some(true));
        c.backend = backend.to_string();
        c.profile = profile.map(str::to_string);
        c.all_ops = latency("all", 800 + ops as u64 % 500);
        c.ops = vec![
            latency("value.get", 700),
            latency("value.update, \"quoted\"", 0),
        ];
        c.timeline = (1..=10)
            .map(|s| TimelinePoint {
                t_s: s as f64,
                ops: 1000,
                p50_ns: 800,
                p99_ns: if s == 5 { 2_000_000 } else { 5_000 },
                max_ns: 9_000_000,
            })
            .collect();
        if mode != "none" {
            c.checkpoints = (1..=3)
                .map(|id| CheckpointRecord {
                    id,
                    triggered_s: id as f64,
                    sync_ms: 1.5,
                    async_ms: 40.0,
                    bytes_written: 3 << 20,
                    size_bytes: id << 22,
                    files_written: 4,
                    files_reused: id - 1,
                    is_final: id == 3,
                    verified: None,
                })
                .collect();
        }
        if backend == "rocksdb" {
            c.options_file = Some(format!("options/{id}.ini"));
            c.rocksdb = Some(RocksDbStats {
                write_amplification: 3.2,
                block_cache_hit_rate: 0.93,
                files_per_level: vec![2, 0, 5],
                ..RocksDbStats::default()
            });
        }
        c
    }

    /// Asserts that `write_report` wrote every file, non-empty, with the right signatures.
    fn assert_full_report(results: &Results, dir: &Path) -> String {
        let files = write_report(results, dir).unwrap();
        assert_eq!(files.len(), 2 + 2 * PLOTS.len(), "{files:?}");
        for (name, _) in PLOTS {
            for ext in ["png", "svg"] {
                assert!(files.contains(&dir.join("plots").join(format!("{name}.{ext}"))));
            }
        }
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            assert!(!bytes.is_empty(), "{} is empty", file.display());
            match file.extension().and_then(|e| e.to_str()) {
                Some("png") => assert!(
                    bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
                    "{}",
                    file.display()
                ),
                Some("svg") => assert!(bytes.starts_with(b"<svg"), "{}", file.display()),
                _ => {}
            }
        }
        let leftovers = std::fs::read_dir(dir.join("plots"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(leftovers, 0, "temporary files left behind");
        std::fs::read_to_string(dir.join("report.md")).unwrap()
    }

    #[test]
    fn a_full_report_is_written() {
        let mut cells = vec![
            full_cell("hashmap", None, "none", 2_000_000.0),
            full_cell("hashmap", None, "full", 1_500_000.0),
            full_cell(
                "rocksdb",
                Some("SPINNING_DISK_OPTIMIZED_HIGH_MEM"),
                "incremental",
                400_000.0,
            ),
            full_cell("rocksdb", Some("FLASH_SSD_OPTIMIZED"), "full", 300_000.0),
        ];
        cells[3].restore.as_mut().unwrap().verified = false;
        // Zero latencies and an empty distribution must not break the log axes.
        cells[2].all_ops.distribution.clear();
        cells[1].timeline[0].p99_ns = 0;
        let results = results_with(cells);
        let dir = tempfile::tempdir().unwrap();
        let md = assert_full_report(&results, dir.path());
        let warning = md.find("WARNING").expect("unverified restore is flagged");
        let recommendation = md.find("## Recommendation").unwrap();
        assert!(warning < recommendation, "the warning leads");
        assert!(md.contains("**Use `hashmap-full`**"), "{md}");
        assert!(md.contains("state.backend.type: hashmap"));
        assert!(md.contains("execution.checkpointing.interval: 1000ms"));
        assert!(md.contains("![p99 per cell](plots/p99_per_cell.png)"));
        assert!(md.contains("[options/rocksdb-FLASH_SSD_OPTIMIZED-full.ini]"));
        assert!(md.find("## Headline").unwrap() > recommendation);

        let csv = std::fs::read_to_string(dir.path().join("summary.csv")).unwrap();
        let rows: Vec<&str> = csv.split_terminator("\r\n").collect();
        assert_eq!(
            rows.len(),
            1 + 4 * 3,
            "header, then two op classes and `all` per cell"
        );
        assert!(rows[1].starts_with("hashmap-none,hashmap,,none,1000,value.get,"));
        assert!(csv.contains(",\"value.update, \"\"quoted\"\"\","));
    }

    #[test]
    fn a_single_empty_cell_is_still_reported() {
        let results = results_with(vec![cell("hashmap-none", "none", 0.0, 0, None)]);
        let dir = tempfile::tempdir().unwrap();
        let md = assert_full_report(&results, dir.path());
        assert!(md.contains("No cell both checkpointed"), "{md}");
    }

    /// Results of a tiny workload holding `cells`.
    pub(crate) fn results_with(cells: Vec<CellResult>) -> Results {
        let spec = WorkloadSpec::parse(
            r#"{"name":"t","description":"d","seed":1,"events":100,"warmup_events":10,
            "max_parallelism":128,"keys":{"count":10,"distribution":{"type":"uniform"}},
            "value_size":{"type":"fixed","bytes":8},
            "states":[{"type":"value","name":"v","read_only_fraction":0.5}]}"#,
            "test",
        )
        .unwrap();
        Results {
            schema_version: SCHEMA_VERSION,
            statebench_version: "test".into(),
            created: "2026-11-24T00:00:00Z".into(),
            workload: spec,
            machine: Machine::default(),
            rocksdb_version: "11.8.1".into(),
            cells,
        }
    }

    #[test]
    fn results_of_another_schema_version_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut json = serde_json::to_value(results_with(vec![])).unwrap();
        std::fs::write(dir.path().join("results.json"), json.to_string()).unwrap();
        assert!(load_results(dir.path()).is_ok());
        json["schema_version"] = 99.into();
        std::fs::write(dir.path().join("results.json"), json.to_string()).unwrap();
        let err = format!("{:#}", load_results(dir.path()).unwrap_err());
        assert!(
            err.contains("results.json") && err.contains("schema_version"),
            "{err}"
        );
    }
}
