//! The heap backend's snapshots: what the synchronous phase takes (`HeapSnapshotResources`: a
//! [`MapSnapshot`] per state and key group, a copy of every timer queue) and what the
//! asynchronous phase writes from it.
//!
//! A checkpoint is Flink's heap snapshot layout (`HeapSnapshotStrategy`), one file:
//! ```text
//! header   "SBHS" u32:6 u8:0 (no compression) u32:max_parallelism u16:states
//!          { u16:len name u8:kind u8:namespace-serializer u8:ttl }*
//! body     { u32:key_group { u16:state u32:count entry* }* }*   every key group, every state
//! trailer  u32:crc32(header and body)
//! ```
//! An entry of a value, list or map state is namespace, key, state, as
//! `CopyOnWriteStateMapSnapshot.writeState` writes them; of a timer state, the timer as
//! `TimerSerializer` writes it (`HeapPriorityQueueStateSnapshot`); nothing frames an entry. A
//! key group's map snapshot is released as soon as it is written, as Flink's
//! `writeStateInKeyGroup` does. The header stands in for Flink's
//! `KeyedBackendSerializationProxy` (which holds serializer snapshots instead); the CRC is
//! statebench's, to tell a corrupt file from a good one.
//!
//! A savepoint is the canonical stream (`checkpoint::stream`) written from the same snapshot:
//! key `[key][namespace]` and the serialized state, or for a timer key `[timer]` and no value.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};

use super::codec::{write_key, write_state, write_timer, Input};
use super::cow_map::MapSnapshot;
use super::table::{StateNamespace, StateObject};
use crate::backend::api::StateLayout;
use crate::backend::keygroup::key_group;
use crate::backend::timer_set::Timer;
use crate::checkpoint::stream::{kind_code, StreamWriter, FULL_SNAPSHOT_FILE};
use crate::checkpoint::{CheckpointTarget, SnapshotFormat, UploadResult};
use crate::workload::{StateId, StateKind};

/// The file a heap checkpoint writes, in the checkpoint's directory.
pub(super) const HEAP_SNAPSHOT_FILE: &str = "heap-keyed-state.bin";

const MAGIC: &[u8; 4] = b"SBHS";
/// `KeyedBackendSerializationProxy.VERSION`.
const VERSION: u32 = 6;
/// Bytes buffered before they go to the file (and into the CRC).
const FLUSH_BYTES: usize = 1 << 16;

/// One state as the synchronous phase captured it.
pub(super) enum StateSnapshot {
    /// A map snapshot per key group (None once written and released).
    Table(Vec<Option<MapSnapshot<StateObject>>>),
    /// The timer queue's timers, copied (`toArray`).
    Timers(Vec<Timer>),
}

/// Every state as the synchronous phase captured it.
pub(super) struct HeapSnapshot {
    pub(super) states: Vec<StateSnapshot>,
    pub(super) namespaces: Vec<StateNamespace>,
    pub(super) layout: StateLayout,
    /// The time the snapshot was taken at (for verifying it).
    pub(super) now: i64,
}

/// Timers by key group (`KeyGroupPartitioner`).
fn partition(timers: &[Timer], max_parallelism: u32) -> Vec<Vec<Timer>> {
    let mut groups = vec![Vec::new(); max_parallelism as usize];
    for t in timers {
        groups[key_group(t.key, max_parallelism) as usize].push(*t);
    }
    groups
}

/// A buffered file writer that sums what it writes into a CRC-32.
struct Sink {
    file: BufWriter<File>,
    buffer: Vec<u8>,
    crc: crc32fast::Hasher,
    bytes: u64,
}

impl Sink {
    fn create(path: &Path) -> Result<Sink> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Sink {
            file: BufWriter::new(file),
            buffer: Vec::with_capacity(FLUSH_BYTES * 2),
            crc: crc32fast::Hasher::new(),
            bytes: 0,
        })
    }

    fn flush_if_full(&mut self) -> Result<()> {
        if self.buffer.len() >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.crc.update(&self.buffer);
        self.bytes += self.buffer.len() as u64;
        self.file
            .write_all(&self.buffer)
            .context("writing the heap checkpoint")?;
        self.buffer.clear();
        Ok(())
    }

    /// Writes the CRC trailer and flushes; returns the file's size.
    fn finish(mut self) -> Result<u64> {
        self.flush()?;
        let crc = self.crc.clone().finalize();
        self.file
            .write_all(&crc.to_be_bytes())
            .and_then(|_| self.file.flush())
            .context("writing the heap checkpoint")?;
        Ok(self.bytes + 4)
    }
}

