//! RocksDB checkpoints and savepoints as Flink takes them.
//!
//! Checkpoints are native (`RocksNativeFullSnapshotStrategy`, `RocksIncrementalSnapshotStrategy`):
//! the sync phase takes a RocksDB checkpoint, which flushes the memtables and hard-links the live
//! SST files into a local directory; the async phase uploads that directory's files with
//! `checkpoint.transfer.thread.num` threads (`RocksDBStateUploader`). A full checkpoint uploads
//! every file into its own directory; an incremental one puts SSTs into `shared/` and skips those
//! the last completed checkpoint already holds. Restore downloads the files the same way
//! (`RocksDBStateDownloader`) and opens them as the DB.
//!
//! Savepoints are canonical (`RocksFullSnapshotStrategy`, as Flink's `SavepointFormatType.CANONICAL`):
//! the sync phase takes a RocksDB snapshot (no data copied); the async phase iterates every
//! state's column family at that snapshot, merged in key-group order, into one stream, and
//! restore writes the stream back in batches (`RocksDBFullRestoreOperation`).

use std::fs::{self, File};
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{ensure, Context, Result};
use rocksdb::checkpoint::Checkpoint;
use rocksdb::{ColumnFamily, DBRawIterator, ReadOptions, Snapshot, WriteBatch, WriteOptions, DB};

use super::db::OpenDb;
use super::heap_timers::{self, HeapTimers, TimerCopy, HEAP_TIMERS_FILE};
use super::values::ValueCodec;
use crate::backend::api::{AsyncPhase, StateLayout, StateView};
use crate::backend::digest::{Digest, EntryAddress};
use crate::backend::keygroup::key_group_prefix_bytes;
use crate::checkpoint::stream::{StreamReader, StreamWriter, FULL_SNAPSHOT_FILE};
use crate::checkpoint::{
    link, transfer, CheckpointHandle, CheckpointMode, FileCopy, SnapshotFormat, UploadResult,
};
use crate::workload::{Namespace, StateId, StateKind};

/// Flink's `RocksDBWriteBatchWrapper` capacity for restores.
const RESTORE_BATCH_ENTRIES: usize = 500;

/// A RocksDB snapshot kept alive beyond the call that took it, with the DB it reads from.
pub(super) struct RetainedSnapshot {
    // Declared first: dropped (released) before the DB handle below.
    snapshot: ManuallyDrop<Snapshot<'static>>,
    cfs: Vec<&'static ColumnFamily>,
    layout: StateLayout,
    /// The time the snapshot was taken at, for TTL.
    now: i64,
    /// Heap timers (HEAP timer factory) as they were at the snapshot.
    timers: TimerCopy,
    db: Arc<DB>,
}

impl RetainedSnapshot {
    /// Takes a snapshot of the current state.
    pub(super) fn take(
        db: &OpenDb,
        layout: &StateLayout,
        now: i64,
        timers: TimerCopy,
    ) -> RetainedSnapshot {
        let snapshot = db.db.snapshot();
        // SAFETY: the snapshot borrows the DB inside `db.db`'s Arc; this struct holds a clone of
        // that Arc and releases the snapshot first (field order, and Drop below).
        let snapshot: Snapshot<'static> = unsafe { std::mem::transmute(snapshot) };
        RetainedSnapshot {
            snapshot: ManuallyDrop::new(snapshot),
            cfs: db.cfs.clone(),
            layout: layout.clone(),
            now,
            timers,
            db: Arc::clone(&db.db),
        }
    }

    fn iterator(&self, state: usize) -> DBRawIterator<'_> {
        let mut read = ReadOptions::default();
        read.set_snapshot(&*self.snapshot);
        read.fill_cache(false);
        self.db.raw_iterator_cf_opt(self.cfs[state], read)
    }
}

impl Drop for RetainedSnapshot {
    fn drop(&mut self) {
        // SAFETY: dropped exactly once, here, while `self.db` is still alive.
        unsafe { ManuallyDrop::drop(&mut self.snapshot) }
    }
}

impl StateView for RetainedSnapshot {
    fn time(&self) -> i64 {
        self.now
    }

    fn digest(&self) -> Result<Digest> {
        let mut digest = Digest::default();
        for state in 0..self.cfs.len() {
            let mut it = self.iterator(state);
            it.seek_to_first();
            digest_rows(
                &mut it,
                state as StateId,
                &self.layout,
                self.now,
                &mut digest,
            )?;
        }
        self.timers.digest_into(&mut digest);
        Ok(digest)
    }
}

