//! One cell: replay the workload's op stream against one backend under one checkpoint setting,
//! timing every op on the operator thread; then restore the last checkpoint and verify it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};

use super::coordinator::{Coordinator, RetainedCheckpoint};
use crate::backend::{Backend, BackendConfig, StateLayout, StatsSnapshot};
use crate::checkpoint::{CheckpointMode, CheckpointSetting};
use crate::measure::{
    sample, summarize_stats, write_interval_log, Clock, Recorded, Recorder, Ticks,
};
use crate::report::schema::{
    CellResult, CheckpointRecord, RestoreRecord, RocksDbStats, StatsSample,
};
use crate::workload::trace::{self, TraceReader};
use crate::workload::{fill_value, OpGenerator, OpSource, StateOp, WorkloadSpec};

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
    let replayed = Replay::new(&id, backend.as_mut(), &mut coordinator).run(input, progress)?;
    coordinator
        .finish(backend.as_mut())
        .with_context(|| format!("cell {id}: final checkpoint"))?;
    let measured = replayed.finish(&paths.run, &id)?;
    let options_file = save_options_file(backend.as_ref(), &paths.run, &id)?;
    drop(backend);

    let restore = match coordinator.last() {
        Some(last) => Some(restore_and_verify(spec, cell, &layout, last, &work)?),
        None => None,
    };
    let checkpoints = coordinator.records().to_vec();
    // Ends the checkpoint thread and releases the last view (a RocksDB snapshot keeps its DB
    // open) before the work directory is deleted.
    drop(coordinator);
    std::fs::remove_dir_all(&work).with_context(|| format!("cannot delete {}", work.display()))?;
    Ok(cell_result(
        cell,
        spec,
        measured,
        checkpoints,
        restore,
        options_file,
    ))
}

/// What the replay loop alone measured: no checkpoints, no files (see [`replay_only`]).
#[derive(Debug)]
pub struct ReplayOnly {
    /// Ops applied after warm-up.
    pub ops: u64,
    /// Events after warm-up.
    pub events: u64,
    /// From the end of warm-up to the last op's end.
    pub elapsed: Duration,
    /// The latencies recorded.
    pub recorded: Recorded,
}

/// Replays `input` into `backend` through the cell's replay loop, without checkpoints and
/// without writing anything but the coordinator's empty directory under `scratch`: how the
/// harness's own cost is measured against a plain loop or a no-op backend
/// (`benches/overhead.rs`).
pub fn replay_only(
    input: &OpInput,
    backend: &mut dyn Backend,
    scratch: &Path,
) -> Result<ReplayOnly> {
    let none = CheckpointSetting::new(CheckpointMode::None, Duration::ZERO);
    let mut coordinator = Coordinator::new(none, scratch)?;
    let replayed = Replay::new("replay", backend, &mut coordinator).run(input, &mut |_, _| {})?;
    let measurement = replayed
        .measurement
        .context("the workload has no events after warm-up")?;
    let spec = input.spec();
    Ok(ReplayOnly {
        ops: measurement.ops,
        events: spec.events - spec.warmup_events,
        elapsed: Clock::get().instant(replayed.end) - measurement.start,
        recorded: measurement.recorder.finish(replayed.end),
    })
}

/// The operator thread of a cell while its input is replayed: the backend the ops go to, the
/// coordinator that checkpoints it between events, and the measured part once warm-up is over.
struct Replay<'a> {
    id: &'a str,
    /// The clock ops are timed with.
    clock: &'static Clock,
    backend: &'a mut dyn Backend,
    coordinator: &'a mut Coordinator,
    /// The current op's value bytes, reused so no op allocates.
    value: Vec<u8>,
    measurement: Option<Measurement>,
}

impl<'a> Replay<'a> {
    /// A replay of cell `id` into `backend`, checkpointed by `coordinator`.
    fn new(id: &'a str, backend: &'a mut dyn Backend, coordinator: &'a mut Coordinator) -> Self {
        Replay {
            id,
            clock: Clock::get(),
            backend,
            coordinator,
            value: Vec::new(),
            measurement: None,
        }
    }

    /// Replays every event of `input`: starts measuring when warm-up ends, applies each event's
    /// ops, then, between events (never inside one's ops), samples statistics, lets the
    /// coordinator checkpoint and reports progress.
    fn run(mut self, input: &OpInput, progress: Progress<'_>) -> Result<Replayed> {
        let id = self.id;
        let warmup_events = input.spec().warmup_events;
        let mut source = input.open()?;
        let mut ops = Vec::new();
        while source
            .next_event(&mut ops)
            .with_context(|| format!("cell {id}"))?
        {
            let event = source.position();
            if self.measurement.is_none() && event > warmup_events {
                self.measurement = Some(Measurement::start(self.backend, self.coordinator)?);
            }
            self.backend.set_time(source.event_time());
            let now = self.clock.instant(self.apply(event, &ops)?);
            if let Some(measurement) = self.measurement.as_mut() {
                measurement.sample_stats(self.backend, now)?;
            }
            self.coordinator
                .poll(now, self.backend)
                .with_context(|| format!("cell {id}"))?;
            if event % PROGRESS_EVERY == 0 {
                progress(event, source.events());
            }
        }
        let end = self.clock.now();
        let stats_end = self.backend.stats()?;
        progress(source.events(), source.events());
        Ok(Replayed {
            measurement: self.measurement,
            end,
            stats_end,
        })
    }

