//! The RocksDB backend: Flink's `EmbeddedRocksDBStateBackend` byte for byte where it matters.
//!
//! One column family per state, named after it. Keys are `[key group][key][namespace]` (plus the
//! map user key), the key group big-endian in 1 byte (max parallelism ≤ 128) or 2. Values are
//! serialized as Flink's `BytePrimitiveArraySerializer` writes a `byte[]`: int length + bytes.
//! ListState.add is a merge with Flink's ',' string-append operator; MapState keeps one row per
//! entry (`[null flag][value]`) and iterates by prefix seek. WAL disabled, no fsync.

mod db;
mod heap_timers;
mod layout;
mod options;
pub mod options_file;
pub mod profile;
mod snapshot;
mod statistics;
mod stats;
mod timer_queue;
mod values;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use anyhow::{ensure, Context, Result};
use rocksdb::{ColumnFamily, WriteBatch, WriteOptions};

use crate::backend::api::{AsyncPhase, Backend, Outcome, StateLayout, StateView, StatsSnapshot};
use crate::backend::digest::Digest;
use crate::backend::keygroup;
use crate::checkpoint::{
    transfer_threads, CheckpointHandle, CheckpointMode, CheckpointTarget, SnapshotFormat,
    DEFAULT_TRANSFER_THREADS,
};
use crate::workload::{Namespace, OpKind, StateId, StateKind, StateOp, TtlUpdate};
use db::OpenDb;
use heap_timers::{HeapTimers, HEAP_TIMERS_FILE};
use options::LIST_DELIMITER;
use timer_queue::{RocksTimerQueue, TimerWriteBatch};
use values::ValueCodec;

pub use layout::KeyBuilder;
pub use options::SharedMemory;
pub use profile::{MemoryMode, PredefinedProfile, RocksSettings, TimerFactory};
pub use statistics::{RocksStatistics, TickerMetrics, TICKER_METRIC_KEYS};

/// RocksDB backend settings: a predefined profile (with Flink's defaults under it and the
/// user's keys over it), memory, and where timers live.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RocksDbConfig {
    /// The name cells are labelled with: the predefined profile's, or a user profile's.
    pub label: String,
    /// The predefined profile.
    pub profile: PredefinedProfile,
    /// The resolved settings (profile over Flink defaults).
    pub settings: RocksSettings,
    /// Memory mode.
    pub memory: MemoryMode,
    /// `timer-service.factory`.
    pub timers: TimerFactory,
    /// `timer-service.cache-size`: timers cached per key group of a ROCKSDB timer queue.
    pub timer_cache_size: usize,
    /// `checkpoint.transfer.thread.num`: threads uploading and downloading a native checkpoint's
    /// files (see [`transfer_threads`] for 0, 1 and negative values).
    pub transfer_threads: i32,
    /// `--rocksdb-statistics`: RocksDB keeps its tickers (not its histograms), which the
    /// report's write amplification, cache hit rate, bytes read per get and stall time come
    /// from. Off by default, as in Flink: `cargo bench --bench overhead` measures them costing
    /// several percent of a cell's throughput (statistics on against off).
    pub statistics: bool,
    /// Flink's statistics-based native metric keys set to true
    /// (`state.backend.rocksdb.metrics.block-cache-hit`, ...): with any of them Flink gives the
    /// DB a statistics object ([`RocksStatistics::Flink`]).
    pub ticker_metrics: TickerMetrics,
    /// Direct I/O for reads and for flushes and compactions (`use_direct_reads`,
    /// `use_direct_io_for_flush_and_compaction`): how `--container-memory` keeps SSTs out of the
    /// page cache where no cgroup can bound it. Not a Flink key (Flink sets it only through an
    /// options factory); off by default.
    pub direct_io: bool,
}

impl RocksDbConfig {
    /// A profile with Flink's defaults under it and Flink's default (managed) memory.
    pub fn new(profile: PredefinedProfile) -> RocksDbConfig {
        RocksDbConfig {
            label: profile.name().to_string(),
            profile,
            settings: profile.settings(),
            memory: MemoryMode::flink_default(),
            timers: TimerFactory::Rocksdb,
            timer_cache_size: DEFAULT_TIMER_CACHE_SIZE,
            transfer_threads: DEFAULT_TRANSFER_THREADS,
            statistics: false,
            ticker_metrics: TickerMetrics::default(),
            direct_io: false,
        }
    }