/// Adds every row an iterator yields to `digest`, decoding Flink's layout back to logical
/// entries; values expired at `now` are left out, as no read would return them.
fn digest_rows(
    it: &mut DBRawIterator<'_>,
    state: StateId,
    layout: &StateLayout,
    now: i64,
    digest: &mut Digest,
) -> Result<()> {
    let codec = ValueCodec { ttl: layout.ttl };
    let prefix = key_group_prefix_bytes(layout.max_parallelism);
    let kind = layout.states[state as usize].1;
    let corrupt = || anyhow::anyhow!("corrupt row in state {}", layout.states[state as usize].0);
    let long = |bytes: Option<&[u8]>| -> Result<u64> {
        Ok(u64::from_be_bytes(bytes.ok_or_else(corrupt)?.try_into()?))
    };
    let namespace =
        |bytes: Option<&[u8]>| Namespace::read_from(bytes.unwrap_or_default()).ok_or_else(corrupt);
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        let at = match kind {
            // [key group][timestamp ^ sign bit][key][namespace]
            StateKind::Timer => EntryAddress {
                state,
                key: long(k.get(prefix + 8..prefix + 16))?,
                namespace: namespace(k.get(prefix + 16..))?,
                user_key: Some(long(k.get(prefix..prefix + 8))? ^ (1 << 63)),
            },
            // [key group][key][namespace][user key]
            StateKind::Map => {
                let end = k.len().checked_sub(8).ok_or_else(corrupt)?;
                EntryAddress {
                    state,
                    key: long(k.get(prefix..prefix + 8))?,
                    namespace: namespace(k.get(prefix + 8..end))?,
                    user_key: Some(long(k.get(end..))?),
                }
            }
            // [key group][key][namespace]
            StateKind::Value | StateKind::List => EntryAddress {
                state,
                key: long(k.get(prefix..prefix + 8))?,
                namespace: namespace(k.get(prefix + 8..))?,
                user_key: None,
            },
        };
        match kind {
            StateKind::Timer => digest.add(at, []),
            StateKind::Value | StateKind::Map => {
                let stored = if kind == StateKind::Map {
                    v.get(1..)
                } else {
                    Some(v)
                };
                let (read, _) = stored.and_then(|v| codec.read(v)).ok_or_else(corrupt)?;
                if !codec.expired(&read, now) {
                    digest.add(at, [read.body]);
                }
            }
            StateKind::List => {
                let elements = codec.elements(v).ok_or_else(corrupt)?;
                let live: Vec<&[u8]> = elements
                    .iter()
                    .filter(|e| !codec.expired(e, now))
                    .map(|e| e.body)
                    .collect();
                if !live.is_empty() {
                    digest.add(at, live);
                }
            }
        }
        it.next();
    }
    it.status()?;
    Ok(())
}

/// Digest of the live DB (a snapshot's goes through [`RetainedSnapshot`]).
pub(super) fn digest_db(db: &OpenDb, layout: &StateLayout, now: i64) -> Result<Digest> {
    let mut digest = Digest::default();
    for (state, cf) in db.cfs.iter().enumerate() {
        let mut it = db.db.raw_iterator_cf(*cf);
        it.seek_to_first();
        digest_rows(&mut it, state as StateId, layout, now, &mut digest)?;
    }
    Ok(digest)
}

/// Sync phase of a canonical savepoint: the snapshot is all; the async phase streams it.
pub(super) fn savepoint(captured: RetainedSnapshot, layout: &StateLayout) -> AsyncPhase {
    let layout = layout.clone();
    Box::new(move |target| {
        let path = target.dir.join(FULL_SNAPSHOT_FILE);
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut writer = StreamWriter::new(file, layout.max_parallelism, &layout.states)?;
        let prefix = key_group_prefix_bytes(layout.max_parallelism);
        let heap_timers = captured.timers.partition();
        let mut iterators: Vec<_> = (0..layout.states.len())
            .map(|s| {
                let mut it = captured.iterator(s);
                it.seek_to_first();
                it
            })
            .collect();
        // Merge the per-state iterators by (key group, state), as RocksStatesPerKeyGroupMergeIterator.
        for kg in 0..layout.max_parallelism {
            for (state, it) in iterators.iter_mut().enumerate() {
                if let Some(groups) = &heap_timers[state] {
                    let timers = &groups[kg as usize];
                    let max_parallelism = layout.max_parallelism;
                    heap_timers::write_key_group(
                        timers,
                        state as StateId,
                        kg,
                        max_parallelism,
                        &mut writer,
                    )?;
                    continue;
                }
                while let (Some(k), Some(v)) = (it.key(), it.value()) {
                    if key_group_of(k, prefix) != kg {
                        break;
                    }
                    writer.entry(kg, state as StateId, k, v)?;
                    it.next();
                }
                it.status()?;
            }
        }
        for it in &iterators {
            ensure!(!it.valid(), "rows beyond the last key group");
        }
        let (bytes, _) = writer.finish()?;
        let mut upload = UploadResult::new(SnapshotFormat::Canonical);
        upload.private.insert(FULL_SNAPSHOT_FILE.to_string(), bytes);
        Ok(upload)
    })
}

