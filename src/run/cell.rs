//! One cell: replay the workload's op stream against one backend under one checkpoint setting,
//! timing every op on the operator thread; then take a savepoint, restore the last checkpoint
//! and the savepoint, and verify both against the live state at the end of input.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::coordinator::{Coordinator, Verifier};
use super::max_rate::{find_max_rate, RateSearch};
use super::replay::{Pacing, Progress, Replay, Replayed};
use super::slots::SlotShare;
use super::workdir::{claim_cell_dir, remove_cell_dir};
use crate::backend::rocksdb::RocksStatistics;
use crate::backend::{Backend, BackendConfig, Digest, StateLayout};
use crate::checkpoint::{
    remove_dir_if_present, CheckpointHandle, CheckpointMode, CheckpointSetting, CheckpointStore,
    StorageSetting,
};
use crate::measure::{summarize_stats, write_interval_log, Clock, Recorded};
use crate::results::{
    CellResult, CellSetup, CheckpointRecord, FailedCheckpoint, LatencySampling, OpenLoop, Recovery,
    RecoveryPhases, Rescale, ResourceUse, RestoreRecord, RocksDbStats, StorageRecord,
};
use crate::workload::trace::{self, TraceReader};
use crate::workload::{
    Namespace, OpGenerator, OpKind, OpSource, StateId, StateKind, StateOp, WorkloadSpec,
};

/// Where a run's ops come from: generated from a workload, or replayed from a trace.
#[derive(Clone, Debug, Serialize, Deserialize)]
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
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cell {
    /// The backend and its settings.
    pub backend: BackendConfig,
    /// The checkpoint setting.
    pub checkpoint: CheckpointSetting,
    /// Where its checkpoints are stored.
    pub storage: StorageSetting,
    /// What the cell runs with, for its result: `backend` and `checkpoint` as types and Flink
    /// keys, with where each key came from (built with them by `run::plan`).
    pub setup: CellSetup,
    /// What else the cell does besides checkpointing.
    pub options: CellOptions,
}

/// What a cell does besides replaying and checkpointing.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellOptions {
    /// Take a canonical savepoint at the end of input, restore it and verify it (default on).
    pub savepoint: bool,
    /// Verify every checkpoint, not only the last: each sync phase is followed by a view of the
    /// state (a RocksDB snapshot, heap map snapshots) held until the checkpoint thread has restored the
    /// checkpoint and compared it. This perturbs the numbers (pinned rows, copy-on-write
    /// copies, restores competing with the run), so it is off by default.
    pub verify_every_checkpoint: bool,
    /// How events arrive in the measured part: closed loop (default) or a fixed rate.
    pub pacing: Pacing,
    /// After the run, search the highest rate whose corrected event p99 stays within a target
    /// (`--find-max-rate --p99`), by short probes on fresh backends.
    pub find_max_rate: Option<RateSearch>,
    /// The container memory the cell's process runs under, bytes (`--container-memory`), page
    /// cache included; None: not bounded. How it is enforced is decided per run
    /// (`container::MemoryLimit`).
    pub container_memory: Option<u64>,
    /// Operator threads in the TaskManager process (`--slots`), each with its own backend over
    /// its share of the key groups; 1 by default.
    pub slots: u32,
    /// Time every op (`--time-every-op`), even where the clock reads would weigh on cheap ops;
    /// by default a seeded 1-in-k sample is timed there (`measure::sampling`).
    #[serde(default)]
    pub time_every_op: bool,
}

