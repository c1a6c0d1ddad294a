//! Running cells into one run directory: every cell `repeats` times, in the seeded interleaved
//! order of `order.rs`, each repeat in a fresh child process (`repeat.rs`) with a fresh cell
//! directory and, where allowed, the page cache dropped before it; results.json is rewritten
//! after each repeat so an interrupted run keeps what it measured and can be resumed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, ensure, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::cell::{Cell, CellPaths, OpInput};
use super::container::MemoryLimit;
use super::interrupt::{self, Interrupted};
use super::order::{run_order, Slot};
use super::output::{run_directory, utc_now_rfc3339};
use super::page_cache::drop_page_cache;
use super::repeat::{result_file, run_repeat};
use super::resume::RunManifest;
use super::workdir::WorkDir;
use crate::analysis::analyze;
use crate::backend::rocksdb::options_file;
use crate::backend::BackendConfig;
use crate::measure::describe_machine;
use crate::results::{
    read_results, write_results, CellResult, Constraints, RepeatRecord, Results, RunProtocol,
    SCHEMA_VERSION,
};

/// Repeats per cell when `--repeats` is not given (README, "Repeats", says why three).
pub const DEFAULT_REPEATS: u32 = 3;

/// Where and how to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Parent of run directories (`reports/`).
    pub reports: PathBuf,
    /// Scratch directory for backends and checkpoints; default `<run dir>/work`.
    pub work: Option<PathBuf>,
    /// Show a progress bar.
    pub progress: bool,
    /// Repeats per cell (at least 1).
    pub repeats: u32,
    /// Drop the page cache before every repeat when allowed (root).
    pub drop_page_cache: bool,
    /// The statebench binary each repeat's child process runs.
    pub executable: PathBuf,
    /// The user's limits, recorded in results.json for the recommendation.
    pub constraints: Constraints,
}

impl RunOptions {
    /// Options for runs into `reports` with [`DEFAULT_REPEATS`] repeats, the page cache dropped
    /// when allowed, children running this very executable, no progress bar.
    pub fn new(reports: PathBuf) -> Result<RunOptions> {
        Ok(RunOptions {
            reports,
            work: None,
            progress: false,
            repeats: DEFAULT_REPEATS,
            drop_page_cache: true,
            executable: std::env::current_exe()
                .context("cannot find the statebench executable to run repeats with")?,
            constraints: Constraints::default(),
        })
    }
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
    /// Set when Ctrl-C or SIGTERM stopped the run after some repeats were saved: the caller
    /// writes the report of `results` (the message says report.md was kept), then ends with
    /// this error.
    pub interrupted: Option<Interrupted>,
}

