//! The heap backend: Flink's `HashMapStateBackend`. Per state, one map per key group from
//! (key, namespace) to the state object, as Flink's `StateTable` holds them.
//!
//! Copy-on-write like Flink's `CopyOnWriteStateMap`: the maps are persistent B-trees (imbl), so a
//! checkpoint's synchronous phase copies only the per-key-group roots (O(states × key groups),
//! never the entries); a write after a snapshot copies the few nodes on its path, and a list or
//! map object that a snapshot still shares is copied before it is mutated, as Flink copies a state
//! object whose version is older than the snapshot's.
//!
//! With state TTL every value, list element and map entry carries its timestamp; expired ones are
//! never returned and are removed when read, and every state access also inspects a few entries
//! further along (Flink's incremental cleanup, 5 entries per access).

mod access;
mod codec;
mod table;
mod ttl;

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, ensure, Context, Result};

use crate::backend::api::{AsyncPhase, Backend, Outcome, StateLayout, StateView, StatsSnapshot};
use crate::backend::digest::{Digest, EntryAddress};
use crate::backend::keygroup::key_group;
use crate::checkpoint::stream::{StreamReader, StreamWriter, FULL_SNAPSHOT_FILE};
use crate::checkpoint::{
    CheckpointHandle, CheckpointMode, CheckpointTarget, SnapshotFormat, UploadResult,
};
use crate::workload::{StateId, StateOp};
use access::{access, AccessTime};
use table::{Group, Stamped, StateObject, StateTable};
use ttl::Cleanup;

/// Flink's heap keyed state backend.
pub struct HeapBackend {
    layout: StateLayout,
    tables: Vec<StateTable>,
    now: i64,
    cleanup: Vec<Cleanup>,
}

impl HeapBackend {
    /// An empty backend for `layout`.
    pub fn new(layout: &StateLayout) -> HeapBackend {
        let groups = layout.max_parallelism as usize;
        HeapBackend {
            layout: layout.clone(),
            tables: layout
                .states
                .iter()
                .map(|_| vec![Group::default(); groups])
                .collect(),
            now: 0,
            cleanup: layout.states.iter().map(|_| Cleanup::default()).collect(),
        }
    }

    /// Rebuilds the state of a full checkpoint or a savepoint (both canonical).
    pub fn restore(layout: &StateLayout, handle: &CheckpointHandle) -> Result<HeapBackend> {
        ensure!(
            handle.format == SnapshotFormat::Canonical,
            "the heap backend restores canonical snapshots only, not {:?} ones",
            handle.format
        );
        let path = handle.dir.join(FULL_SNAPSHOT_FILE);
        let file = File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut backend = HeapBackend::new(layout);
        let mut reader = StreamReader::open(file, layout.max_parallelism, &layout.states)
            .with_context(|| format!("reading {}", path.display()))?;
        while let Some(e) = reader
            .next_entry()
            .with_context(|| format!("reading {}", path.display()))?
        {
            let slot = codec::decode_slot(e.key)?;
            let kind = layout.states[e.state as usize].1;
            let object = codec::decode_object(kind, e.value)?;
            let group = backend.tables[e.state as usize]
                .get_mut(e.key_group as usize)
                .context("checkpoint entry in a key group out of range")?;
            group.insert(slot, object);
        }
        Ok(backend)
    }

    /// Keeps only the key groups in `key_groups`, as a subtask of a rescaled job holds only its
    /// range. (Flink's heap restore seeks to its key groups in the stream; this one reads the
    /// whole stream and drops the rest, so a rescaled heap restore is timed a little long.)
    pub fn retain_key_groups(&mut self, key_groups: std::ops::Range<u32>) {
        for table in &mut self.tables {
            for (kg, group) in table.iter_mut().enumerate() {
                if !key_groups.contains(&(kg as u32)) {
                    *group = Group::default();
                }
            }
        }
    }

    /// Unexpired logical entries (as a digest counts them) and their payload bytes, without
    /// hashing them: what `statebench workload describe` samples.
    pub fn live_size(&self) -> (u64, u64) {
        let (mut entries, mut bytes) = (0u64, 0u64);
        visit_live(&self.tables, &self.layout, self.now, |_, parts| {
            entries += 1;
            bytes += parts.iter().map(|p| p.len() as u64).sum::<u64>();
        });
        (entries, bytes)
    }

    /// (key, namespace) entries held, expired or not.
    pub fn stored_entries(&self) -> usize {
        self.tables.iter().flatten().map(|g| g.len()).sum()
    }
}

/// Adds every unexpired entry of `tables` at time `now` to a digest.
fn digest_tables(tables: &[StateTable], layout: &StateLayout, now: i64) -> Digest {
    let mut digest = Digest::default();
    visit_live(tables, layout, now, |at, parts| {
        digest.add(at, parts.iter().copied())
    });
    digest
}

