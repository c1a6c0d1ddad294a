//! Reports, computed from [`Results`] alone (a run's results.json): report.md, summary.csv,
//! plots, and report.html (report.md as one self-contained page, plots inline). Each text format
//! is an [`Exporter`]; charts live in [`plots`].

pub mod binding;
pub mod compare;
mod csv;
mod format;
pub mod html;
mod markdown;
mod plots;
pub mod recommend;
mod recovery;
mod summary;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::atomic::write_atomically;
use crate::results::Results;
pub use summary::{checkpoint_stats, CheckpointStats};

/// The charts every report has: (file stem, title).
pub const PLOTS: [(&str, &str); 4] = [
    ("p99_per_cell", "p99 per cell"),
    ("throughput_per_cell", "throughput per cell"),
    ("latency_distribution", "latency distribution per cell"),
    ("timeline", "p99 per second per cell (heat map)"),
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
    let mut markdown = Vec::new();
    for exporter in exporters {
        let path = dir.join(exporter.file_name());
        let content = exporter.render(results)?;
        write_atomically(&path, &content)?;
        if files.is_empty() {
            markdown = content;
        }
        files.push(path);
    }
    files.extend(plots::write_plots(results, &dir.join("plots"))?);
    let html = html::page(
        &format!("statebench: {}", results.workload.name),
        &String::from_utf8_lossy(&markdown),
        &|target| plot_svg(dir, target),
    );
    let path = dir.join("report.html");
    write_atomically(&path, html.as_bytes())?;
    files.push(path);
    Ok(files)
}

/// The SVG drawn beside a report's `plots/<name>.png`, to inline in report.html.
fn plot_svg(dir: &Path, target: &str) -> Option<(Vec<u8>, &'static str)> {
    let svg = dir.join(target.strip_suffix(".png")?.to_string() + ".svg");
    Some((std::fs::read(svg).ok()?, "image/svg+xml"))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::backend::rocksdb::{PredefinedProfile, RocksDbConfig, RocksStatistics};
    use crate::backend::BackendConfig;
    use crate::checkpoint::{CheckpointMode, CheckpointSetting};
    pub(crate) use crate::results::tests::results_with;
    use crate::results::{
        CellResult, CheckpointRecord, OpLatency, RepeatRecord, RestoreRecord, RocksDbStats,
        TimelinePoint,
    };

    impl CellResult {
        /// This cell as its own single repeat.
        fn once(mut self) -> CellResult {
            self.repeats = vec![RepeatRecord::of(&self, 1, 1)];
            self.representative_repeat = Some(1);
            self
        }
    }
    use crate::run::Cell;

    /// A cell of `backend` with checkpoints of `mode` every second, as planned.
    pub(crate) fn planned(backend: BackendConfig, mode: CheckpointMode) -> Cell {
        Cell::new(
            backend,
            CheckpointSetting::new(mode, Duration::from_secs(1)),
        )
    }

    /// RocksDB under the DEFAULT profile.
    pub(crate) fn rocksdb_default() -> BackendConfig {
        BackendConfig::RocksDb(RocksDbConfig::new(PredefinedProfile::Default))
    }

    /// A RocksDB DEFAULT cell with the given mode, throughput, all-ops p99.9 and restore outcome
    /// (None: no restore); everything else empty.
    pub(crate) fn cell(
        id: &str,
        mode: CheckpointMode,
        ops: f64,
        p999: u64,
        verified: Option<bool>,
    ) -> CellResult {
        CellResult {
            id: id.to_string(),
            setup: planned(rocksdb_default(), mode).setup,
            measured_events: 10,
            measured_ops: 10,
            elapsed_s: 1.0,
            generation_s: 0.0,
            generation_ns_per_op: 0.0,
            ops_per_s: ops,
            events_per_s: ops,
            latency_sampling: None,
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
            failed_checkpoints: vec![],
            recovery: None,
            storage: None,
            options_file: None,
            rocksdb: None,
            open_loop: None,
            max_rate: None,
            resources: None,
            memory_bound: None,
            slots: vec![],
            peak_rss_bytes: None,
            representative_repeat: None,
            repeats: vec![],
        }
        .once()
    }

    /// A latency summary whose percentiles grow from `base_ns`, with a distribution that ends in
    /// the 100 % point the plots must skip.
    fn latency(op: &str, base_ns: u64) -> OpLatency {
        let ladder = [50.0, 90.0, 99.0, 99.9, 99.99, 100.0];
        OpLatency {
            op: op.to_string(),
            count: 1000,
            timed: Some(1000),
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
    fn full_cell(backend: BackendConfig, mode: CheckpointMode, ops: f64) -> CellResult {
        let planned = planned(backend, mode);
        let id = planned.id();
        let checkpoints = mode != CheckpointMode::None;
        let mut c = cell(&id, mode, ops, 0, checkpoints.then_some(true));
        c.setup = planned.setup;
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
        if checkpoints {
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
                    ..CheckpointRecord::default()
                })
                .collect();
        }
        if let BackendConfig::RocksDb(_) = planned.backend {
            c.options_file = Some(format!("options/{id}.ini"));
            c.rocksdb = Some(RocksDbStats {
                statistics: RocksStatistics::Tickers,
                write_amplification: Some(3.2),
                block_cache_hit_rate: Some(0.93),
                files_per_level: vec![2, 0, 5],
                ..RocksDbStats::default()
            });
        }
        c.once()
    }

    /// Asserts that `write_report` wrote every file, non-empty, with the right signatures.
    fn assert_full_report(results: &Results, dir: &Path) -> String {
        let files = write_report(results, dir).unwrap();
        assert_eq!(files.len(), 3 + 2 * PLOTS.len(), "{files:?}");
        let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
        assert_eq!(
            html.matches("src=\"data:image/svg+xml;base64,").count(),
            PLOTS.len(),
            "every plot inline"
        );
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
        let rocksdb = |p| BackendConfig::RocksDb(RocksDbConfig::new(p));
        let mut cells = vec![
            full_cell(BackendConfig::HashMap, CheckpointMode::None, 2_000_000.0),
            full_cell(BackendConfig::HashMap, CheckpointMode::Full, 1_500_000.0),
            full_cell(
                rocksdb(PredefinedProfile::SpinningDiskOptimizedHighMem),
                CheckpointMode::Incremental,
                400_000.0,
            ),
            full_cell(
                rocksdb(PredefinedProfile::FlashSsdOptimized),
                CheckpointMode::Full,
                300_000.0,
            ),
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
        assert!(md.find("## Ranking").unwrap() > recommendation);
        assert!(md.contains("Each cell ran once"), "{md}");

        let csv = std::fs::read_to_string(dir.path().join("summary.csv")).unwrap();
        let rows: Vec<&str> = csv.split_terminator("\r\n").collect();
        assert_eq!(
            rows.len(),
            1 + 4 * 3,
            "header, then two op classes and `all` per cell"
        );
        assert!(rows[1].starts_with("hashmap-none,hashmap,,none,0,value.get,"));
        assert!(csv.contains(",\"value.update, \"\"quoted\"\"\","));
    }

    #[test]
    fn a_single_empty_cell_is_still_reported() {
        let results = results_with(vec![cell(
            "hashmap-none",
            CheckpointMode::None,
            0.0,
            0,
            None,
        )]);
        let dir = tempfile::tempdir().unwrap();
        let md = assert_full_report(&results, dir.path());
        assert!(
            md.contains("**No recommendation**: no cell both checkpointed"),
            "{md}"
        );
    }
}