impl HeapSnapshot {
    fn ttl(&self) -> bool {
        self.layout.ttl.is_some()
    }

    /// Every timer state's timers by key group, None for the other states.
    fn partitioned_timers(&self) -> Vec<Option<Vec<Vec<Timer>>>> {
        self.states
            .iter()
            .map(|s| match s {
                StateSnapshot::Timers(t) => Some(partition(t, self.layout.max_parallelism)),
                StateSnapshot::Table(_) => None,
            })
            .collect()
    }

    /// The asynchronous phase of a checkpoint: the heap snapshot layout.
    pub(super) fn write_checkpoint(mut self, target: &CheckpointTarget) -> Result<UploadResult> {
        let path = target.dir.join(HEAP_SNAPSHOT_FILE);
        let mut sink = Sink::create(&path)?;
        let out = &mut sink.buffer;
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.push(0);
        out.extend_from_slice(&self.layout.max_parallelism.to_be_bytes());
        out.extend_from_slice(&(self.layout.states.len() as u16).to_be_bytes());
        for ((name, kind), namespace) in self.layout.states.iter().zip(&self.namespaces) {
            out.extend_from_slice(&(name.len() as u16).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(kind_code(*kind));
            out.push(namespace.code());
            out.push(u8::from(self.ttl()));
        }
        let ttl = self.ttl();
        let max_parallelism = self.layout.max_parallelism;
        let timers = self.partitioned_timers();
        for kg in 0..max_parallelism as usize {
            sink.buffer.extend_from_slice(&(kg as u32).to_be_bytes());
            for (state, snapshot) in self.states.iter_mut().enumerate() {
                sink.buffer
                    .extend_from_slice(&(state as StateId).to_be_bytes());
                match snapshot {
                    StateSnapshot::Table(maps) => {
                        // Written, then released: copy-on-write stops for this key group.
                        let map = maps[kg].take().expect("each key group written once");
                        sink.buffer
                            .extend_from_slice(&(map.len() as u32).to_be_bytes());
                        for (key, namespace, object) in map.iter() {
                            namespace.write_to(&mut sink.buffer);
                            write_key(key, &mut sink.buffer);
                            write_state(object, ttl, &mut sink.buffer);
                            sink.flush_if_full()?;
                        }
                    }
                    StateSnapshot::Timers(_) => {
                        let group = &timers[state].as_ref().expect("partitioned")[kg];
                        sink.buffer
                            .extend_from_slice(&(group.len() as u32).to_be_bytes());
                        for t in group {
                            write_timer(t, &mut sink.buffer);
                            sink.flush_if_full()?;
                        }
                    }
                }
            }
        }
        let bytes = sink.finish()?;
        let mut upload = UploadResult::new(SnapshotFormat::Native);
        upload.private.insert(HEAP_SNAPSHOT_FILE.to_string(), bytes);
        Ok(upload)
    }

    /// The asynchronous phase of a savepoint: the canonical stream.
    pub(super) fn write_savepoint(mut self, target: &CheckpointTarget) -> Result<UploadResult> {
        let path = target.dir.join(FULL_SNAPSHOT_FILE);
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let max_parallelism = self.layout.max_parallelism;
        let mut writer = StreamWriter::new(file, max_parallelism, &self.layout.states)?;
        let ttl = self.ttl();
        let timers = self.partitioned_timers();
        let (mut key, mut value) = (Vec::new(), Vec::new());
        for kg in 0..max_parallelism {
            for (state, snapshot) in self.states.iter_mut().enumerate() {
                match snapshot {
                    StateSnapshot::Table(maps) => {
                        let map = maps[kg as usize].take().expect("each key group once");
                        for (k, namespace, object) in map.iter() {
                            key.clear();
                            write_key(k, &mut key);
                            namespace.write_to(&mut key);
                            value.clear();
                            write_state(object, ttl, &mut value);
                            writer.entry(kg, state as StateId, &key, &value)?;
                        }
                    }
                    StateSnapshot::Timers(_) => {
                        let group = &timers[state].as_ref().expect("partitioned")[kg as usize];
                        for t in group {
                            key.clear();
                            write_timer(t, &mut key);
                            writer.entry(kg, state as StateId, &key, &[])?;
                        }
                    }
                }
            }
        }
        let (bytes, _) = writer.finish()?;
        let mut upload = UploadResult::new(SnapshotFormat::Canonical);
        upload.private.insert(FULL_SNAPSHOT_FILE.to_string(), bytes);
        Ok(upload)
    }
}

/// One entry read back from a heap checkpoint.
pub(super) enum RestoredEntry {
    /// A (key, namespace) → state mapping.
    State(u64, crate::workload::Namespace, StateObject),
    /// A timer.
    Timer(Timer),
}

/// Reads a heap checkpoint (Flink's `HeapRestoreOperation` with `StateTableByKeyGroupReaders`):
/// checks its header against `layout` and its CRC, and hands every entry to `restore` with its
/// state and key group. Returns each state's namespace serializer.
pub(super) fn read_checkpoint(
    path: &Path,
    layout: &StateLayout,
    mut restore: impl FnMut(StateId, u32, RestoredEntry) -> Result<()>,
) -> Result<Vec<StateNamespace>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut read = || -> Result<Vec<StateNamespace>> {
        ensure!(bytes.len() >= 4, "too short for a heap checkpoint");
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let expected = u32::from_be_bytes(crc.try_into().expect("4 bytes"));
        ensure!(
            crc32fast::hash(body) == expected,
            "checksum mismatch: the file is corrupt"
        );
        let mut input = Input::new(body);
        ensure!(input.take(4, "magic")? == MAGIC, "not a heap checkpoint");
        let version = input.u32("version")?;
        ensure!(version == VERSION, "version {version}, expected {VERSION}");
        ensure!(input.u8("compression")? == 0, "compressed key groups");
        let max_parallelism = input.u32("max parallelism")?;
        ensure!(
            max_parallelism == layout.max_parallelism,
            "max parallelism {max_parallelism}, the job has {}",
            layout.max_parallelism
        );
        let states = input.u16("state count")? as usize;
        ensure!(
            states == layout.states.len(),
            "{states} states, the job has {}",
            layout.states.len()
        );
        let mut namespaces = Vec::with_capacity(states);
        for (name, kind) in &layout.states {
            let len = input.u16("state name length")? as usize;
            let stored = input.take(len, "state name")?;
            ensure!(
                stored == name.as_bytes() && input.u8("state kind")? == kind_code(*kind),
                "the checkpoint's states differ from the job's at {name:?}"
            );
            let code = input.u8("namespace serializer")?;
            namespaces.push(
                StateNamespace::from_code(code)
                    .with_context(|| format!("namespace serializer {code} of {name:?}"))?,
            );
            let ttl = input.u8("ttl")? != 0;
            ensure!(
                ttl == layout.ttl.is_some(),
                "state {name:?}: TTL {}, the job's {}",
                if ttl { "on" } else { "off" },
                if layout.ttl.is_some() { "on" } else { "off" }
            );
        }
        for kg in 0..max_parallelism {
            let stored = input.u32("key group")?;
            ensure!(stored == kg, "key group {stored} where {kg} was due");
            for (state, (name, kind)) in layout.states.iter().enumerate() {
                let id = input.u16("state id")?;
                ensure!(id as usize == state, "state {id} where {state} was due");
                let count = input.u32("entry count")?;
                if count == 0 {
                    continue;
                }
                let Some(serializer) = namespaces[state].serializer() else {
                    bail!("state {name:?} has entries but no namespace serializer");
                };
                for _ in 0..count {
                    let entry = if *kind == StateKind::Timer {
                        RestoredEntry::Timer(input.timer(serializer)?)
                    } else {
                        let namespace = input.namespace(serializer)?;
                        let key = input.key()?;
                        let object = input.state(*kind, layout.ttl.is_some())?;
                        RestoredEntry::State(key, namespace, object)
                    };
                    restore(state as StateId, kg, entry)?;
                }
            }
        }
        ensure!(
            input.remaining() == 0,
            "{} bytes after the last key group",
            input.remaining()
        );
        Ok(namespaces)
    };
    read().with_context(|| format!("reading heap checkpoint {}", path.display()))
}
