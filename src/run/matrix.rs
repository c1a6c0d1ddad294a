//! Running cells (the matrix, or one) one after another into one run directory, with
//! results.json rewritten after each cell so an interrupted run keeps what it measured.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, ensure, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::cell::{run_cell, Cell, CellPaths, OpInput};
use super::interrupt::{self, Interrupted};
use super::output::{run_directory, utc_now_rfc3339};
use super::resume::RunManifest;
use super::workdir::WorkDir;
use crate::backend::rocksdb::options_file;
use crate::measure::describe_machine;
use crate::results::{read_results, write_results, CellResult, Results, SCHEMA_VERSION};

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
    /// Set when Ctrl-C or SIGTERM stopped the run after some cells were saved: the caller
    /// writes the report of `results` (the message says report.md was kept), then ends with
    /// this error.
    pub interrupted: Option<Interrupted>,
}

/// Runs `cells` one after another into a new run directory, writing results.json after each. A
/// run that fails or is interrupted before any cell was saved removes its run directory; after
/// that it keeps results.json with the cells done (see [`resume_cells`]).
pub fn run_cells(input: &OpInput, cells: &[Cell], options: &RunOptions) -> Result<RunSummary> {
    let dir = run_directory(&options.reports, &input.spec().name)?;
    if let Err(e) = RunManifest::new(input, cells).and_then(|m| m.write(&dir)) {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    execute(input, cells, options, dir, None, true)
}

/// Continues the run in `dir` (interrupted, killed or failed) from its first unfinished cell,
/// appending to its results.json and redrawing its report at the end. Refused, with the reason,
/// unless the input and every setting are those the run was started with.
pub fn resume_cells(
    input: &OpInput,
    cells: &[Cell],
    options: &RunOptions,
    dir: &Path,
) -> Result<RunSummary> {
    RunManifest::load(dir)?
        .check_resumable(&RunManifest::new(input, cells)?)
        .with_context(|| format!("cannot resume {}", dir.display()))?;
    let previous = match dir.join("results.json").exists() {
        true => Some(read_results(dir)?),
        false => None,
    };
    let done: Vec<&str> = previous
        .iter()
        .flat_map(|r| r.cells.iter().map(|c| c.id.as_str()))
        .collect();
    let planned: Vec<String> = cells.iter().map(Cell::id).collect();
    ensure!(
        planned.len() >= done.len() && planned[..done.len()] == done[..],
        "cannot resume {}: its results.json holds cells {} (expected the first of {})",
        dir.display(),
        done.join(", "),
        planned.join(", ")
    );
    eprintln!(
        "resuming {}: {} of {} cells done",
        dir.display(),
        done.len(),
        cells.len()
    );
    execute(input, cells, options, dir.to_path_buf(), previous, false)
}

/// Runs the cells of `cells` that `previous` does not hold yet into `dir`, under the work
/// directory's lock. On a failure or an interruption it keeps what was saved and says so in the
/// error; `fresh` (a run directory this call created) is removed if nothing was saved.
fn execute(
    input: &OpInput,
    cells: &[Cell],
    options: &RunOptions,
    dir: PathBuf,
    previous: Option<Results>,
    fresh: bool,
) -> Result<RunSummary> {
    let spec = input.spec();
    let work = match WorkDir::lock(&options.work.clone().unwrap_or_else(|| dir.join("work"))) {
        Ok(work) => work,
        Err(e) => return Err(stopped(&dir, fresh, 0, cells.len(), e)),
    };
    let mut results = previous.unwrap_or_else(|| Results {
        schema_version: SCHEMA_VERSION,
        statebench_version: env!("CARGO_PKG_VERSION").to_string(),
        created: utc_now_rfc3339(),
        workload: spec.clone(),
        machine: describe_machine(work.path()),
        rocksdb_version: String::new(),
        converted_from: None,
        cells: Vec::new(),
    });
    let done = results.cells.len();
    let paths = CellPaths {
        work: work.path().to_path_buf(),
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
    let mut failure = None;
    for (i, cell) in cells.iter().enumerate().skip(done) {
        if interrupt::requested() {
            failure = Some(Interrupted::now().into());
            break;
        }
        let base = i as u64 * spec.events;
        bar.set_message(format!("[{}/{}] {}", i + 1, cells.len(), cell.id()));
        let result = match run_cell(input, cell, &paths, &mut |done, _| {
            bar.set_position(base + done)
        }) {
            Ok(result) => result,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
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
        let rescale_unverified = result
            .recovery
            .as_ref()
            .and_then(|r| r.rescale.as_ref())
            .is_some_and(|r| !r.verified);
        if rescale_unverified
            || restores
                .iter()
                .any(|r| r.as_ref().is_some_and(|r| !r.verified))
        {
            unverified.push(result.id.clone());
        }
        results.cells.push(result);
        let written = write_results(&dir, &results);
        if let Err(e) = written {
            // results.cells stays what results.json holds.
            results.cells.pop();
            failure = Some(e);
            break;
        }
    }
    bar.finish_and_clear();
    drop(work);
    if options.work.is_none() {
        // The default work dir, emptied by the lock's release; removed only when empty.
        let _ = std::fs::remove_dir(dir.join("work"));
    }
    let saved = results.cells.len();
    let interrupted = match failure {
        None => None,
        // Interrupted with cells kept: the caller draws their report, then reports this.
        Some(e) if saved > 0 && e.is::<Interrupted>() => Some(Interrupted {
            kept: Some(kept(&dir, saved, cells.len(), " and report.md")),
            ..Interrupted::now()
        }),
        Some(e) => return Err(stopped(&dir, fresh, saved, cells.len(), e)),
    };
    Ok(RunSummary {
        dir,
        results,
        unverified,
        interrupted,
    })
}

/// What a stopped run kept (`saved` of `total` cells) and the command that resumes it; `also`
/// names what else was kept beside results.json.
fn kept(dir: &Path, saved: usize, total: usize, also: &str) -> String {
    format!(
        "kept {saved} of {total} cells in {}{also}; resume with: {}",
        dir.join("results.json").display(),
        resume_command(dir)
    )
}

/// The error a run ends with after `error` stopped it with `saved` cells in results.json: says
/// what was kept and how to resume, and removes a `fresh` run directory that kept nothing.
fn stopped(
    dir: &Path,
    fresh: bool,
    saved: usize,
    total: usize,
    error: anyhow::Error,
) -> anyhow::Error {
    let kept = if saved == 0 && fresh {
        let _ = std::fs::remove_dir_all(dir);
        "no cell was saved, so the run directory was removed".to_string()
    } else {
        kept(dir, saved, total, "")
    };
    match error.downcast::<Interrupted>() {
        Ok(interrupted) => Interrupted {
            kept: Some(kept),
            ..interrupted
        }
        .into(),
        Err(error) => anyhow!("{error:#}; {kept}"),
    }
}

/// The command that resumes the run in `dir`: this command line with `--resume DIR`.
fn resume_command(dir: &Path) -> String {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("matrix") {
        return format!(
            "statebench matrix WORKLOAD --resume {} (with the run's options)",
            dir.display()
        );
    }
    if let Some(at) = args.iter().position(|a| a == "--resume") {
        args.drain(at..(at + 2).min(args.len()));
    }
    args.retain(|a| !a.starts_with("--resume="));
    format!("statebench {} --resume {}", args.join(" "), dir.display())
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
