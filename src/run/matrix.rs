//! Running cells (the matrix, or one) one after another into one run directory, with
//! results.json rewritten after each cell so an interrupted run keeps what it measured.

use std::path::PathBuf;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::cell::{run_cell, Cell, CellPaths, OpInput};
use super::output::{run_directory, utc_now_rfc3339};
use crate::backend::rocksdb::options_file;
use crate::measure::describe_machine;
use crate::results::{write_results, CellResult, Results, SCHEMA_VERSION};

/// Where and how to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Parent of run directories (`reports/`).
    pub reports: PathBuf,
    /// Scratch directory for backends and checkpoints; default `<run dir>/work`.
    pub work: Option<PathBuf>,
    /// Show a progress bar.
    pub progress: bool,
}

/// What a run produced.
#[derive(Debug)]
pub struct RunSummary {
    /// The run directory.
    pub dir: PathBuf,
    /// Everything measured.
    pub results: Results,
    /// Cells whose restored checkpoint did not match the captured state.
    pub unverified: Vec<String>,
}

/// Runs `cells` one after another into a new run directory, writing results.json after each.
pub fn run_cells(input: &OpInput, cells: &[Cell], options: &RunOptions) -> Result<RunSummary> {
    let spec = input.spec();
    let dir = run_directory(&options.reports, &spec.name)?;
    let work = options.work.clone().unwrap_or_else(|| dir.join("work"));
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let mut results = Results {
        schema_version: SCHEMA_VERSION,
        statebench_version: env!("CARGO_PKG_VERSION").to_string(),
        created: utc_now_rfc3339(),
        workload: spec.clone(),
        machine: describe_machine(&work),
        rocksdb_version: String::new(),
        converted_from: None,
        cells: Vec::new(),
    };
    let paths = CellPaths {
        work: work.clone(),
        run: dir.clone(),
    };
    let bar = if options.progress {
        ProgressBar::new(cells.len() as u64 * spec.events)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:32}] {percent:>3}% {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut unverified = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let base = i as u64 * spec.events;
        bar.set_message(format!("[{}/{}] {}", i + 1, cells.len(), cell.id()));
        let result = run_cell(input, cell, &paths, &mut |done, _| {
            bar.set_position(base + done)
        })?;
        bar.suspend(|| eprintln!("{}", one_line(i + 1, cells.len(), &result)));
        if results.rocksdb_version.is_empty() {
            if let Some(rel) = &result.options_file {
                if let Ok(parsed) = options_file::parse_options_file(&dir.join(rel)) {
                    results.rocksdb_version =
                        options_file::rocksdb_version(&parsed).unwrap_or_default();
                }
            }
        }
        let restores = [&result.restore, &result.savepoint_restore];
        if restores
            .iter()
            .any(|r| r.as_ref().is_some_and(|r| !r.verified))
        {
            unverified.push(result.id.clone());
        }
        results.cells.push(result);
        write_results(&dir, &results)?;
    }
    bar.finish_and_clear();
    if options.work.is_none() {
        std::fs::remove_dir_all(&work)
            .with_context(|| format!("cannot delete {}", work.display()))?;
    }
    Ok(RunSummary {
        dir,
        results,
        unverified,
    })
}

/// A cell's result in one line, for the log.
fn one_line(n: usize, total: usize, r: &CellResult) -> String {
    let restore = match &r.restore {
        Some(x) if x.verified => format!("restore {:.0} ms verified", x.restore_ms),
        Some(_) => "RESTORE DID NOT VERIFY".to_string(),
        None => "no checkpoints".to_string(),
    };
    format!(
        "[{n}/{total}] {:<52} {:>12.0} ops/s  p99 {:>9.1} µs  {} checkpoints  {restore}",
        r.id,
        r.ops_per_s,
        r.all_ops.p99_ns as f64 / 1e3,
        r.checkpoints.len(),
    )
}
