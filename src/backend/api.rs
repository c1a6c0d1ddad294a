//! The [`Backend`] trait and what crosses it: the layout a backend is opened with, what an op
//! found, the two phases of a checkpoint or savepoint, a captured view of the state for
//! verification, and the backend's own statistics.

use std::ops::Range;
use std::path::PathBuf;

use anyhow::Result;

use super::digest::Digest;
use crate::checkpoint::{CheckpointMode, CheckpointTarget, UploadResult};
use crate::workload::{StateKind, StateOp, TtlSpec, WorkloadSpec};

/// The states a backend holds and how keys are grouped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateLayout {
    /// State names and shapes, indexed by `StateId`.
    pub states: Vec<(String, StateKind)>,
    /// Flink's max parallelism: the number of key groups.
    pub max_parallelism: u32,
    /// State TTL of every state but timers.
    pub ttl: Option<TtlSpec>,
}

impl StateLayout {
    /// The layout a workload needs.
    pub fn of(spec: &WorkloadSpec) -> StateLayout {
        StateLayout {
            states: spec.layout(),
            max_parallelism: spec.max_parallelism,
            ttl: spec.ttl,
        }
    }
}

/// What an op found; the same op stream gives the same outcomes on every backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The value, list, map entry or map existed.
    pub found: bool,
    /// Elements read: list elements, map entries iterated.
    pub items: u32,
    /// Payload bytes read.
    pub bytes: u64,
}

/// The state at one moment, held to verify a restore against. Holding one costs what holding a
/// snapshot costs (a RocksDB snapshot pins obsolete rows; unreleased heap map snapshots make later writes copy), so
/// only verification of every checkpoint takes them.
pub trait StateView: Send {
    /// Digest of the captured state (entries expired at the capture time left out).
    fn digest(&self) -> Result<Digest>;

    /// The time the state was captured at (see [`Backend::set_time`]); a restored backend is
    /// set to it before the two digests are compared.
    fn time(&self) -> i64;
}

/// The asynchronous phase of a checkpoint or savepoint, returned by its synchronous phase: writes
/// the captured state into the target; runs on the checkpoint thread while ops continue.
pub type AsyncPhase = Box<dyn FnOnce(&CheckpointTarget) -> Result<UploadResult> + Send>;

/// Events' ops with their times and value bytes, as the replay loop generated them ahead: what
/// [`Backend::apply_events`] applies a stretch of.
#[derive(Clone, Copy, Debug)]
pub struct Events<'a> {
    /// The ops of every event, in order.
    pub ops: &'a [StateOp],
    /// Event e's ops are `ops[ends[e - 1]..ends[e]]` (from 0 for the first).
    pub ends: &'a [usize],
    /// Each event's time, ms (see [`Backend::set_time`]).
    pub times: &'a [i64],
    /// Op i's value bytes are `values[spans[i].0..spans[i].1]`.
    pub spans: &'a [(usize, usize)],
    /// The value bytes.
    pub values: &'a [u8],
}

impl Events<'_> {
    /// Event `e`'s ops, as indices of `ops`.
    pub fn event(&self, e: usize) -> Range<usize> {
        let start = if e == 0 { 0 } else { self.ends[e - 1] };
        start..self.ends[e]
    }
}

/// An op of [`Backend::apply_events`] that failed.
#[derive(Debug)]
pub struct FailedOp {
    /// Its event, an index of the events' `ends`.
    pub event: usize,
    /// The op, an index of the events' `ops`.
    pub op: usize,
    /// Why.
    pub error: anyhow::Error,
}

/// A keyed state backend.
pub trait Backend: Send {
    /// Applies one op; `value` holds the op's value bytes (empty for ops that write none).
    fn apply(&mut self, op: &StateOp, value: &[u8]) -> Result<Outcome>;

    /// Sets the time state TTL is measured against (the current event's time, ms), before the
    /// event's ops are applied.
    fn set_time(&mut self, now_ms: i64);

    /// Whether an op's outcome or the state it leaves can depend on the time set before it
    /// (state TTL). When not, [`Backend::apply_events`] sets the time once per call, after the
    /// ops, instead of before each event.
    fn reads_time(&self) -> bool {
        true
    }