fn key_group_of(key: &[u8], prefix: usize) -> u32 {
    match prefix {
        1 => key[0] as u32,
        _ => u16::from_be_bytes([key[0], key[1]]) as u32,
    }
}

/// Sync phase of a native checkpoint (full or incremental): RocksDB's checkpoint into `local`
/// flushes the memtables (the WAL is off, so it must) and hard-links the live files. The async
/// phase uploads them on `threads` threads and deletes `local`. `raw_timers`: the size of the
/// heap timers' raw keyed state the sync phase already wrote into the checkpoint.
pub(super) fn native(
    db: &OpenDb,
    local: PathBuf,
    raw_timers: Option<u64>,
    mode: CheckpointMode,
    threads: usize,
) -> Result<AsyncPhase> {
    if local.exists() {
        fs::remove_dir_all(&local)?;
    }
    Checkpoint::new(&db.db)?
        .create_checkpoint(&local)
        .with_context(|| format!("native checkpoint into {}", local.display()))?;
    Ok(Box::new(move |target| {
        let mut upload = UploadResult::new(SnapshotFormat::Native);
        if let Some(bytes) = raw_timers {
            upload.private.insert(HEAP_TIMERS_FILE.to_string(), bytes);
        }
        let mut copies = Vec::new();
        for entry in fs::read_dir(&local)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let size = entry.metadata()?.len();
            let to = if mode == CheckpointMode::Incremental && name.ends_with(".sst") {
                let reused = target.reusable.get(&name) == Some(&size);
                upload.shared.insert(name.clone(), size);
                if reused {
                    continue;
                }
                upload.shared_written.insert(name.clone());
                target.shared_dir.join(&name)
            } else {
                // A full checkpoint's files are all its own (EXCLUSIVE scope), SSTs included.
                upload.private.insert(name.clone(), size);
                target.dir.join(&name)
            };
            copies.push(FileCopy {
                from: entry.path(),
                to,
            });
        }
        match target.staging {
            // The store uploads from the staging area: that upload is the transfer.
            true => link(&copies)?,
            false => transfer(&copies, threads)?,
        };
        fs::remove_dir_all(&local).with_context(|| format!("cannot delete {}", local.display()))?;
        Ok(upload)
    }))
}

/// Downloads a native checkpoint's files into `dir` on `threads` threads, so RocksDB can open
/// them there (links them, when the checkpoint storage downloaded them for this restore). The heap timers' file stays in storage: it is read, not opened by RocksDB.
pub(super) fn download(handle: &CheckpointHandle, dir: &Path, threads: usize) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let shared = handle.shared.keys().map(|n| (&handle.shared_dir, n));
    let private = handle
        .private
        .keys()
        .filter(|n| *n != HEAP_TIMERS_FILE)
        .map(|n| (&handle.dir, n));
    let copies: Vec<FileCopy> = shared
        .chain(private)
        .map(|(from, name)| FileCopy {
            from: from.join(name),
            to: dir.join(name),
        })
        .collect();
    match handle.downloaded {
        // Downloaded for this restore already: the download was the transfer.
        true => link(&copies)?,
        false => transfer(&copies, threads)?,
    };
    Ok(())
}

/// Replays a canonical savepoint's stream into an empty DB in write batches, as Flink's
/// `RocksDBFullRestoreOperation` does.
pub(super) fn restore_canonical(
    db: &OpenDb,
    layout: &StateLayout,
    handle: &CheckpointHandle,
    batch_bytes: usize,
    write: &WriteOptions,
    timers: &mut HeapTimers,
) -> Result<()> {
    let path = handle.dir.join(FULL_SNAPSHOT_FILE);
    let file = File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = StreamReader::open(file, layout.max_parallelism, &layout.states)
        .with_context(|| format!("reading {}", path.display()))?;
    let mut batch = WriteBatch::default();
    while let Some(e) = reader
        .next_entry()
        .with_context(|| format!("reading {}", path.display()))?
    {
        if timers.holds(e.state) {
            let (state, key) = (e.state, e.key.to_vec());
            timers.insert_key(state, &key)?;
            continue;
        }
        batch.put_cf(db.cfs[e.state as usize], e.key, e.value);
        if batch.len() >= RESTORE_BATCH_ENTRIES || batch.size_in_bytes() >= batch_bytes {
            db.db.write_opt(std::mem::take(&mut batch), write)?;
        }
    }
    db.db.write_opt(batch, write)?;
    Ok(())
}