impl Default for CellOptions {
    fn default() -> CellOptions {
        CellOptions {
            savepoint: true,
            verify_every_checkpoint: false,
            pacing: Pacing::Closed,
            find_max_rate: None,
            container_memory: None,
            slots: 1,
            time_every_op: false,
        }
    }
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
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CellPaths {
    /// Scratch directory for the backend and its checkpoints; deleted after the cell.
    pub work: PathBuf,
    /// Run directory; the cell's OPTIONS file is copied under `options/`.
    pub run: PathBuf,
    /// Which repeat of the cell this is (from 1), when a run repeats it: its interval log is
    /// then `histograms/<cell>.r<repeat>.hlog`, else `histograms/<cell>.hlog`.
    #[serde(default)]
    pub repeat: Option<u32>,
}

/// Runs one cell and returns what it measured. A restore that does not verify is reported in
/// the result (`verified: false`), not hidden.
///
/// The last checkpoint is the final one, taken when the input ended, so it and the savepoint
/// must restore to exactly the live state then: that is what they are verified against, and
/// nothing is held during the run for verification's sake (unless every checkpoint is verified).
///
/// With more than one slot (`CellOptions::slots`) the slots run side by side in this process,
/// each over its share of the key groups (see `run::slots`).
pub fn run_cell(
    input: &OpInput,
    cell: &Cell,
    paths: &CellPaths,
    progress: Progress<'_>,
) -> Result<CellResult> {
    match cell.options.slots {
        0 | 1 => run_share(input, cell, paths, None, progress),
        slots => super::slots::run_slots(input, cell, paths, slots, progress),
    }
}

/// Runs one cell, or with a `share` one slot of it: only the ops of the slot's key groups, its
/// files named `<cell>-slot<i>`. The rate search (`--find-max-rate`) runs for a whole cell only.
pub(super) fn run_share(
    input: &OpInput,
    cell: &Cell,
    paths: &CellPaths,
    share: Option<SlotShare>,
    progress: Progress<'_>,
) -> Result<CellResult> {
    let id = match share {
        Some(share) => format!("{}-slot{}", cell.id(), share.index),
        None => cell.id(),
    };
    let work = paths.work.join(&id);
    claim_cell_dir(&work)?;
    let spec = input.spec();
    let layout = StateLayout::of(spec);
    let mut backend = cell.backend.open(&layout, &work.join("db"))?;
    let verifier = cell
        .options
        .verify_every_checkpoint
        .then(|| verifier(&cell.backend, &layout, work.join("verify")));
    let store = CheckpointStore::open(
        &work.join("checkpoints"),
        &cell.storage,
        &job_name(paths, &id),
        cell.backend.transfer_threads(),
    )
    .with_context(|| format!("cell {id}: checkpoint storage"))?;
    let mut coordinator = Coordinator::new(cell.checkpoint, store, verifier)?;
    let replayed = Replay::new(&id, backend.as_mut(), &mut coordinator)
        .paced(cell.options.pacing)
        .timed_every_op(cell.options.time_every_op)
        .shared(share)
        .run(input, progress)?;
    coordinator
        .finish(backend.as_mut())
        .with_context(|| format!("cell {id}: final checkpoint"))?;
    let end = LiveState {
        digest: backend.digest()?,
        time: replayed.event_time,
    };
    let measured = finish_measurement(replayed, paths, &id, statistics_of(&cell.backend))?;
    let options_file = save_options_file(backend.as_ref(), &paths.run, &id)?;
    let savepoint = match cell.options.savepoint {
        true => Some(
            coordinator
                .savepoint(backend.as_mut())
                .with_context(|| format!("cell {id}: savepoint"))?,
        ),
        false => None,
    };
    drop(backend);

    let checkpoints = coordinator.records().to_vec();
    for unverified in checkpoints.iter().filter(|c| c.verified == Some(false)) {
        eprintln!(
            "error: cell {id}: restored checkpoint {} does not match the state it captured",
            unverified.id
        );
    }
    let recovery = Recovering {
        cell,
        layout: &layout,
        store: coordinator.store(),
        live: &end,
        dir: work.join("restore"),
    };
    let (restore, recovery) = match coordinator.retained() {
        [] => (None, None),
        retained => {
            let (mut restore, recovery) = recovery
                .recover(retained, &checkpoints, coordinator.final_completed())
                .with_context(|| format!("cell {id}: recovery"))?;
            if let Some(record) = restore.as_mut() {
                record.verified &= checkpoints.iter().all(|c| c.verified != Some(false));
            }
            (restore, Some(recovery))
        }
    };
    let (savepoint, savepoint_restore) = match savepoint {
        Some((record, handle)) => {
            let restore = restore_and_verify(
                cell,
                &layout,
                coordinator.store(),
                &handle,
                &end,
                &work.join("restore-savepoint"),
            )?;
            (Some(record), Some(restore))
        }
        None => (None, None),
    };
    let storage = StorageRecord {
        kind: cell.storage.kind.name().to_string(),
        location: coordinator.store().location().to_string(),
        retained_at: coordinator
            .end_job(&paths.run.join("checkpoints").join(job_dir(paths, &id)))
            .with_context(|| format!("cell {id}: ending the job"))?,
    };
    let failed_checkpoints = coordinator.failures().to_vec();
    // Ends the checkpoint thread before the work directory is deleted.
    drop(coordinator);
    let max_rate = match (cell.options.find_max_rate, share) {
        (Some(search), None) => {
            let start = measured.events as f64 / measured.elapsed.as_secs_f64().max(1e-9);
            Some(find_max_rate(
                input,
                cell,
                &work.join("rate"),
                start,
                search,
            )?)
        }
        _ => None,
    };
    remove_cell_dir(&work)?;
    let checkpointed = Checkpointed {
        checkpoints,
        restore,
        savepoint,
        savepoint_restore,
        failed_checkpoints,
        recovery,
        storage: (cell.checkpoint.mode != CheckpointMode::None).then_some(storage),
    };
    let mut result = cell_result(cell, spec, measured, checkpointed, options_file);
    result.max_rate = max_rate;
    Ok(result)
}

/// The job a cell's checkpoints belong to, as a path of names: `<run directory>/<cell>[.r<k>]`
/// (Flink puts a job's checkpoints under its job id; every repeat is a job of its own).
fn job_name(paths: &CellPaths, id: &str) -> String {
    let run = paths
        .run
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{run}/{}", job_dir(paths, id))
}

/// The directory name of a cell's job: `<cell>`, or `<cell>.r<k>` for repeat k.
fn job_dir(paths: &CellPaths, id: &str) -> String {
    match paths.repeat {
        Some(repeat) => format!("{id}.r{repeat}"),
        None => id.to_string(),
    }
}

/// The statistics object a RocksDB backend of `backend` has (none for the heap backend).
fn statistics_of(backend: &BackendConfig) -> RocksStatistics {
    match backend {
        BackendConfig::RocksDb(config) => config.statistics_level(),
        BackendConfig::HashMap => RocksStatistics::Off,
    }
}

/// Ends the measured part of `replayed`: summarizes the latencies, writes the interval log into
/// the run directory, and turns the backend's statistics (taken with `statistics`) into what
/// the measured part did.
fn finish_measurement(
    replayed: Replayed,
    paths: &CellPaths,
    id: &str,
    statistics: RocksStatistics,
) -> Result<Measured> {
    let measurement = replayed
        .measurement
        .context("the workload has no events after warm-up")?;
    let recorded = measurement.recorder.finish(replayed.end);
    let histogram_log = match paths.repeat {
        Some(repeat) => format!("histograms/{id}.r{repeat}.hlog"),
        None => format!("histograms/{id}.hlog"),
    };
    write_interval_log(
        &paths.run.join(&histogram_log),
        measurement.started_at,
        id,
        &recorded.intervals,
    )?;
    let rocksdb = match (measurement.stats_start, replayed.stats_end) {
        (Some(start), Some(end)) => Some(summarize_stats(
            statistics,
            &start,
            &end,
            measurement.stats_samples,
        )),
        _ => None,
    };
    let clock = Clock::get();
    let elapsed = clock.instant(replayed.end) - measurement.start;
    let generation = Duration::from_nanos(clock.nanos(measurement.generation)).min(elapsed);
    let sampling = LatencySampling {
        timed_ops: recorded.all.timed.unwrap_or(0),
        ..replayed.sampling
    };
    let resources = match (measurement.process_start, replayed.process_end) {
        (Some(start), Some(end)) => Some(start.used_until(&end, elapsed.as_secs_f64())),
        _ => None,
    };
    Ok(Measured {
        elapsed,
        generation,
        sampling,
        resources,
        ops: measurement.ops,
        events: measurement.events,
        recorded,
        histogram_log,
        rocksdb,
    })
}

/// What a cell's measured part gave.
struct Measured {
    /// Wall time of the measured part.
    elapsed: Duration,
    /// Of it, generating the op batches.
    generation: Duration,
    sampling: LatencySampling,
    ops: u64,
    events: u64,
    recorded: Recorded,
    /// The interval log, relative to the run directory.
    histogram_log: String,
    rocksdb: Option<RocksDbStats>,
    /// What the process used of the machine.
    resources: Option<ResourceUse>,
}

/// What a cell's checkpoints and savepoint did, and their restores.
struct Checkpointed {
    checkpoints: Vec<CheckpointRecord>,
    restore: Option<RestoreRecord>,
    savepoint: Option<CheckpointRecord>,
    savepoint_restore: Option<RestoreRecord>,
    failed_checkpoints: Vec<FailedCheckpoint>,
    recovery: Option<Recovery>,
    storage: Option<StorageRecord>,
}

/// The cell's result: what it measured and what its checkpoints did.
fn cell_result(
    cell: &Cell,
    spec: &WorkloadSpec,
    measured: Measured,
    checkpointed: Checkpointed,
    options_file: Option<String>,
) -> CellResult {
    let measured_events = spec.events - spec.warmup_events;
    // The operator's time: the measured part's wall time less the batches' generation.
    let secs = (measured.elapsed - measured.generation)
        .as_secs_f64()
        .max(1e-9);
    let generation_s = measured.generation.as_secs_f64();
    CellResult {
        id: cell.id(),
        setup: cell.setup.clone(),
        measured_events,
        measured_ops: measured.ops,
        elapsed_s: measured.elapsed.as_secs_f64(),
        generation_s,
        generation_ns_per_op: generation_s * 1e9 / measured.ops.max(1) as f64,
        ops_per_s: measured.ops as f64 / secs,
        events_per_s: measured_events as f64 / secs,
        latency_sampling: Some(measured.sampling),
        all_ops: measured.recorded.all,
        ops: measured.recorded.ops,
        timeline: measured.recorded.timeline,
        histogram_log: Some(measured.histogram_log),
        checkpoints: checkpointed.checkpoints,
        restore: checkpointed.restore,
        savepoint: checkpointed.savepoint,
        savepoint_restore: checkpointed.savepoint_restore,
        failed_checkpoints: checkpointed.failed_checkpoints,
        recovery: checkpointed.recovery,
        storage: checkpointed.storage,
        options_file,
        rocksdb: measured.rocksdb,
        open_loop: match (cell.options.pacing, measured.recorded.events) {
            (Pacing::Rate(rate_per_s), Some(events)) => Some(OpenLoop {
                rate_per_s,
                corrected: events.corrected,
                uncorrected: events.uncorrected,
            }),
            _ => None,
        },
        max_rate: None,
        resources: measured.resources,
        memory_bound: None,
        slots: Vec::new(),
        peak_rss_bytes: None,
        representative_repeat: None,
        repeats: Vec::new(),
    }
}

/// The live state at the end of input, which the final checkpoint and the savepoint captured.
struct LiveState {
    digest: Digest,
    /// The time TTL was measured against.
    time: i64,
}

/// Restores a savepoint into a fresh backend in `dir` and compares its digest with the live
/// state's at the end of input.
fn restore_and_verify(
    cell: &Cell,
    layout: &StateLayout,
    store: &CheckpointStore,
    handle: &CheckpointHandle,
    live: &LiveState,
    dir: &Path,
) -> Result<RestoreRecord> {
    let (restored, phases) =
        restore_phases(store, &cell.backend, layout, handle, dir, (None, live.time))
            .with_context(|| format!("cell {}: restoring {}", cell.id(), handle.id))?;
    remove_dir_if_present(dir)?;
    Ok(restore_record(cell, handle.id, &phases, restored, live))
}

/// The restore record of a restore whose digest is `restored`, checked against the live state.
fn restore_record(
    cell: &Cell,
    id: u64,
    phases: &RecoveryPhases,
    restored: Digest,
    live: &LiveState,
) -> RestoreRecord {
    let verified = restored == live.digest;
    if !verified {
        eprintln!(
            "error: cell {}: restored checkpoint {id} does not match the state at the end of input \
             (expected {:?}, restored {restored:?})",
            cell.id(),
            live.digest,
        );
    }
    RestoreRecord {
        checkpoint_id: id,
        restore_ms: phases.total_ms,
        verified,
        entries: restored.entries,
        bytes: restored.bytes,
    }
}

/// What recovering a cell's job needs.
struct Recovering<'a> {
    cell: &'a Cell,
    layout: &'a StateLayout,
    store: &'a CheckpointStore,
    /// The live state at the end of input, which the final checkpoint captured.
    live: &'a LiveState,
    /// Scratch directory of the restores.
    dir: PathBuf,
}