    /// Applies the ops of `events` of `batch`, each event after setting its time (a backend that
    /// [reads no time](Backend::reads_time): the last event's, once, after them), none of them
    /// timed: what the replay loop does between timed ops, in one call instead of one dynamic
    /// call per op. This default is compiled for each backend, so its calls to
    /// [`Backend::apply`] are static and inlined: the loop around a 20 ns heap op is a plain
    /// loop's (for a backend that reads no time, [`Backend::apply_untimed`]'s). Stops at the
    /// first op that fails.
    fn apply_events(&mut self, batch: &Events<'_>, events: Range<usize>) -> Result<(), FailedOp> {
        if events.is_empty() {
            return Ok(());
        }
        let first = batch.event(events.start).start;
        let last = batch.ends[events.end - 1];
        if !self.reads_time() {
            // One pass over the stretch's ops, the time set once, at the end.
            if let Err((op, error)) = self.apply_untimed(batch, first..last) {
                let ends = &batch.ends[events.clone()];
                let event = events.start + ends.partition_point(|&end| end <= op);
                return Err(FailedOp { event, op, error });
            }
            self.set_time(batch.times[events.end - 1]);
            return Ok(());
        }
        // One pass over the stretch's ops, each event's end marking where its time is set: no
        // per-event slicing, and no per-op bounds check (an op's index is below its event's end,
        // which is within the stretch's ops).
        let (ops, spans) = (&batch.ops[first..last], &batch.spans[first..last]);
        let ends = &batch.ends[events.clone()];
        let times = &batch.times[events.clone()];
        let mut i = 0;
        for (e, (&end, &time)) in events.zip(ends.iter().zip(times)) {
            self.set_time(time);
            let end = (end - first).min(ops.len());
            while i < end {
                let (from, to) = spans[i];
                if let Err(error) = self.apply(&ops[i], &batch.values[from..to]) {
                    return Err(FailedOp {
                        event: e,
                        op: first + i,
                        error,
                    });
                }
                i += 1;
            }
        }
        Ok(())
    }

    /// Applies the ops `ops` of `batch` in order, for a backend that [reads no
    /// time](Backend::reads_time) (which [`Backend::apply_events`] has checked); the first that
    /// fails, with its index. A backend may override this with a loop of its own over the ops its
    /// [`Backend::apply`] takes fastest (as the heap backend does). This default is out of line,
    /// so that its loop is compiled on its own rather than in one function with `apply_events`'
    /// per-event loop: through it, the heap loop took 183 instructions and 47 data reads per op
    /// rather than 194 and 51 (callgrind; the plain loop over the same maps 183 and 46), and the
    /// heap backend ran at 0.94 of the plain loop rather than 0.90, before it got a loop of its
    /// own.
    #[inline(never)]
    fn apply_untimed(
        &mut self,
        batch: &Events<'_>,
        ops: Range<usize>,
    ) -> Result<(), (usize, anyhow::Error)> {
        let first = ops.start;
        let spans = &batch.spans[ops.clone()];
        for (i, (op, &(from, to))) in batch.ops[ops].iter().zip(spans).enumerate() {
            if let Err(error) = self.apply(op, &batch.values[from..to]) {
                return Err((first + i, error));
            }
        }
        Ok(())
    }

    /// The synchronous phase of a checkpoint, run on the operator thread. `target` is where the
    /// checkpoint goes: what Flink writes synchronously (the operator's raw keyed state, which
    /// holds HEAP timers beside RocksDB) is written there now; the rest by the async phase.
    fn snapshot(&mut self, mode: CheckpointMode, target: &CheckpointTarget) -> Result<AsyncPhase>;

    /// The synchronous phase of a savepoint in the canonical format (one key-group-ordered
    /// stream, Flink's `FullSnapshotAsyncWriter`), run on the operator thread.
    fn savepoint(&mut self) -> Result<AsyncPhase>;

    /// Captures the current state for verifying a restore against it later.
    fn view(&self) -> Result<Box<dyn StateView>>;

    /// Digest of the live state.
    fn digest(&self) -> Result<Digest>;

    /// The effective options file the backend runs with, if it has one.
    fn options_file(&self) -> Option<PathBuf>;

    /// The backend's own counters and gauges, for backends that keep them (RocksDB).
    fn stats(&self) -> Result<Option<StatsSnapshot>>;
}

/// A backend's native statistics at one moment: counters (cumulative since open) and gauges.
/// The counters come from RocksDB's statistics object, which a DB has only when asked for (as in
/// Flink); the gauges are properties, always there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// The statistics object's counters; None when the DB has none.
    pub tickers: Option<TickerCounts>,
    /// Write delays and stops.
    pub stall_count: u64,
    /// Memtable memory now.
    pub memtable_bytes: u64,
    /// Block cache memory now.
    pub block_cache_usage: u64,
    /// SST files' total size now.
    pub sst_bytes: u64,
    /// Estimated live data now.
    pub live_data_bytes: u64,
    /// SST files per LSM level now.
    pub files_per_level: Vec<u64>,
}

/// RocksDB's tickers at one moment, cumulative since open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickerCounts {
    /// Bytes the application wrote (puts and merges; RocksDB `bytes.written`).
    pub user_bytes_written: u64,
    /// Point reads (`number.keys.read`).
    pub keys_read: u64,
    /// Bytes written by memtable flushes.
    pub flush_bytes: u64,
    /// Bytes read by compactions.
    pub compaction_read_bytes: u64,
    /// Bytes written by compactions.
    pub compaction_write_bytes: u64,
    /// Block cache hits.
    pub block_cache_hits: u64,
    /// Block cache misses.
    pub block_cache_misses: u64,
    /// Bytes of blocks read, from the cache or from files into it.
    pub block_bytes_read: u64,
    /// Time writes were stalled, µs.
    pub stall_micros: u64,
}