/// Calls `visit` with every unexpired logical entry of `tables` at time `now` and its payload
/// parts (one per list element, none for a timer).
fn visit_live(
    tables: &[StateTable],
    layout: &StateLayout,
    now: i64,
    mut visit: impl FnMut(EntryAddress, &[&[u8]]),
) {
    let live = |s: &&Stamped| layout.ttl.is_none_or(|t| !t.expired(s.at, now));
    for (state, table) in tables.iter().enumerate() {
        for group in table {
            for ((key, namespace), object) in group.iter() {
                let at = EntryAddress {
                    state: state as StateId,
                    key: *key,
                    namespace: *namespace,
                    user_key: None,
                };
                match object {
                    StateObject::Value(v) => {
                        if live(&v) {
                            visit(at, &[&v.bytes[..]]);
                        }
                    }
                    StateObject::List(l) => {
                        let elements: Vec<&[u8]> =
                            l.iter().filter(live).map(|e| &e.bytes[..]).collect();
                        if !elements.is_empty() {
                            visit(at, &elements);
                        }
                    }
                    StateObject::Timers(timers) => {
                        for t in timers.iter() {
                            let at = EntryAddress {
                                user_key: Some(*t as u64),
                                ..at
                            };
                            visit(at, &[]);
                        }
                    }
                    StateObject::Map(m) => {
                        for (uk, v) in m.iter().filter(|(_, v)| live(v)) {
                            let at = EntryAddress {
                                user_key: Some(*uk),
                                ..at
                            };
                            visit(at, &[&v.bytes[..]]);
                        }
                    }
                }
            }
        }
    }
}

/// A copy-on-write snapshot of every state table, and the time it was taken at.
struct HeapSnapshot {
    tables: Arc<Vec<StateTable>>,
    layout: StateLayout,
    now: i64,
}

impl StateView for HeapSnapshot {
    fn digest(&self) -> Result<Digest> {
        Ok(digest_tables(&self.tables, &self.layout, self.now))
    }

    fn time(&self) -> i64 {
        self.now
    }
}

/// Writes a snapshot as one full-snapshot stream, key group by key group.
fn write_full_snapshot(
    tables: &[StateTable],
    layout: &StateLayout,
    target: &CheckpointTarget,
) -> Result<UploadResult> {
    let path = target.dir.join(FULL_SNAPSHOT_FILE);
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = StreamWriter::new(file, layout.max_parallelism, &layout.states)?;
    let (mut key, mut value) = (Vec::new(), Vec::new());
    for kg in 0..layout.max_parallelism as usize {
        for (state, table) in tables.iter().enumerate() {
            for (slot, object) in table[kg].iter() {
                key.clear();
                codec::encode_slot(slot, &mut key);
                value.clear();
                codec::encode_object(object, &mut value);
                writer.entry(kg as u32, state as StateId, &key, &value)?;
            }
        }
    }
    let (bytes, _) = writer.finish()?;
    let mut upload = UploadResult::new(SnapshotFormat::Canonical);
    upload.private.insert(FULL_SNAPSHOT_FILE.to_string(), bytes);
    Ok(upload)
}

impl Backend for HeapBackend {
    fn apply(&mut self, op: &StateOp, value: &[u8]) -> Result<Outcome> {
        let state = op.state as usize;
        let key_group = key_group(op.key, self.layout.max_parallelism) as usize;
        let time = AccessTime::new(self.now, self.layout.ttl);
        let outcome = access(&mut self.tables[state][key_group], op, value, time);
        if let Some(ttl) = self.layout.ttl {
            self.cleanup[state].step(&mut self.tables[state], &ttl, self.now);
        }
        Ok(outcome)
    }

    fn set_time(&mut self, now_ms: i64) {
        self.now = now_ms;
    }

    fn snapshot(&mut self, mode: CheckpointMode, _target: &CheckpointTarget) -> Result<AsyncPhase> {
        if mode != CheckpointMode::Full {
            bail!("the heap backend takes full checkpoints only, not {mode}");
        }
        self.savepoint()
    }

    /// Flink's heap checkpoints already are key-group streams: a savepoint is written alike.
    fn savepoint(&mut self) -> Result<AsyncPhase> {
        // Synchronous phase: copy the per-key-group roots; entries stay shared.
        let tables = Arc::new(self.tables.clone());
        let layout = self.layout.clone();
        Ok(Box::new(move |target| {
            write_full_snapshot(&tables, &layout, target)
        }))
    }

    fn view(&self) -> Result<Box<dyn StateView>> {
        Ok(Box::new(HeapSnapshot {
            tables: Arc::new(self.tables.clone()),
            layout: self.layout.clone(),
            now: self.now,
        }))
    }

    fn digest(&self) -> Result<Digest> {
        Ok(digest_tables(&self.tables, &self.layout, self.now))
    }

    fn options_file(&self) -> Option<PathBuf> {
        None
    }

    fn stats(&self) -> Result<Option<StatsSnapshot>> {
        Ok(None)
    }
}