    /// Applies one event's ops, each timed alone: its value bytes are made before its clock
    /// starts, so the time is the backend's. Returns when the last op ended (now, if none).
    fn apply(&mut self, event: u64, ops: &[StateOp]) -> Result<Ticks> {
        let clock = self.clock;
        let mut last = None;
        for op in ops {
            match op.kind.value() {
                Some(v) => fill_value(v, &mut self.value),
                None => self.value.clear(),
            }
            let start = clock.now();
            let applied = self.backend.apply(op, &self.value);
            let end = clock.now();
            if let Err(e) = applied {
                return Err(e.context(format!("cell {}: event {event}: {op:?}", self.id)));
            }
            if let Some(measurement) = self.measurement.as_mut() {
                measurement.recorder.record(op.kind.class(), start, end);
                measurement.ops += 1;
            }
            last = Some(end);
        }
        Ok(last.unwrap_or_else(|| clock.now()))
    }
}

/// The measured part of a cell while it runs, from the end of warm-up.
struct Measurement {
    recorder: Recorder,
    /// When it started, for durations and the timeline.
    start: Instant,
    /// When it started, wall clock, for the interval log.
    started_at: SystemTime,
    /// Ops applied in it.
    ops: u64,
    /// The backend's statistics at the start (None for backends without any).
    stats_start: Option<StatsSnapshot>,
    /// One sample of them per [`STATS_EVERY`].
    stats_samples: Vec<StatsSample>,
    next_stats_sample: Instant,
}

impl Measurement {
    /// Starts measuring now: checkpoint times become relative to now, and the backend's
    /// statistics are read as the baseline.
    fn start(backend: &dyn Backend, coordinator: &mut Coordinator) -> Result<Measurement> {
        let clock = Clock::get();
        let ticks = clock.now();
        let start = clock.instant(ticks);
        let started_at = SystemTime::now();
        coordinator.set_epoch(start);
        Ok(Measurement {
            recorder: Recorder::new(ticks),
            start,
            started_at,
            ops: 0,
            stats_start: backend.stats()?,
            stats_samples: Vec::new(),
            next_stats_sample: start + STATS_EVERY,
        })
    }

    /// Samples the backend's statistics if a sample is due at `now`.
    fn sample_stats(&mut self, backend: &dyn Backend, now: Instant) -> Result<()> {
        let Some(start) = self.stats_start.as_ref() else {
            return Ok(());
        };
        if now < self.next_stats_sample {
            return Ok(());
        }
        if let Some(current) = backend.stats()? {
            let t = (now - self.start).as_secs_f64();
            self.stats_samples.push(sample(start, &current, t));
        }
        self.next_stats_sample += STATS_EVERY;
        Ok(())
    }
}

/// A replay that reached the end of its input; finished once the final checkpoint is taken.
struct Replayed {
    /// None when no event came after warm-up.
    measurement: Option<Measurement>,
    /// When the last event's ops were done.
    end: Ticks,
    /// The backend's statistics then.
    stats_end: Option<StatsSnapshot>,
}

impl Replayed {
    /// Ends the measured part: summarizes the latencies, writes the interval log into the run
    /// directory `run`, and turns the backend's statistics into what the measured part did.
    fn finish(self, run: &Path, id: &str) -> Result<Measured> {
        let measurement = self
            .measurement
            .context("the workload has no events after warm-up")?;
        let recorded = measurement.recorder.finish(self.end);
        let histogram_log = format!("histograms/{id}.hlog");
        write_interval_log(
            &run.join(&histogram_log),
            measurement.started_at,
            id,
            &recorded.intervals,
        )?;
        let rocksdb = match (measurement.stats_start, self.stats_end) {
            (Some(start), Some(end)) => {
                Some(summarize_stats(&start, &end, measurement.stats_samples))
            }
            _ => None,
        };
        Ok(Measured {
            elapsed: Clock::get().instant(self.end) - measurement.start,
            ops: measurement.ops,
            recorded,
            histogram_log,
            rocksdb,
        })
    }
}

/// What a cell's measured part gave.
struct Measured {
    elapsed: Duration,
    ops: u64,
    recorded: Recorded,
    /// The interval log, relative to the run directory.
    histogram_log: String,
    rocksdb: Option<RocksDbStats>,
}

/// The cell's result: what it measured and what its checkpoints did.
fn cell_result(
    cell: &Cell,
    spec: &WorkloadSpec,
    measured: Measured,
    checkpoints: Vec<CheckpointRecord>,
    restore: Option<RestoreRecord>,
    options_file: Option<String>,
) -> CellResult {
    let measured_events = spec.events - spec.warmup_events;
    let secs = measured.elapsed.as_secs_f64().max(1e-9);
    CellResult {
        id: cell.id(),
        backend: cell.backend.name().to_string(),
        profile: cell.backend.profile(),
        checkpoint_mode: cell.checkpoint.mode.name().to_string(),
        checkpoint_interval_ms: match cell.checkpoint.mode {
            CheckpointMode::None => 0,
            _ => cell.checkpoint.interval.as_millis() as u64,
        },
        measured_events,
        measured_ops: measured.ops,
        elapsed_s: measured.elapsed.as_secs_f64(),
        ops_per_s: measured.ops as f64 / secs,
        events_per_s: measured_events as f64 / secs,
        all_ops: measured.recorded.all,
        ops: measured.recorded.ops,
        timeline: measured.recorded.timeline,
        histogram_log: Some(measured.histogram_log),
        checkpoints,
        restore,
        options_file,
        rocksdb: measured.rocksdb,
    }
}

/// Restores the last completed checkpoint into a fresh backend and compares its digest with the
/// digest of the live state the checkpoint captured.
fn restore_and_verify(
    spec: &WorkloadSpec,
    cell: &Cell,
    layout: &StateLayout,
    last: &RetainedCheckpoint,
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
fn save_options_file(backend: &dyn Backend, run: &Path, id: &str) -> Result<Option<String>> {
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