/// Runs every repeat of `cells` into a new run directory, writing results.json after each. A
/// run that fails or is interrupted before any repeat was saved removes its run directory;
/// after that it keeps results.json with the repeats done (see [`resume_cells`]).
pub fn run_cells(input: &OpInput, cells: &[Cell], options: &RunOptions) -> Result<RunSummary> {
    ensure!(options.repeats >= 1, "--repeats: expected at least 1");
    let dir = run_directory(&options.reports, &input.spec().name)?;
    if let Err(e) = RunManifest::new(input, cells, options.repeats).and_then(|m| m.write(&dir)) {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    execute(input, cells, options, dir, None, true)
}

/// Continues the run in `dir` (interrupted, killed or failed) from its first unfinished repeat,
/// adding to its results.json and redrawing its report at the end. Refused, with the reason,
/// unless the input and every setting (the repeats too) are those the run was started with.
pub fn resume_cells(
    input: &OpInput,
    cells: &[Cell],
    options: &RunOptions,
    dir: &Path,
) -> Result<RunSummary> {
    RunManifest::load(dir)?
        .check_resumable(&RunManifest::new(input, cells, options.repeats)?)
        .with_context(|| format!("cannot resume {}", dir.display()))?;
    let previous = match dir.join("results.json").exists() {
        true => Some(read_results(dir)?),
        false => None,
    };
    let done: BTreeSet<String> = previous.iter().flat_map(repeats_done).collect();
    let order = order_names(cells, options.repeats, input.spec().seed);
    let expected: BTreeSet<String> = order.iter().take(done.len()).cloned().collect();
    ensure!(
        done == expected,
        "cannot resume {}: its results.json holds the repeats {} (expected the first {} of the \
         run order: {})",
        dir.display(),
        done.iter().cloned().collect::<Vec<_>>().join(", "),
        done.len(),
        expected.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    eprintln!(
        "resuming {}: {} of {} repeats done",
        dir.display(),
        done.len(),
        order.len()
    );
    execute(input, cells, options, dir.to_path_buf(), previous, false)
}

/// `<cell>#<repeat>`: a repeat's name in the run order.
fn slot_name(id: &str, repeat: u32) -> String {
    format!("{id}#{repeat}")
}

/// The names of the repeats `results` holds.
fn repeats_done(results: &Results) -> Vec<String> {
    results
        .cells
        .iter()
        .flat_map(|c| c.repeats.iter().map(|r| slot_name(&c.id, r.repeat)))
        .collect()
}

/// The run order's repeats by name.
fn order_names(cells: &[Cell], repeats: u32, seed: u64) -> Vec<String> {
    run_order(cells.len(), repeats, seed)
        .iter()
        .map(|s| slot_name(&cells[s.cell].id(), s.repeat))
        .collect()
}

/// Runs the repeats of `cells` that `previous` does not hold yet into `dir`, in the run order,
/// under the work directory's lock. On a failure or an interruption it keeps what was saved and
/// says so in the error; `fresh` (a run directory this call created) is removed if nothing was
/// saved.
fn execute(
    input: &OpInput,
    cells: &[Cell],
    options: &RunOptions,
    dir: PathBuf,
    previous: Option<Results>,
    fresh: bool,
) -> Result<RunSummary> {
    let spec = input.spec();
    let order = run_order(cells.len(), options.repeats, spec.seed);
    let total = order.len();
    let work = match WorkDir::lock(&options.work.clone().unwrap_or_else(|| dir.join("work"))) {
        Ok(work) => work,
        Err(e) => return Err(stopped(&dir, fresh, 0, total, e)),
    };
    let mut results = previous.unwrap_or_else(|| Results {
        schema_version: SCHEMA_VERSION,
        statebench_version: env!("CARGO_PKG_VERSION").to_string(),
        created: utc_now_rfc3339(),
        workload: spec.clone(),
        machine: describe_machine(work.path()),
        rocksdb_version: String::new(),
        converted_from: None,
        protocol: RunProtocol {
            repeats: options.repeats,
            order_seed: spec.seed,
            order: order_names(cells, options.repeats, spec.seed),
            child_processes: true,
            page_cache_dropped: options.drop_page_cache,
            page_cache: match options.drop_page_cache {
                true => "dropped before every repeat (sync; echo 3 > /proc/sys/vm/drop_caches)",
                false => "not dropped: --keep-page-cache",
            }
            .to_string(),
        },
        constraints: options.constraints.clone(),
        cells: Vec::new(),
        analysis: None,
    });
    let done = repeats_done(&results).len();
    let memory = cells
        .first()
        .and_then(|c| c.options.container_memory)
        .map(MemoryLimit::detect);
    if let Some(MemoryLimit::DirectIo { reason, .. }) = &memory {
        eprintln!(
            "note: no cgroup can bound memory here ({reason}); RocksDB cells use direct I/O instead"
        );
    }
    let bar = if options.progress {
        ProgressBar::new(total as u64 * spec.events)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:32}] {percent:>3}% {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut failure = None;
    for (i, &slot) in order.iter().enumerate().skip(done) {
        if interrupt::requested() {
            failure = Some(Interrupted::now().into());
            break;
        }
        let cell = &bounded(&cells[slot.cell], memory.as_ref());
        let dropped = options.drop_page_cache && page_cache_dropped(&mut results);
        let base = i as u64 * spec.events;
        bar.set_message(format!(
            "[{}/{total}] {} repeat {}",
            i + 1,
            cell.id(),
            slot.repeat
        ));
        let paths = CellPaths {
            work: work.path().to_path_buf(),
            run: dir.clone(),
            repeat: Some(slot.repeat),
        };
        let cgroup = match memory
            .as_ref()
            .map(|m| m.cgroup(&format!("{}-r{}", cell.id(), slot.repeat)))
        {
            Some(Err(e)) => {
                failure = Some(e);
                break;
            }
            Some(Ok(cgroup)) => cgroup,
            None => None,
        };
        let measured = run_repeat(
            &options.executable,
            input,
            cell,
            &paths,
            cgroup.as_ref(),
            &mut |done, _| bar.set_position(base + done),
        )
        .map(|mut measured| {
            measured.memory_bound = match (&cgroup, &memory) {
                (Some(cgroup), _) => Some(cgroup.bound()),
                (None, memory) => memory.as_ref().map(MemoryLimit::bound),
            };
            measured
        })
        .map_err(|e| match &cgroup {
            Some(cgroup) if cgroup.bound().oom_killed => e.context(format!(
                "the kernel killed it for want of memory: the cell does not fit in \
                 --container-memory {}m (page cache included)",
                cgroup.bound().limit_bytes >> 20
            )),
            _ => e,
        });
        // Removes the cgroup: its process has ended.
        drop(cgroup);
        let measured = match measured {
            Ok(measured) => measured,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        bar.suspend(|| eprintln!("{}", one_line(i + 1, total, slot, &measured)));
        let before = results.clone();
        let saved =
            add_repeat(&mut results, cells, &dir, slot, i + 1, dropped, measured).and_then(|()| {
                results.analysis = Some(analyze(&results));
                write_results(&dir, &results)
            });
        if let Err(e) = saved {
            // results stays what results.json holds.
            results = before;
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
    let saved = repeats_done(&results).len();
    let unverified = results
        .cells
        .iter()
        .filter(|c| c.repeats.iter().any(|r| r.verified == Some(false)))
        .map(|c| c.id.clone())
        .collect();
    let interrupted = match failure {
        None => None,
        // Interrupted with repeats kept: the caller draws their report, then reports this.
        Some(e) if saved > 0 && e.is::<Interrupted>() => Some(Interrupted {
            kept: Some(kept(&dir, saved, total, " and report.md")),
            ..Interrupted::now()
        }),
        Some(e) => return Err(stopped(&dir, fresh, saved, total, e)),
    };
    Ok(RunSummary {
        dir,
        results,
        unverified,
        interrupted,
    })
}

/// `cell` as it runs under `memory`: where no cgroup bounds the page cache, RocksDB reads,
/// flushes and compacts with direct I/O.
fn bounded(cell: &Cell, memory: Option<&MemoryLimit>) -> Cell {
    let mut cell = cell.clone();
    if let (Some(memory), BackendConfig::RocksDb(config)) = (memory, &mut cell.backend) {
        config.direct_io = memory.direct_io();
    }
    cell
}

/// Drops the page cache before a repeat; the first time it cannot, records why in `results`
/// and stops trying. Returns whether it was dropped.
fn page_cache_dropped(results: &mut Results) -> bool {
    if !results.protocol.page_cache_dropped {
        return false;
    }
    match drop_page_cache() {
        Ok(()) => true,
        Err(reason) => {
            results.protocol.page_cache_dropped = false;
            results.protocol.page_cache = reason;
            false
        }
    }
}

/// Adds repeat `slot` (at `position` in the run order, after the page cache was `dropped` or not)
/// to its cell in `results`, the cells kept in the plan's order.
fn add_repeat(
    results: &mut Results,
    cells: &[Cell],
    dir: &Path,
    slot: Slot,
    position: usize,
    dropped: bool,
    measured: CellResult,
) -> Result<()> {
    if results.rocksdb_version.is_empty() {
        if let Some(rel) = &measured.options_file {
            if let Ok(parsed) = options_file::parse_options_file(&dir.join(rel)) {
                results.rocksdb_version =
                    options_file::rocksdb_version(&parsed).unwrap_or_default();
            }
        }
    }
    let id = cells[slot.cell].id();
    let record = RepeatRecord {
        page_cache_dropped: dropped,
        file: Some(result_file(&id, slot.repeat)),
        ..RepeatRecord::of(&measured, slot.repeat, position)
    };
    let load = |r: &RepeatRecord| -> Result<CellResult> {
        let path = dir.join(r.file.as_deref().unwrap_or_default());
        let text =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_slice(&text)
            .with_context(|| format!("{}: not a cell result", path.display()))
    };
    match results.cells.iter_mut().find(|c| c.id == id) {
        Some(cell) => cell.add_repeat(record, measured, load)?,
        None => {
            let plan_index = |id: &str| cells.iter().position(|c| c.id() == id);
            let at = results
                .cells
                .iter()
                .take_while(|c| plan_index(&c.id) < Some(slot.cell))
                .count();
            results
                .cells
                .insert(at, CellResult::first_repeat(record, measured));
        }
    }
    Ok(())
}

/// What a stopped run kept (`saved` of `total` repeats) and the command that resumes it; `also`
/// names what else was kept beside results.json.
fn kept(dir: &Path, saved: usize, total: usize, also: &str) -> String {
    format!(
        "kept {saved} of {total} repeats in {}{also}; resume with: {}",
        dir.join("results.json").display(),
        resume_command(dir)
    )
}

/// The error a run ends with after `error` stopped it with `saved` repeats in results.json: says
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
        "no repeat was saved, so the run directory was removed".to_string()
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

/// A repeat's result in one line, for the log.
fn one_line(n: usize, total: usize, slot: Slot, r: &CellResult) -> String {
    let restore = match &r.restore {
        Some(x) if x.verified => format!("restore {:.0} ms verified", x.restore_ms),
        Some(_) => "RESTORE DID NOT VERIFY".to_string(),
        None => "no checkpoints".to_string(),
    };
    format!(
        "[{n}/{total}] {:<52} #{} {:>12.0} ops/s  p99 {:>9.1} µs  {} checkpoints  {restore}",
        r.id,
        slot.repeat,
        r.ops_per_s,
        r.all_ops.p99_ns as f64 / 1e3,
        r.checkpoints.len(),
    )
}
