//! One cell: replay the workload's op stream against one backend under one checkpoint setting,
//! timing every op on the operator thread; then restore the last checkpoint and verify it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};

use crate::backend::{BackendConfig, StateLayout};
use crate::checkpoint::{CheckpointSetting, Coordinator};
use crate::measure::{summarize_stats, write_interval_log, Recorder};
use crate::results::{CellResult, CellSetup, RestoreRecord};
use crate::workload::trace::{self, TraceReader};
use crate::workload::{fill_value, OpGenerator, OpSource, WorkloadSpec};

/// Where a run's ops come from: generated from a workload, or replayed from a trace.
#[derive(Clone, Debug)]
pub enum OpInput {
    /// Generated afresh for every cell from the workload.
    Generated(WorkloadSpec),
    /// Replayed from a trace file for every cell; `spec` is the workload embedded in it.
    Trace {
        /// The trace file.
        path: PathBuf,
        /// The workload it was recorded from (or imported with).
        spec: WorkloadSpec,
    },
}

impl OpInput {
    /// A workload file or a trace, told apart by the trace's magic bytes.
    pub fn from_path(path: &Path) -> Result<OpInput> {
        if trace::is_trace(path) {
            let spec = TraceReader::open(path)?.spec().clone();
            Ok(OpInput::Trace {
                path: path.to_path_buf(),
                spec,
            })
        } else {
            Ok(OpInput::Generated(WorkloadSpec::load(path)?))
        }
    }

    /// The workload.
    pub fn spec(&self) -> &WorkloadSpec {
        match self {
            OpInput::Generated(spec) | OpInput::Trace { spec, .. } => spec,
        }
    }

    /// A fresh op stream from the first event.
    pub fn open(&self) -> Result<Box<dyn OpSource>> {
        Ok(match self {
            OpInput::Generated(spec) => Box::new(OpGenerator::new(spec)?),
            OpInput::Trace { path, .. } => Box::new(TraceReader::open(path)?),
        })
    }
}

/// One point of the matrix.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The backend and its settings.
    pub backend: BackendConfig,
    /// The checkpoint setting.
    pub checkpoint: CheckpointSetting,
    /// What the cell runs with, for its result: `backend` and `checkpoint` as types and Flink
    /// keys, with where each key came from (built with them by `run::plan`).
    pub setup: CellSetup,
}

impl Cell {
    /// Stable identifier, e.g. `rocksdb-DEFAULT-incremental` or `hashmap-none`.
    pub fn id(&self) -> String {
        match self.backend.profile() {
            Some(p) => format!("{}-{}-{}", self.backend.name(), p, self.checkpoint.mode),
            None => format!("{}-{}", self.backend.name(), self.checkpoint.mode),
        }
    }
}

/// Where a cell works and writes.
#[derive(Clone, Debug)]
pub struct CellPaths {
    /// Scratch directory for the backend and its checkpoints; deleted after the cell.
    pub work: PathBuf,
    /// Run directory; the cell's OPTIONS file is copied under `options/`.
    pub run: PathBuf,
}

/// Progress callback: (events done, events total).
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// How often (in events) progress is reported and the clock checked outside op timing.
const PROGRESS_EVERY: u64 = 4096;
/// How often backend statistics are sampled during the measured part.
const STATS_EVERY: Duration = Duration::from_secs(1);