impl Recovering<'_> {
    /// Restores every retained checkpoint into a fresh backend, phase by phase, and the last one
    /// again split in two key-group halves; the last one is verified against the live state when
    /// it is the final checkpoint (a failed final checkpoint leaves an older one, which nothing
    /// held can verify), and the halves against the whole. Returns the restore record of the
    /// last one and the recovery.
    fn recover(
        &self,
        retained: &[CheckpointHandle],
        records: &[CheckpointRecord],
        final_completed: bool,
    ) -> Result<(Option<RestoreRecord>, Recovery)> {
        let mut restores = Vec::new();
        let mut last = None;
        for handle in retained {
            let dir = self.dir.join(format!("chk-{}", handle.id));
            let (digest, mut phases) = restore_phases(
                self.store,
                &self.cell.backend,
                self.layout,
                handle,
                &dir,
                (None, self.live.time),
            )?;
            phases.verified = records
                .iter()
                .find(|r| r.id == handle.id)
                .and_then(|r| r.verified);
            let is_last = handle.id == retained[retained.len() - 1].id;
            if is_last && final_completed {
                phases.verified = Some(digest == self.live.digest);
                last = Some(restore_record(
                    self.cell, handle.id, &phases, digest, self.live,
                ));
            }
            remove_dir_if_present(&dir)?;
            restores.push((phases, digest));
        }
        let (latest, whole) = restores.last().cloned().context("no retained checkpoint")?;
        let rescale = self.rescale(&retained[retained.len() - 1], whole)?;
        Ok((
            last,
            Recovery {
                recovery_ms: latest.total_ms,
                restores: restores.into_iter().map(|(p, _)| p).collect(),
                rescale: Some(rescale),
            },
        ))
    }

    /// Restores `handle` as a rescale from 1 to 2: each half of the key-group range into its own
    /// fresh backend, one after the other; the halves' digests must add up to `whole`.
    fn rescale(&self, handle: &CheckpointHandle, whole: Digest) -> Result<Rescale> {
        let groups = self.layout.max_parallelism;
        let mut halves = Vec::new();
        let mut together = Digest::default();
        for (i, range) in [0..groups / 2, groups / 2..groups].into_iter().enumerate() {
            let dir = self.dir.join(format!("rescale-{i}"));
            let (digest, phases) = restore_phases(
                self.store,
                &self.cell.backend,
                self.layout,
                handle,
                &dir,
                (Some(range), self.live.time),
            )?;
            together = together.combine(digest);
            remove_dir_if_present(&dir)?;
            halves.push(phases);
        }
        let verified = together == whole;
        if !verified {
            eprintln!(
                "error: cell {}: the two key-group halves of checkpoint {} restored to \
                 {together:?}, not the whole state's {whole:?}",
                self.cell.id(),
                handle.id
            );
        }
        Ok(Rescale {
            recovery_ms: halves.iter().map(|h| h.total_ms).fold(0.0, f64::max),
            verified,
            halves,
        })
    }
}
/// Restores `handle` into a fresh backend in `dir` (only the key groups of `key_groups` when
/// given, as a rescaled subtask), phase by phase as Flink recovers: its files fetched from
/// checkpoint storage, the backend opened on them, the first op served. Returns the restored
/// state's digest at `time` (not part of the phases) and the phases.
fn restore_phases(
    store: &CheckpointStore,
    backend: &BackendConfig,
    layout: &StateLayout,
    handle: &CheckpointHandle,
    dir: &Path,
    (key_groups, time): (Option<Range<u32>>, i64),
) -> Result<(Digest, RecoveryPhases)> {
    let start = Instant::now();
    let in_place = backend.reads_in_place(handle);
    let (local, requests) = store.fetch(handle, &dir.join("download"), in_place)?;
    let downloaded = Instant::now();
    let mut restored = match key_groups {
        Some(range) => backend.restore_key_groups(layout, &local, &dir.join("db"), range)?,
        None => backend.restore(layout, &local, &dir.join("db"))?,
    };
    let opened = Instant::now();
    restored.set_time(time);
    if let Some(op) = first_read(layout) {
        restored.apply(&op, &[])?;
    }
    let served = Instant::now();
    let ms = |from: Instant, to: Instant| (to - from).as_secs_f64() * 1e3;
    let phases = RecoveryPhases {
        checkpoint_id: handle.id,
        download_ms: ms(start, downloaded),
        download_bytes: requests.bytes,
        download_requests: requests.count,
        open_ms: ms(downloaded, opened),
        first_op_ms: ms(opened, served),
        total_ms: ms(start, served),
        verified: None,
    };
    Ok((restored.digest()?, phases))
}

/// A read of the first state that can be read (a value, list or map), for key 0: the first op a
/// restored backend serves.
fn first_read(layout: &StateLayout) -> Option<StateOp> {
    layout
        .states
        .iter()
        .enumerate()
        .find_map(|(state, (_, kind))| {
            let kind = match kind {
                StateKind::Value => OpKind::ValueGet,
                StateKind::List => OpKind::ListGet,
                StateKind::Map => OpKind::MapGet(0),
                StateKind::Timer => return None,
            };
            Some(StateOp {
                state: state as StateId,
                key: 0,
                namespace: Namespace::Void,
                kind,
            })
        })
}

/// Verifies each checkpoint against the view taken at its sync phase, restoring it into a
/// directory under `scratch` that is deleted afterwards.
fn verifier(backend: &BackendConfig, layout: &StateLayout, scratch: PathBuf) -> Verifier {
    let (backend, layout) = (backend.clone(), layout.clone());
    Box::new(move |store, handle, view| {
        let dir = scratch.join(format!("chk-{}", handle.id));
        let (restored, _) =
            restore_phases(store, &backend, &layout, handle, &dir, (None, view.time()))?;
        remove_dir_if_present(&dir)?;
        Ok(restored == view.digest()?)
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
