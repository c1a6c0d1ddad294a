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

mod codec;
mod ttl;

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, ensure, Context, Result};

use super::keygroup::key_group;
use super::{
    AsyncPhase, Backend, Digest, EntryAddress, Outcome, StateLayout, StateView, StatsSnapshot,
    SyncSnapshot, FULL_SNAPSHOT_FILE,
};
use crate::checkpoint::stream::{StreamReader, StreamWriter};
use crate::checkpoint::{CheckpointHandle, CheckpointMode, CheckpointTarget, UploadResult};
use crate::workload::{Namespace, OpKind, StateId, StateOp, TtlUpdate};
use ttl::Cleanup;

/// Where an entry lives inside a key group.
type Slot = (u64, Namespace);
/// One key group's entries of one state, ordered (so cleanup can resume where it stopped).
type Group = imbl::OrdMap<Slot, StateObject>;
/// One state: a map per key group.
type StateTable = Vec<Group>;

/// A value with the time it was last written (or, with `OnReadAndWrite`, read).
#[derive(Clone, Debug)]
struct Stamped {
    at: i64,
    bytes: Arc<[u8]>,
}

/// A state object as the heap backend keeps it: not serialized.
#[derive(Clone, Debug)]
enum StateObject {
    Value(Stamped),
    List(Arc<Vec<Stamped>>),
    Map(Arc<HashMap<u64, Stamped>>),
    /// Timer timestamps of one (key, namespace), sorted (a heap priority queue set's elements).
    Timers(Arc<Vec<i64>>),
}

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

    /// Rebuilds the state of a full checkpoint.
    pub fn restore(layout: &StateLayout, handle: &CheckpointHandle) -> Result<HeapBackend> {
        ensure!(
            handle.mode == CheckpointMode::Full,
            "the heap backend restores full checkpoints only, not {}",
            handle.mode
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

    /// (key, namespace) entries held, expired or not.
    pub fn stored_entries(&self) -> usize {
        self.tables.iter().flatten().map(|g| g.len()).sum()
    }

    /// Applies a read or write to one state object, honouring TTL.
    fn access(&mut self, op: &StateOp, value: &[u8]) -> Outcome {
        let ttl = self
            .layout
            .ttl
            .filter(|_| !matches!(op.kind, OpKind::TimerRegister(_) | OpKind::TimerDelete(_)));
        let now = self.now;
        let expired = |s: &Stamped| ttl.is_some_and(|t| t.expired(s.at, now));
        let refresh = ttl.is_some_and(|t| t.update_type == TtlUpdate::OnReadAndWrite);
        let stamped = || Stamped {
            at: now,
            bytes: value.into(),
        };
        let kg = key_group(op.key, self.layout.max_parallelism) as usize;
        let group = &mut self.tables[op.state as usize][kg];
        let slot = (op.key, op.namespace);
        let found = |items: u32, bytes: usize| Outcome {
            found: true,
            items,
            bytes: bytes as u64,
        };
        match op.kind {
            OpKind::ValueGet => match group.get_mut(&slot) {
                Some(StateObject::Value(v)) if !expired(v) => {
                    if refresh {
                        v.at = now;
                    }
                    found(1, v.bytes.len())
                }
                Some(StateObject::Value(_)) => {
                    group.remove(&slot);
                    Outcome::default()
                }
                _ => Outcome::default(),
            },
            OpKind::ValuePut(_) => {
                group.insert(slot, StateObject::Value(stamped()));
                Outcome::default()
            }
            OpKind::ListGet => {
                let (outcome, now_empty) = match group.get_mut(&slot) {
                    Some(StateObject::List(l)) => {
                        if l.iter().any(expired) || refresh {
                            let list = Arc::make_mut(l);
                            list.retain(|e| !expired(e));
                            if refresh {
                                list.iter_mut().for_each(|e| e.at = now);
                            }
                        }
                        let outcome = match l.len() {
                            0 => Outcome::default(),
                            n => found(n as u32, l.iter().map(|e| e.bytes.len()).sum()),
                        };
                        (outcome, l.is_empty())
                    }
                    _ => (Outcome::default(), false),
                };
                if now_empty {
                    group.remove(&slot);
                }
                outcome
            }
            OpKind::ListAdd(_) => {
                match group.get_mut(&slot) {
                    Some(StateObject::List(l)) => Arc::make_mut(l).push(stamped()),
                    _ => {
                        group.insert(slot, StateObject::List(Arc::new(vec![stamped()])));
                    }
                }
                Outcome::default()
            }
            OpKind::ListUpdate(_) => {
                group.insert(slot, StateObject::List(Arc::new(vec![stamped()])));
                Outcome::default()
            }
            OpKind::ValueClear | OpKind::ListClear | OpKind::MapClear => {
                group.remove(&slot);
                Outcome::default()
            }
            OpKind::MapGet(uk) | OpKind::MapContains(uk) => {
                let (outcome, now_empty) = match group.get_mut(&slot) {
                    Some(StateObject::Map(m)) => match m.get(&uk) {
                        Some(v) if expired(v) => {
                            let map = Arc::make_mut(m);
                            map.remove(&uk);
                            (Outcome::default(), map.is_empty())
                        }
                        Some(v) => {
                            let bytes = match op.kind {
                                OpKind::MapGet(_) => v.bytes.len(),
                                _ => 0,
                            };
                            if refresh {
                                if let Some(v) = Arc::make_mut(m).get_mut(&uk) {
                                    v.at = now;
                                }
                            }
                            (found(1, bytes), false)
                        }
                        None => (Outcome::default(), false),
                    },
                    _ => (Outcome::default(), false),
                };
                if now_empty {
                    group.remove(&slot);
                }
                outcome
            }
            OpKind::MapPut(uk, _) => {
                match group.get_mut(&slot) {
                    Some(StateObject::Map(m)) => {
                        Arc::make_mut(m).insert(uk, stamped());
                    }
                    _ => {
                        let map = HashMap::from([(uk, stamped())]);
                        group.insert(slot, StateObject::Map(Arc::new(map)));
                    }
                }
                Outcome::default()
            }
            OpKind::MapRemove(uk) => {
                let now_empty = match group.get_mut(&slot) {
                    Some(StateObject::Map(m)) => {
                        let map = Arc::make_mut(m);
                        map.remove(&uk);
                        map.is_empty()
                    }
                    _ => false,
                };
                // Flink's heap MapState removes the (key, namespace) entry when its map is empty.
                if now_empty {
                    group.remove(&slot);
                }
                Outcome::default()
            }
            OpKind::MapIterate => {
                let (outcome, now_empty) = match group.get_mut(&slot) {
                    Some(StateObject::Map(m)) => {
                        if m.values().any(expired) || refresh {
                            let map = Arc::make_mut(m);
                            map.retain(|_, v| !expired(v));
                            if refresh {
                                map.values_mut().for_each(|v| v.at = now);
                            }
                        }
                        let outcome = match m.len() {
                            0 => Outcome::default(),
                            n => found(n as u32, m.values().map(|v| v.bytes.len()).sum()),
                        };
                        (outcome, m.is_empty())
                    }
                    _ => (Outcome::default(), false),
                };
                if now_empty {
                    group.remove(&slot);
                }
                outcome
            }
            OpKind::TimerRegister(ts) => {
                match group.get_mut(&slot) {
                    Some(StateObject::Timers(t)) => {
                        if let Err(at) = t.binary_search(&ts) {
                            Arc::make_mut(t).insert(at, ts);
                        }
                    }
                    _ => {
                        group.insert(slot, StateObject::Timers(Arc::new(vec![ts])));
                    }
                }
                Outcome::default()
            }
            OpKind::TimerDelete(ts) => {
                let now_empty = match group.get_mut(&slot) {
                    Some(StateObject::Timers(t)) => {
                        if let Ok(at) = t.binary_search(&ts) {
                            Arc::make_mut(t).remove(at);
                        }
                        t.is_empty()
                    }
                    _ => false,
                };
                if now_empty {
                    group.remove(&slot);
                }
                Outcome::default()
            }
        }
    }
}

/// Adds every unexpired entry of `tables` at time `now` to a digest.
fn digest_tables(tables: &[StateTable], layout: &StateLayout, now: i64) -> Digest {
    let live = |s: &&Stamped| layout.ttl.is_none_or(|t| !t.expired(s.at, now));
    let mut digest = Digest::default();
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
                            digest.add(at, [&v.bytes[..]]);
                        }
                    }
                    StateObject::List(l) => {
                        let elements: Vec<&[u8]> =
                            l.iter().filter(live).map(|e| &e.bytes[..]).collect();
                        if !elements.is_empty() {
                            digest.add(at, elements);
                        }
                    }
                    StateObject::Timers(timers) => {
                        for t in timers.iter() {
                            let at = EntryAddress {
                                user_key: Some(*t as u64),
                                ..at
                            };
                            digest.add(at, []);
                        }
                    }
                    StateObject::Map(m) => {
                        for (uk, v) in m.iter().filter(|(_, v)| live(v)) {
                            let at = EntryAddress {
                                user_key: Some(*uk),
                                ..at
                            };
                            digest.add(at, [&v.bytes[..]]);
                        }
                    }
                }
            }
        }
    }
    digest
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
    let mut upload = UploadResult::default();
    upload.private.insert(FULL_SNAPSHOT_FILE.to_string(), bytes);
    Ok(upload)
}

impl Backend for HeapBackend {
    fn apply(&mut self, op: &StateOp, value: &[u8]) -> Result<Outcome> {
        let outcome = self.access(op, value);
        if let Some(ttl) = self.layout.ttl {
            let state = op.state as usize;
            self.cleanup[state].step(&mut self.tables[state], &ttl, self.now);
        }
        Ok(outcome)
    }

    fn set_time(&mut self, now_ms: i64) {
        self.now = now_ms;
    }

    fn snapshot(&mut self, mode: CheckpointMode) -> Result<SyncSnapshot> {
        if mode != CheckpointMode::Full {
            bail!("the heap backend takes full checkpoints only, not {mode}");
        }
        // Synchronous phase: copy the per-key-group roots; entries stay shared.
        let tables = Arc::new(self.tables.clone());
        let layout = self.layout.clone();
        let captured = Arc::clone(&tables);
        let async_phase: AsyncPhase =
            Box::new(move |target| write_full_snapshot(&captured, &layout, target));
        Ok(SyncSnapshot {
            async_phase,
            view: Box::new(HeapSnapshot {
                tables,
                layout: self.layout.clone(),
                now: self.now,
            }),
        })
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