/// Runs one cell and returns what it measured. A restore that does not verify is reported in
/// the result (`verified: false`), not hidden.
pub fn run_cell(
    input: &OpInput,
    cell: &Cell,
    paths: &CellPaths,
    progress: Progress<'_>,
) -> Result<CellResult> {
    let id = cell.id();
    let work = paths.work.join(&id);
    if work.exists() {
        std::fs::remove_dir_all(&work)
            .with_context(|| format!("cannot clear {}", work.display()))?;
    }
    let spec = input.spec();
    let layout = StateLayout::of(spec);
    let mut backend = cell.backend.open(&layout, &work.join("db"))?;
    let mut coordinator = Coordinator::new(cell.checkpoint, &work.join("checkpoints"))?;
    let mut generator = input.open()?;
    let (mut ops, mut value) = (Vec::new(), Vec::new());
    let mut recorder: Option<Recorder> = None;
    let mut measured_start = Instant::now();
    let mut measured_started_at = SystemTime::now();
    let mut measured_ops = 0u64;
    // Backend statistics: a snapshot when measuring starts, one per second, one at the end.
    let mut stats_start = None;
    let mut stats_samples = Vec::new();
    let mut next_stats_sample = Instant::now();

    while generator
        .next_event(&mut ops)
        .with_context(|| format!("cell {id}"))?
    {
        let event = generator.position();
        if recorder.is_none() && event > spec.warmup_events {
            measured_start = Instant::now();
            measured_started_at = SystemTime::now();
            recorder = Some(Recorder::new(measured_start));
            coordinator.set_epoch(measured_start);
            stats_start = backend.stats()?;
            next_stats_sample = measured_start + STATS_EVERY;
        }
        backend.set_time(generator.event_time());
        let mut last = None;
        for op in &ops {
            match op.kind.value() {
                Some(v) => fill_value(v, &mut value),
                None => value.clear(),
            }
            let start = Instant::now();
            backend
                .apply(op, &value)
                .with_context(|| format!("cell {id}: event {event}: {op:?}"))?;
            let end = Instant::now();
            if let Some(r) = recorder.as_mut() {
                r.record(op.kind.class(), end - start, end);
                measured_ops += 1;
            }
            last = Some(end);
        }
        let now = last.unwrap_or_else(Instant::now);
        if let Some(start) = stats_start.as_ref().filter(|_| now >= next_stats_sample) {
            if let Some(current) = backend.stats()? {
                let t = (now - measured_start).as_secs_f64();
                stats_samples.push(crate::measure::sample(start, &current, t));
            }
            next_stats_sample += STATS_EVERY;
        }
        coordinator
            .poll(now, backend.as_mut())
            .with_context(|| format!("cell {id}"))?;
        if event % PROGRESS_EVERY == 0 {
            progress(event, generator.events());
        }
    }
    let measured_end = Instant::now();
    let stats_end = backend.stats()?;
    progress(generator.events(), generator.events());
    coordinator
        .finish(backend.as_mut())
        .with_context(|| format!("cell {id}: final checkpoint"))?;

    let elapsed = measured_end - measured_start;
    let recorder = recorder.context("the workload has no events after warm-up")?;
    let recorded = recorder.finish(measured_end);
    let histogram_log = format!("histograms/{id}.hlog");
    write_interval_log(
        &paths.run.join(&histogram_log),
        measured_started_at,
        &id,
        &recorded.intervals,
    )?;
    let options_file = save_options_file(backend.as_ref(), &paths.run, &id)?;
    let rocksdb = match (stats_start, stats_end) {
        (Some(start), Some(end)) => Some(summarize_stats(&start, &end, stats_samples)),
        _ => None,
    };
    drop(backend);

    let restore = match coordinator.last() {
        Some(last) => Some(restore_and_verify(spec, cell, &layout, last, &work)?),
        None => None,
    };
    let checkpoints = coordinator.records().to_vec();
    drop(coordinator);
    std::fs::remove_dir_all(&work).with_context(|| format!("cannot delete {}", work.display()))?;

    let measured_events = spec.events - spec.warmup_events;
    let secs = elapsed.as_secs_f64().max(1e-9);
    Ok(CellResult {
        id,
        setup: cell.setup.clone(),
        measured_events,
        measured_ops,
        elapsed_s: elapsed.as_secs_f64(),
        ops_per_s: measured_ops as f64 / secs,
        events_per_s: measured_events as f64 / secs,
        all_ops: recorded.all,
        ops: recorded.ops,
        timeline: recorded.timeline,
        histogram_log: Some(histogram_log),
        checkpoints,
        restore,
        options_file,
        rocksdb,
    })
}

/// Restores the last completed checkpoint into a fresh backend and compares its digest with the
/// digest of the live state the checkpoint captured.
fn restore_and_verify(
    spec: &WorkloadSpec,
    cell: &Cell,
    layout: &StateLayout,
    last: &crate::checkpoint::RetainedCheckpoint,
    work: &Path,
) -> Result<RestoreRecord> {
    let expected = last
        .view
        .digest()
        .with_context(|| format!("digest of checkpoint {}", last.handle.id))?;
    let start = Instant::now();
    let restored = cell
        .backend
        .restore(layout, &last.handle, &work.join("restore"))
        .with_context(|| format!("{}: restoring checkpoint {}", spec.name, last.handle.id))?;
    let restore_time: Duration = start.elapsed();
    let mut restored = restored;
    restored.set_time(last.view.time());
    let actual = restored.digest()?;
    if actual != expected {
        eprintln!(
            "error: cell {}: restored checkpoint {} does not match the state it captured \
             (expected {expected:?}, restored {actual:?})",
            cell.id(),
            last.handle.id
        );
    }
    Ok(RestoreRecord {
        checkpoint_id: last.handle.id,
        restore_ms: restore_time.as_secs_f64() * 1e3,
        verified: actual == expected,
        entries: actual.entries,
        bytes: actual.bytes,
    })
}

/// Copies the backend's effective options file to `options/<cell>.OPTIONS` in the run directory.
fn save_options_file(
    backend: &dyn crate::backend::Backend,
    run: &Path,
    id: &str,
) -> Result<Option<String>> {
    let Some(source) = backend.options_file() else {
        return Ok(None);
    };
    let relative = format!("options/{id}.OPTIONS");
    let target = run.join(&relative);
    std::fs::create_dir_all(run.join("options"))?;
    std::fs::copy(&source, &target)
        .with_context(|| format!("cannot copy {} to {}", source.display(), target.display()))?;
    Ok(Some(relative))
}
