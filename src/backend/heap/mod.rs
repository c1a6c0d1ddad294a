//! The heap backend: Flink's `HashMapStateBackend`. Per state, one map per key group from
//! (key, namespace) to the state object, as Flink's `StateTable` holds them.
//!
//! Copy-on-write like Flink's `CopyOnWriteStateMap`: the maps are persistent hash tries, so a
//! checkpoint's synchronous phase copies only the per-key-group roots (O(states × key groups),
//! never the entries); a write after a snapshot copies the few trie nodes on its path, and a
//! list or map object that a snapshot still shares is copied before it is mutated, as Flink
//! copies a state object whose version is older than the snapshot's.

use std::collections::HashMap;
use std::fs::File;
use std::hash::BuildHasherDefault;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, ensure, Context, Result};

use super::keygroup::key_group;
use super::{
    read_byte_array, write_byte_array, AsyncPhase, Backend, Digest, EntryAddress, Outcome,
    StateLayout, StateView, SyncSnapshot, FULL_SNAPSHOT_FILE,
};
use crate::checkpoint::stream::{StreamReader, StreamWriter};
use crate::checkpoint::{CheckpointHandle, CheckpointMode, CheckpointTarget, UploadResult};
use crate::workload::{Namespace, OpKind, StateId, StateKind, StateOp};

/// Fixed hasher: same iteration order in every run, so snapshots are reproducible.
type FixedHasher = BuildHasherDefault<std::collections::hash_map::DefaultHasher>;
/// Where an entry lives inside a key group.
type Slot = (u64, Namespace);
/// One key group's entries of one state.
type Group =
    imbl::GenericHashMap<Slot, StateObject, FixedHasher, imbl::shared_ptr::DefaultSharedPtr>;
/// One state: a map per key group.
type StateTable = Vec<Group>;

/// A state object as the heap backend keeps it: not serialized.
#[derive(Clone, Debug)]
enum StateObject {
    Value(Arc<[u8]>),
    List(Arc<Vec<Arc<[u8]>>>),
    Map(Arc<HashMap<u64, Arc<[u8]>>>),
    /// Timer timestamps of one (key, namespace), sorted (a heap priority queue set's elements).
    Timers(Arc<Vec<i64>>),
}

/// Flink's heap keyed state backend.
pub struct HeapBackend {
    layout: StateLayout,
    tables: Vec<StateTable>,
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
            let slot = decode_slot(e.key)?;
            let kind = layout.states[e.state as usize].1;
            let object = decode_object(kind, e.value)?;
            let group = backend.tables[e.state as usize]
                .get_mut(e.key_group as usize)
                .context("checkpoint entry in a key group out of range")?;
            group.insert(slot, object);
        }
        Ok(backend)
    }
}

fn encode_slot(slot: &Slot, out: &mut Vec<u8>) {
    out.extend_from_slice(&slot.0.to_be_bytes());
    slot.1.write_to(out);
}

fn decode_slot(bytes: &[u8]) -> Result<Slot> {
    let corrupt = || anyhow::anyhow!("corrupt heap checkpoint key");
    let key = u64::from_be_bytes(bytes.get(..8).ok_or_else(corrupt)?.try_into()?);
    let namespace = Namespace::read_from(&bytes[8..]).ok_or_else(corrupt)?;
    Ok((key, namespace))
}

/// Serializes a state object: value = bytes; list = count + byte arrays; map = count +
/// (user key, byte array) pairs; timers = count + timestamps.
fn encode_object(object: &StateObject, out: &mut Vec<u8>) {
    match object {
        StateObject::Value(v) => out.extend_from_slice(v),
        StateObject::List(list) => {
            out.extend_from_slice(&(list.len() as u32).to_be_bytes());
            for e in list.iter() {
                write_byte_array(out, e);
            }
        }
        StateObject::Map(map) => {
            out.extend_from_slice(&(map.len() as u32).to_be_bytes());
            for (uk, v) in map.iter() {
                out.extend_from_slice(&uk.to_be_bytes());
                write_byte_array(out, v);
            }
        }
        StateObject::Timers(timers) => {
            out.extend_from_slice(&(timers.len() as u32).to_be_bytes());
            for t in timers.iter() {
                out.extend_from_slice(&t.to_be_bytes());
            }
        }
    }
}