    /// The statistics object the DB gets ([`RocksStatistics::of`]).
    pub fn statistics_level(&self) -> RocksStatistics {
        RocksStatistics::of(self.ticker_metrics, self.statistics)
    }
}

/// `state.backend.rocksdb.timer-service.cache-size`'s default.
pub const DEFAULT_TIMER_CACHE_SIZE: usize = 128;

/// Flink's RocksDB keyed state backend.
pub struct RocksDbBackend {
    db: OpenDb,
    dir: PathBuf,
    layout: StateLayout,
    keys: KeyBuilder,
    write: WriteOptions,
    codec: ValueCodec,
    /// The time TTL is measured against, shared with the compaction filters.
    now: Arc<AtomicI64>,
    value_buf: Vec<u8>,
    local_checkpoints: u64,
    /// Timers of the HEAP timer factory (empty with ROCKSDB timers).
    heap_timers: HeapTimers,
    /// Per state: the cached RocksDB timer queue of a timer state (ROCKSDB timer factory).
    timer_queues: Vec<Option<RocksTimerQueue>>,
    /// The write batch every timer queue writes through; a `RefCell` since the `&self` methods
    /// that read the DB (digest, view) flush it first.
    timer_batch: RefCell<TimerWriteBatch>,
    /// `timer-service.cache-size`.
    timer_cache_size: usize,
    /// Threads a checkpoint's upload runs on.
    transfer_threads: usize,
}

