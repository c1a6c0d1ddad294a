//! Reports, computed from results.json alone: report.md, summary.csv and plots. Each text format
//! is an [`Exporter`]; charts live in [`plots`].

mod atomic;
mod csv;
mod format;
mod markdown;
mod plots;
pub mod recommend;
pub mod schema;
mod summary;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub use atomic::write_atomically;
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
    use crate::report::schema::{CellResult, Machine};
    use crate::workload::WorkloadSpec;

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