fn decode_object(kind: StateKind, bytes: &[u8]) -> Result<StateObject> {
    let corrupt = || anyhow::anyhow!("corrupt heap checkpoint value");
    if kind == StateKind::Value {
        return Ok(StateObject::Value(bytes.into()));
    }
    let count = u32::from_be_bytes(bytes.get(..4).ok_or_else(corrupt)?.try_into()?);
    let mut rest = &bytes[4..];
    match kind {
        StateKind::List => {
            let mut list = Vec::with_capacity(count.min(1 << 20) as usize);
            for _ in 0..count {
                let (e, r) = read_byte_array(rest).ok_or_else(corrupt)?;
                list.push(e.into());
                rest = r;
            }
            Ok(StateObject::List(Arc::new(list)))
        }
        StateKind::Timer => {
            let timers: Vec<i64> = rest
                .chunks_exact(8)
                .map(|c| i64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect();
            ensure!(
                timers.len() == count as usize && rest.len() == 8 * timers.len(),
                "corrupt heap checkpoint timers"
            );
            Ok(StateObject::Timers(Arc::new(timers)))
        }
        _ => {
            let mut map = HashMap::with_capacity(count.min(1 << 20) as usize);
            for _ in 0..count {
                let uk = u64::from_be_bytes(rest.get(..8).ok_or_else(corrupt)?.try_into()?);
                let (v, r) = read_byte_array(&rest[8..]).ok_or_else(corrupt)?;
                map.insert(uk, v.into());
                rest = r;
            }
            Ok(StateObject::Map(Arc::new(map)))
        }
    }
}

/// Adds every entry of `tables` to a digest.
fn digest_tables(tables: &[StateTable]) -> Digest {
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
                    StateObject::Value(v) => digest.add(at, [&v[..]]),
                    StateObject::List(l) => digest.add(at, l.iter().map(|e| &e[..])),
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
                        for (uk, v) in m.iter() {
                            let at = EntryAddress {
                                user_key: Some(*uk),
                                ..at
                            };
                            digest.add(at, [&v[..]]);
                        }
                    }
                }
            }
        }
    }
    digest
}

/// A copy-on-write snapshot of every state table.
struct HeapSnapshot {
    tables: Arc<Vec<StateTable>>,
}

impl StateView for HeapSnapshot {
    fn digest(&self) -> Result<Digest> {
        Ok(digest_tables(&self.tables))
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
                encode_slot(slot, &mut key);
                value.clear();
                encode_object(object, &mut value);
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
        let kg = key_group(op.key, self.layout.max_parallelism) as usize;
        let group = &mut self.tables[op.state as usize][kg];
        let slot = (op.key, op.namespace);
        let found = |items: u32, bytes: usize| Outcome {
            found: true,
            items,
            bytes: bytes as u64,
        };
        Ok(match op.kind {
            OpKind::ValueGet => match group.get(&slot) {
                Some(StateObject::Value(v)) => found(1, v.len()),
                _ => Outcome::default(),
            },
            OpKind::ValuePut(_) => {
                group.insert(slot, StateObject::Value(value.into()));
                Outcome::default()
            }
            OpKind::ListGet => match group.get(&slot) {
                Some(StateObject::List(l)) => {
                    found(l.len() as u32, l.iter().map(|e| e.len()).sum())
                }
                _ => Outcome::default(),
            },
            OpKind::ListAdd(_) => {
                match group.get_mut(&slot) {
                    Some(StateObject::List(l)) => Arc::make_mut(l).push(value.into()),
                    _ => {
                        group.insert(slot, StateObject::List(Arc::new(vec![value.into()])));
                    }
                }
                Outcome::default()
            }
            OpKind::ListUpdate(_) => {
                group.insert(slot, StateObject::List(Arc::new(vec![value.into()])));
                Outcome::default()
            }
            OpKind::ValueClear | OpKind::ListClear | OpKind::MapClear => {
                group.remove(&slot);
                Outcome::default()
            }
            OpKind::MapGet(uk) | OpKind::MapContains(uk) => match group.get(&slot) {
                Some(StateObject::Map(m)) => match m.get(&uk) {
                    Some(v) if matches!(op.kind, OpKind::MapGet(_)) => found(1, v.len()),
                    Some(_) => found(1, 0),
                    None => Outcome::default(),
                },
                _ => Outcome::default(),
            },
            OpKind::MapPut(uk, _) => {
                match group.get_mut(&slot) {
                    Some(StateObject::Map(m)) => {
                        Arc::make_mut(m).insert(uk, value.into());
                    }
                    _ => {
                        let map = HashMap::from([(uk, Arc::<[u8]>::from(value))]);
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
            OpKind::MapIterate => match group.get(&slot) {
                Some(StateObject::Map(m)) => {
                    found(m.len() as u32, m.values().map(|v| v.len()).sum())
                }
                _ => Outcome::default(),
            },
        })
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
            view: Box::new(HeapSnapshot { tables }),
        })
    }

    fn digest(&self) -> Result<Digest> {
        Ok(digest_tables(&self.tables))
    }

    fn options_file(&self) -> Option<PathBuf> {
        None
    }
}