impl RocksDbBackend {
    /// Opens an empty backend in `dir` (which must not hold another DB).
    pub fn open(
        config: &RocksDbConfig,
        layout: &StateLayout,
        dir: &Path,
    ) -> Result<RocksDbBackend> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create RocksDB directory {}", dir.display()))?;
        let now = Arc::new(AtomicI64::new(0));
        let db = OpenDb::open(config, layout, dir, &now)?;
        let mut write = WriteOptions::default();
        write.disable_wal(true);
        let mut backend = RocksDbBackend {
            db,
            dir: dir.to_path_buf(),
            layout: layout.clone(),
            keys: KeyBuilder::new(layout.max_parallelism),
            write,
            codec: ValueCodec { ttl: layout.ttl },
            now,
            value_buf: Vec::new(),
            local_checkpoints: 0,
            heap_timers: HeapTimers::new(layout, config.timers),
            timer_queues: Vec::new(),
            timer_batch: RefCell::new(TimerWriteBatch::new(config.settings.write_batch_size)),
            timer_cache_size: config.timer_cache_size,
            transfer_threads: transfer_threads(config.transfer_threads),
        };
        backend.open_timer_queues()?;
        Ok(backend)
    }

    /// Builds the RocksDB timer queue of every timer state not held on the heap, over the rows
    /// the DB has now (as Flink creates them when the operator registers its timer services).
    fn open_timer_queues(&mut self) -> Result<()> {
        let batch = self.timer_batch.get_mut();
        self.timer_queues = Vec::with_capacity(self.layout.states.len());
        for (state, (_, kind)) in self.layout.states.iter().enumerate() {
            let queue = match *kind == StateKind::Timer && !self.heap_timers.holds(state as StateId)
            {
                true => Some(RocksTimerQueue::open(
                    &self.db.db,
                    self.db.cfs[state],
                    self.layout.max_parallelism,
                    self.timer_cache_size,
                    batch,
                )?),
                false => None,
            };
            self.timer_queues.push(queue);
        }
        Ok(())
    }

    /// Writes the timer queues' pending batch into the DB, as Flink does before a snapshot.
    fn flush_timer_batch(&self) -> Result<()> {
        self.timer_batch.borrow_mut().flush(&self.db.db)
    }

    /// Writes the HEAP timers' raw keyed state into `path` as a checkpoint's sync phase does,
    /// alone: the part of the sync phase HEAP timers add (`cargo bench --bench timers` times it).
    /// Returns the bytes written.
    pub fn write_heap_timers(&self, path: &Path) -> Result<u64> {
        self.heap_timers.write_raw_keyed_state(path)
    }

    /// Per timer state with a RocksDB queue: the rows each key group's cache holds.
    pub fn timer_cache_rows(&self) -> Vec<Option<Vec<usize>>> {
        self.timer_queues
            .iter()
            .map(|q| q.as_ref().map(RocksTimerQueue::cached_rows))
            .collect()
    }

    /// Restores a checkpoint or savepoint into a fresh instance in `dir`: a native one by
    /// downloading its files into `dir` and opening them, a canonical one by replaying its stream.
    pub fn restore(
        config: &RocksDbConfig,
        layout: &StateLayout,
        handle: &CheckpointHandle,
        dir: &Path,
    ) -> Result<RocksDbBackend> {
        match handle.format {
            SnapshotFormat::Canonical => {
                let mut backend = RocksDbBackend::open(config, layout, dir)?;
                snapshot::restore_canonical(
                    &backend.db,
                    layout,
                    handle,
                    config.settings.write_batch_size,
                    &backend.write,
                    &mut backend.heap_timers,
                )?;
                // The queues see the restored rows (Flink creates them after the restore).
                backend.open_timer_queues()?;
                Ok(backend)
            }
            SnapshotFormat::Native => {
                snapshot::download(handle, dir, transfer_threads(config.transfer_threads))?;
                let mut backend = RocksDbBackend::open(config, layout, dir)?;
                if handle.private.contains_key(HEAP_TIMERS_FILE) {
                    backend
                        .heap_timers
                        .read_raw_keyed_state(&handle.dir.join(HEAP_TIMERS_FILE))?;
                }
                Ok(backend)
            }
        }
    }

    /// Clips the restored DB to the key groups in `key_groups`, as a subtask of a rescaled job
    /// does with Flink's `RocksDBIncrementalCheckpointUtils.clipDBWithKeyGroupRange`: a
    /// delete-range below and above the range in every column family (no compaction).
    pub fn clip_key_groups(&mut self, key_groups: std::ops::Range<u32>) -> Result<()> {
        let bytes = keygroup::key_group_prefix_bytes(self.layout.max_parallelism);
        let prefix = |kg: u32| kg.to_be_bytes()[4 - bytes..].to_vec();
        let (first, end) = (prefix(0), vec![0xFF; bytes + 1]);
        for cf in &self.db.cfs {
            if key_groups.start > 0 {
                self.db.db.delete_range_cf(
                    *cf,
                    first.as_slice(),
                    prefix(key_groups.start).as_slice(),
                )?;
            }
            if key_groups.end < self.layout.max_parallelism {
                self.db.db.delete_range_cf(
                    *cf,
                    prefix(key_groups.end).as_slice(),
                    end.as_slice(),
                )?;
            }
        }
        self.heap_timers.retain_key_groups(&key_groups);
        // The timer queues' head caches were read before the clip: read them again.
        self.open_timer_queues()
    }

    /// A RocksDB snapshot of the current state (pending timer writes flushed first), with a
    /// copy of the heap timers as they are now.
    fn retained_snapshot(&self) -> Result<snapshot::RetainedSnapshot> {
        self.flush_timer_batch()?;
        Ok(snapshot::RetainedSnapshot::take(
            &self.db,
            &self.layout,
            self.now(),
            self.heap_timers.copy(),
        ))
    }

    fn cf(&self, op: &StateOp) -> &'static ColumnFamily {
        self.db.cfs[op.state as usize]
    }

    fn now(&self) -> i64 {
        self.now.load(Ordering::Relaxed)
    }

    /// Puts `[null flag]?[timestamp]?[length][bytes]` at the current key.
    fn put(&mut self, op: &StateOp, value: &[u8], null_flag: bool) -> Result<()> {
        self.value_buf.clear();
        if null_flag {
            self.value_buf.push(0);
        }
        let now = self.now();
        self.codec.write(&mut self.value_buf, value, now);
        self.db
            .db
            .put_cf_opt(self.cf(op), self.keys.bytes(), &self.value_buf, &self.write)?;
        Ok(())
    }

    /// Deletes every row under the current key prefix in batches, as Flink's MapState.clear.
    fn delete_prefix(&mut self, op: &StateOp) -> Result<()> {
        let cf = self.cf(op);
        let prefix = self.keys.bytes();
        let mut batch = WriteBatch::default();
        let mut it = self.db.db.raw_iterator_cf(cf);
        it.seek(prefix);
        while let Some(k) = it.key().filter(|k| k.starts_with(prefix)) {
            batch.delete_cf(cf, k);
            it.next();
        }
        it.status()?;
        self.db.db.write_opt(batch, &self.write)?;
        Ok(())
    }

    /// The DB and the column family of state `state`, for a plain loop over the very DB the
    /// backend opened (options included) to compare the harness against.
    pub fn raw(&self, state: usize) -> (&rocksdb::DB, &rocksdb::ColumnFamily) {
        (&self.db.db, self.db.cfs[state])
    }

    /// Flushes the memtables and compacts every state column family fully, running the TTL
    /// compaction filters over all data.
    pub fn compact(&self) -> Result<()> {
        self.flush_timer_batch()?;
        for cf in &self.db.cfs {
            self.db.db.flush_cf(*cf)?;
            self.db
                .db
                .compact_range_cf(*cf, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// An integer property (e.g. `rocksdb.block-cache-capacity`) of the first state's column
    /// family: with shared memory every column family reports the same shared objects.
    pub fn property(&self, name: &str) -> Result<Option<u64>> {
        match self.db.cfs.first() {
            Some(cf) => Ok(self.db.db.property_int_value_cf(*cf, name)?),
            None => Ok(None),
        }
    }

    /// Every pending timer as (state, timestamp, key, namespace), sorted: from the timer column
    /// families (pending writes flushed first) and the heap timer sets.
    pub fn pending_timers(&self) -> Result<Vec<(StateId, i64, u64, Namespace)>> {
        self.flush_timer_batch()?;
        let mut timers = self.heap_timers.list();
        let prefix = keygroup::key_group_prefix_bytes(self.layout.max_parallelism);
        for (state, queue) in self.timer_queues.iter().enumerate() {
            if queue.is_none() {
                continue;
            }
            let mut it = self.db.db.raw_iterator_cf(self.db.cfs[state]);
            it.seek_to_first();
            while let Some(k) = it.key() {
                let long = |at: usize| u64::from_be_bytes(k[at..at + 8].try_into().expect("8"));
                let namespace =
                    Namespace::read_from(&k[prefix + 16..]).context("corrupt timer row")?;
                let timestamp = (long(prefix) ^ (1 << 63)) as i64;
                timers.push((state as StateId, timestamp, long(prefix + 8), namespace));
                it.next();
            }
            it.status()?;
        }
        timers.sort();
        Ok(timers)
    }

    /// Rows physically stored in the state column families, expired or not.
    pub fn stored_rows(&self) -> Result<u64> {
        self.flush_timer_batch()?;
        let mut rows = 0;
        for cf in &self.db.cfs {
            let mut it = self.db.db.raw_iterator_cf(*cf);
            it.seek_to_first();
            while it.valid() {
                rows += 1;
                it.next();
            }
            it.status()?;
        }
        Ok(rows)
    }

    /// Whether TTL reads refresh timestamps (`OnReadAndWrite`).
    fn refresh_on_read(&self) -> bool {
        self.layout
            .ttl
            .is_some_and(|t| t.update_type == TtlUpdate::OnReadAndWrite)
    }

    /// A value or map entry read at the current key: expired ones are deleted and missed
    /// (`NeverReturnExpired`), live ones refreshed under `OnReadAndWrite`.
    fn read_one(&mut self, op: &StateOp, map: bool, report_bytes: bool) -> Result<Outcome> {
        let (now, codec) = (self.now(), self.codec);
        let Some(raw) = self.db.db.get_pinned_cf(self.cf(op), self.keys.bytes())? else {
            return Ok(Outcome::default());
        };
        let stored = if map { raw.get(1..) } else { Some(&raw[..]) };
        let (read, _) = stored
            .and_then(|v| codec.read(v))
            .context("corrupt value")?;
        if codec.expired(&read, now) {
            drop(raw);
            self.db
                .db
                .delete_cf_opt(self.cf(op), self.keys.bytes(), &self.write)?;
            return Ok(Outcome::default());
        }
        let len = read.body.len();
        if self.refresh_on_read() {
            let body = read.body.to_vec();
            drop(raw);
            self.put(op, &body, map)?;
        }
        Ok(Outcome {
            found: true,
            items: 1,
            bytes: if report_bytes { len as u64 } else { 0 },
        })
    }

    /// `ListState.get`: the whole list parsed; with TTL, expired elements are dropped and the
    /// list written back (or deleted when none is left).
    fn read_list(&mut self, op: &StateOp) -> Result<Outcome> {
        let (now, codec) = (self.now(), self.codec);
        let Some(raw) = self.db.db.get_pinned_cf(self.cf(op), self.keys.bytes())? else {
            return Ok(Outcome::default());
        };
        let elements = codec.elements(&raw).context("corrupt list")?;
        let live: Vec<_> = elements.iter().filter(|e| !codec.expired(e, now)).collect();
        let outcome = match live.len() {
            0 => Outcome::default(),
            n => Outcome {
                found: true,
                items: n as u32,
                bytes: live.iter().map(|e| e.body.len() as u64).sum(),
            },
        };
        let refresh = self.refresh_on_read();
        if live.len() < elements.len() || (refresh && !live.is_empty()) {
            let mut list = Vec::new();
            for (i, e) in live.iter().enumerate() {
                if i > 0 {
                    list.push(LIST_DELIMITER);
                }
                let stamp = if refresh { now } else { e.stamp.unwrap_or(now) };
                codec.write(&mut list, e.body, stamp);
            }
            drop(raw);
            if list.is_empty() {
                self.db
                    .db
                    .delete_cf_opt(self.cf(op), self.keys.bytes(), &self.write)?;
            } else {
                self.db
                    .db
                    .put_cf_opt(self.cf(op), self.keys.bytes(), &list, &self.write)?;
            }
        }
        Ok(outcome)
    }

    /// `MapState.entries()` iterated by prefix seek; expired entries deleted on the way.
    fn iterate_map(&mut self, op: &StateOp) -> Result<Outcome> {
        let (now, codec, refresh) = (self.now(), self.codec, self.refresh_on_read());
        let cf = self.cf(op);
        let prefix = self.keys.bytes();
        let mut batch = WriteBatch::default();
        let mut it = self.db.db.raw_iterator_cf(cf);
        it.seek(prefix);
        let (mut items, mut bytes) = (0u32, 0u64);
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            if !k.starts_with(prefix) {
                break;
            }
            let (read, _) = v
                .get(1..)
                .and_then(|v| codec.read(v))
                .context("corrupt map value")?;
            if codec.expired(&read, now) {
                batch.delete_cf(cf, k);
            } else {
                items += 1;
                bytes += read.body.len() as u64;
                if refresh {
                    let mut fresh = vec![0];
                    codec.write(&mut fresh, read.body, now);
                    batch.put_cf(cf, k, fresh);
                }
            }
            it.next();
        }
        it.status()?;
        drop(it);
        if !batch.is_empty() {
            self.db.db.write_opt(batch, &self.write)?;
        }
        Ok(Outcome {
            found: items > 0,
            items,
            bytes,
        })
    }
}

impl Backend for RocksDbBackend {
    fn apply(&mut self, op: &StateOp, value: &[u8]) -> Result<Outcome> {
        if self.heap_timers.apply(op) {
            return Ok(Outcome::default());
        }
        if !matches!(op.kind, OpKind::TimerRegister(_) | OpKind::TimerDelete(_)) {
            self.keys.set_key(op.key, op.namespace);
        }
        let cf = self.cf(op);
        let outcome = match op.kind {
            OpKind::ValueGet => self.read_one(op, false, true)?,
            // A one-element list serializes exactly as a value: [length][bytes].
            OpKind::ValuePut(_) | OpKind::ListUpdate(_) => {
                self.put(op, value, false)?;
                Outcome::default()
            }
            OpKind::ValueClear | OpKind::ListClear => {
                self.db
                    .db
                    .delete_cf_opt(cf, self.keys.bytes(), &self.write)?;
                Outcome::default()
            }
            OpKind::ListGet => self.read_list(op)?,
            OpKind::ListAdd(_) => {
                self.value_buf.clear();
                let now = self.now();
                self.codec.write(&mut self.value_buf, value, now);
                self.db
                    .db
                    .merge_cf_opt(cf, self.keys.bytes(), &self.value_buf, &self.write)?;
                Outcome::default()
            }
            OpKind::MapGet(uk) | OpKind::MapContains(uk) => {
                self.keys.set_user_key(uk);
                self.read_one(op, true, matches!(op.kind, OpKind::MapGet(_)))?
            }
            OpKind::MapPut(uk, _) => {
                self.keys.set_user_key(uk);
                self.put(op, value, true)?;
                Outcome::default()
            }
            OpKind::MapRemove(uk) => {
                self.keys.set_user_key(uk);
                self.db
                    .db
                    .delete_cf_opt(cf, self.keys.bytes(), &self.write)?;
                Outcome::default()
            }
            OpKind::MapIterate => self.iterate_map(op)?,
            OpKind::MapClear => {
                self.delete_prefix(op)?;
                Outcome::default()
            }
            // RocksDBCachingPriorityQueueSet: a timer is a row with an empty value, written
            // through the key group's cache and the shared write batch.
            OpKind::TimerRegister(ts) | OpKind::TimerDelete(ts) => {
                let queue = self.timer_queues[op.state as usize]
                    .as_mut()
                    .context("timer op on a state without a timer queue")?;
                let register = matches!(op.kind, OpKind::TimerRegister(_));
                let timer = (ts, op.key, op.namespace);
                queue.update(&self.db.db, self.timer_batch.get_mut(), register, timer)?;
                Outcome::default()
            }
        };
        Ok(outcome)
    }

    fn set_time(&mut self, now_ms: i64) {
        self.now.store(now_ms, Ordering::Relaxed);
    }

    fn snapshot(&mut self, mode: CheckpointMode, target: &CheckpointTarget) -> Result<AsyncPhase> {
        ensure!(mode != CheckpointMode::None, "no checkpoint mode given");
        // Flink's legacy synchronous timer snapshot: HEAP timers go into the operator's raw
        // keyed state now, before the keyed state backend's snapshot.
        let raw_timers = match self.heap_timers.any() {
            true => Some(
                self.heap_timers
                    .write_raw_keyed_state(&target.dir.join(HEAP_TIMERS_FILE))?,
            ),
            false => None,
        };
        self.flush_timer_batch()?;
        self.local_checkpoints += 1;
        let local = self.dir.with_file_name(format!(
            "{}-local-chk-{}",
            file_name(&self.dir),
            self.local_checkpoints
        ));
        snapshot::native(&self.db, local, raw_timers, mode, self.transfer_threads)
    }

    fn savepoint(&mut self) -> Result<AsyncPhase> {
        Ok(snapshot::savepoint(self.retained_snapshot()?, &self.layout))
    }

    fn view(&self) -> Result<Box<dyn StateView>> {
        Ok(Box::new(self.retained_snapshot()?))
    }

    fn digest(&self) -> Result<Digest> {
        self.flush_timer_batch()?;
        let mut digest = snapshot::digest_db(&self.db, &self.layout, self.now())?;
        self.heap_timers.digest_into(&mut digest);
        Ok(digest)
    }

    fn options_file(&self) -> Option<PathBuf> {
        options_file::latest_options_file(&self.dir)
    }

    fn stats(&self) -> Result<Option<StatsSnapshot>> {
        stats::snapshot(&self.db).map(Some)
    }
}

fn file_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "db".to_string())
}

impl Drop for RocksDbBackend {
    /// Writes the timers still in the batch, as Flink's backend does when it closes.
    fn drop(&mut self) {
        // Drop cannot report an error: a failed write leaves those timers out, as a crash would.
        let _ = self.flush_timer_batch();
    }
}
