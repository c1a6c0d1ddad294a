//! `state.backend.rocksdb.timer-service.factory: HEAP`: event-time timers in heap priority queue
//! sets beside RocksDB (`HeapPriorityQueueSetFactory`), one [`TimerHeapSet`] per timer state.
//!
//! How Flink snapshots them (`RocksDBKeyedStateBackend.requiresLegacySynchronousTimerSnapshots`):
//! - checkpoints: the operator writes every timer into its *raw keyed state* during the
//!   synchronous phase, before the keyed state backend's own snapshot
//!   (`InternalTimeServiceManagerImpl.snapshotToRawKeyedState`): per key group an
//!   `InternalTimerServiceSerializationProxy` (version 2) with, per timer service, its name, the
//!   key and namespace serializer snapshots and the timers (key, namespace, timestamp), written
//!   straight into a file of the checkpoint. [`HeapTimers::write_raw_keyed_state`] does that,
//!   on the operator thread, inside the timed sync phase.
//! - savepoints: the queues are states of the full snapshot (`RocksFullSnapshotStrategy` with the
//!   `HeapPriorityQueueSnapshotRestoreWrapper`s): the sync phase copies each heap array
//!   ([`HeapTimers::copy`]), the async phase writes the copy per key group in RocksDB's timer key
//!   form (`[key group][timestamp ^ sign bit][key][namespace]`) into the canonical stream.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{anyhow, bail, ensure, Context, Result};

use super::layout::KeyBuilder;
use super::profile::TimerFactory;
use crate::backend::api::StateLayout;
use crate::backend::digest::{Digest, EntryAddress};
use crate::backend::keygroup::{key_group, key_group_prefix_bytes};
use crate::backend::timer_set::{Timer, TimerHeapSet};
use crate::checkpoint::stream::StreamWriter;
use crate::workload::{Namespace, OpKind, StateId, StateKind, StateOp};

/// Name of the checkpoint file holding the operator's raw keyed state (the heap timers).
pub(super) const HEAP_TIMERS_FILE: &str = "raw-keyed-state-timers";

/// `state.storage.fs.write-buffer-size`: the buffer of Flink's checkpoint file streams.
const CHECKPOINT_STREAM_BUFFER: usize = 4096;

/// `PostVersionedIOReadableWritable.VERSIONED_IDENTIFIER`.
const VERSIONED_IDENTIFIER: [u8; 4] = [0xF1, 0xCD, 0x85, 0x9F];
/// `InternalTimerServiceSerializationProxy.VERSION`.
const PROXY_VERSION: i32 = 2;
/// `TypeSerializerSnapshotSerializationProxy`'s version, written before each serializer snapshot.
const SNAPSHOT_PROXY_VERSION: i32 = 2;
/// `SimpleTypeSerializerSnapshot`'s version.
const SIMPLE_SNAPSHOT_VERSION: i32 = 3;
/// The key serializer's snapshot (keys are `Long`).
const KEY_SERIALIZER: &str =
    "org.apache.flink.api.common.typeutils.base.LongSerializer$LongSerializerSnapshot";
/// The prefix of a timer state's name before its timer service's name.
const EVENT_TIMER_PREFIX: &str = "_timer_state/event_";

/// The namespace serializers timers use, by the snapshot class Flink writes for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NamespaceSerializer {
    Void,
    Window,
    String,
}

impl NamespaceSerializer {
    const ALL: [NamespaceSerializer; 3] = [
        NamespaceSerializer::Void,
        NamespaceSerializer::Window,
        NamespaceSerializer::String,
    ];

    fn of(namespace: Namespace) -> NamespaceSerializer {
        match namespace {
            Namespace::Void => NamespaceSerializer::Void,
            Namespace::Window { .. } => NamespaceSerializer::Window,
            Namespace::CleanupLeft | Namespace::CleanupRight => NamespaceSerializer::String,
        }
    }

    fn snapshot_class(self) -> &'static str {
        match self {
            NamespaceSerializer::Void => {
                "org.apache.flink.runtime.state.VoidNamespaceSerializer$VoidNamespaceSerializerSnapshot"
            }
            NamespaceSerializer::Window => {
                "org.apache.flink.streaming.api.windowing.windows.TimeWindow$Serializer$TimeWindowSerializerSnapshot"
            }
            NamespaceSerializer::String => {
                "org.apache.flink.api.common.typeutils.base.StringSerializer$StringSerializerSnapshot"
            }
        }
    }

    /// Serialized length of the namespace starting at `bytes`.
    fn length(self, bytes: &[u8]) -> Option<usize> {
        match self {
            NamespaceSerializer::Void => Some(1),
            NamespaceSerializer::Window => Some(16),
            // ASCII names: one varint byte holding length + 1.
            NamespaceSerializer::String => Some(*bytes.first()? as usize),
        }
    }
}

/// The heap timer queues of every timer state (None for the other states, or with ROCKSDB
/// timers).
#[derive(Debug, Default)]
pub(super) struct HeapTimers {
    sets: Vec<Option<TimerHeapSet>>,
    names: Vec<String>,
    max_parallelism: u32,
}

/// The timers of every heap timer state copied in a sync phase, in heap-array order.
#[derive(Clone, Debug, Default)]
pub(super) struct TimerCopy {
    states: Vec<Option<Vec<Timer>>>,
    max_parallelism: u32,
}

impl HeapTimers {
    pub(super) fn new(layout: &StateLayout, factory: TimerFactory) -> HeapTimers {
        HeapTimers {
            sets: layout
                .states
                .iter()
                .map(|(_, kind)| {
                    (factory == TimerFactory::Heap && *kind == StateKind::Timer)
                        .then(|| TimerHeapSet::new(layout.max_parallelism))
                })
                .collect(),
            names: layout.states.iter().map(|(n, _)| n.clone()).collect(),
            max_parallelism: layout.max_parallelism,
        }
    }

    /// Whether any state's timers live here.
    pub(super) fn any(&self) -> bool {
        self.sets.iter().any(Option::is_some)
    }

    /// Whether `state`'s timers live here rather than in RocksDB.
    pub(super) fn holds(&self, state: StateId) -> bool {
        matches!(self.sets.get(state as usize), Some(Some(_)))
    }

    /// Registers or deletes a timer; false if the op is not one of these queues'.
    pub(super) fn apply(&mut self, op: &StateOp) -> bool {
        let Some(Some(set)) = self.sets.get_mut(op.state as usize) else {
            return false;
        };
        match op.kind {
            OpKind::TimerRegister(timestamp) => {
                set.add(Timer {
                    timestamp,
                    key: op.key,
                    namespace: op.namespace,
                });
            }
            OpKind::TimerDelete(timestamp) => {
                set.remove(&Timer {
                    timestamp,
                    key: op.key,
                    namespace: op.namespace,
                });
            }
            _ => return false,
        }
        true
    }

    /// Keeps only the timers of the key groups in `key_groups` (a rescaled subtask's range).
    pub(super) fn retain_key_groups(&mut self, key_groups: &std::ops::Range<u32>) {
        for set in self.sets.iter_mut().flatten() {
            let mut kept = TimerHeapSet::new(self.max_parallelism);
            for kg in key_groups.clone() {
                for timer in set.key_group(kg) {
                    kept.add(*timer);
                }
            }
            *set = kept;
        }
    }

    /// Adds every timer to a digest, as the RocksDB timer rows are added.
    pub(super) fn digest_into(&self, digest: &mut Digest) {
        for (state, set) in self.sets.iter().enumerate() {
            let Some(set) = set else { continue };
            for kg in 0..self.max_parallelism {
                for timer in set.key_group(kg) {
                    add_to_digest(digest, state as StateId, timer);
                }
            }
        }
    }

    /// Every timer as (state, timestamp, key, namespace), unordered.
    pub(super) fn list(&self) -> Vec<(StateId, i64, u64, Namespace)> {
        let mut out = Vec::new();
        for (state, set) in self.sets.iter().enumerate() {
            for t in set.iter().flat_map(TimerHeapSet::to_vec) {
                out.push((state as StateId, t.timestamp, t.key, t.namespace));
            }
        }
        out
    }

    /// The sync phase of a savepoint's heap queues: a copy of each heap array.
    pub(super) fn copy(&self) -> TimerCopy {
        TimerCopy {
            states: self
                .sets
                .iter()
                .map(|s| s.as_ref().map(TimerHeapSet::to_vec))
                .collect(),
            max_parallelism: self.max_parallelism,
        }
    }

    /// Adds a timer read back from its RocksDB key form (a canonical savepoint).
    pub(super) fn insert_key(&mut self, state: StateId, key: &[u8]) -> Result<()> {
        let prefix = key_group_prefix_bytes(self.max_parallelism);
        let corrupt = || anyhow!("corrupt heap timer in a savepoint");
        let long = |range: std::ops::Range<usize>| -> Result<u64> {
            Ok(u64::from_be_bytes(
                key.get(range).ok_or_else(corrupt)?.try_into()?,
            ))
        };
        let timestamp = (long(prefix..prefix + 8)? ^ (1 << 63)) as i64;
        let k = long(prefix + 8..prefix + 16)?;
        let namespace = Namespace::read_from(&key[prefix + 16..]).ok_or_else(corrupt)?;
        let set = self
            .sets
            .get_mut(state as usize)
            .and_then(Option::as_mut)
            .ok_or_else(corrupt)?;
        set.add(Timer {
            timestamp,
            key: k,
            namespace,
        });
        Ok(())
    }

    /// Writes every timer as the operator's raw keyed state into `path` (the checkpoint sync
    /// phase): per key group `InternalTimerServiceSerializationProxy.write`, through a 4 KiB
    /// buffered checkpoint stream. Returns the bytes written.
    pub(super) fn write_raw_keyed_state(&self, path: &Path) -> Result<u64> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = BufWriter::with_capacity(CHECKPOINT_STREAM_BUFFER, file);
        let services: Vec<(&str, &TimerHeapSet)> = self
            .sets
            .iter()
            .zip(&self.names)
            .filter_map(|(set, name)| Some((service_name(name), set.as_ref()?)))
            .collect();
        let mut bytes = 0u64;
        let mut buf = Vec::with_capacity(CHECKPOINT_STREAM_BUFFER);
        for kg in 0..self.max_parallelism {
            buf.clear();
            buf.extend_from_slice(&VERSIONED_IDENTIFIER);
            buf.extend_from_slice(&PROXY_VERSION.to_be_bytes());
            buf.extend_from_slice(&(services.len() as i32).to_be_bytes());
            for (name, set) in &services {
                write_utf(&mut buf, name);
                let namespace = set.peek().map_or(NamespaceSerializer::Void, |t| {
                    NamespaceSerializer::of(t.namespace)
                });
                write_serializer_snapshot(&mut buf, KEY_SERIALIZER);
                write_serializer_snapshot(&mut buf, namespace.snapshot_class());
                // Event-time timers of the key group (`LegacyTimerSerializer`: key, namespace,
                // timestamp), then the (empty) processing-time queue.
                buf.extend_from_slice(&(set.key_group(kg).count() as i32).to_be_bytes());
                for timer in set.key_group(kg) {
                    buf.extend_from_slice(&timer.key.to_be_bytes());
                    timer.namespace.write_to(&mut buf);
                    buf.extend_from_slice(&timer.timestamp.to_be_bytes());
                }
                buf.extend_from_slice(&0i32.to_be_bytes());
            }
            out.write_all(&buf)?;
            bytes += buf.len() as u64;
        }
        out.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(bytes)
    }

    /// Restores the timers a checkpoint's raw keyed state holds (`restoreStateForKeyGroup`).
    pub(super) fn read_raw_keyed_state(&mut self, path: &Path) -> Result<()> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut bytes = Vec::new();
        BufReader::new(file).read_to_end(&mut bytes)?;
        let mut r = Reader {
            bytes: &bytes,
            at: 0,
        };
        let context = || format!("reading the heap timers of {}", path.display());
        for _ in 0..self.max_parallelism {
            self.read_key_group(&mut r).with_context(context)?;
        }
        ensure!(
            r.at == bytes.len(),
            "{}: bytes after the last key group",
            context()
        );
        Ok(())
    }

    fn read_key_group(&mut self, r: &mut Reader<'_>) -> Result<()> {
        ensure!(
            r.take(4)? == VERSIONED_IDENTIFIER,
            "not a versioned timer proxy"
        );
        ensure!(r.int()? == PROXY_VERSION, "unknown timer proxy version");
        for _ in 0..r.int()? {
            let name = r.utf()?;
            let state = self
                .names
                .iter()
                .position(|n| service_name(n) == name && n.starts_with(EVENT_TIMER_PREFIX))
                .filter(|s| self.holds(*s as StateId))
                .ok_or_else(|| anyhow!("unknown timer service {name:?}"))?;
            ensure!(
                r.serializer_snapshot()? == KEY_SERIALIZER,
                "unknown key serializer"
            );
            let class = r.serializer_snapshot()?;
            let serializer = NamespaceSerializer::ALL
                .into_iter()
                .find(|s| s.snapshot_class() == class)
                .ok_or_else(|| anyhow!("unknown namespace serializer {class}"))?;
            let set = self.sets[state].as_mut().expect("held");
            for _ in 0..r.int()? {
                let key = r.long()?;
                let len = serializer
                    .length(&r.bytes[r.at..])
                    .ok_or_else(|| anyhow!("truncated namespace"))?;
                let namespace = Namespace::read_from(r.take(len)?)
                    .ok_or_else(|| anyhow!("corrupt namespace"))?;
                let timestamp = r.long()? as i64;
                set.add(Timer {
                    timestamp,
                    key,
                    namespace,
                });
            }
            if r.int()? != 0 {
                bail!("processing-time timers are not modelled");
            }
        }
        Ok(())
    }
}

impl TimerCopy {
    /// Partitions each state's copy by key group (`KeyGroupPartitioner`, the async phase's
    /// first step): per state, per key group, the timers in array order.
    pub(super) fn partition(&self) -> Vec<Option<Vec<Vec<Timer>>>> {
        self.states
            .iter()
            .map(|timers| {
                let timers = timers.as_ref()?;
                let mut groups = vec![Vec::new(); self.max_parallelism as usize];
                for t in timers {
                    groups[key_group(t.key, self.max_parallelism) as usize].push(*t);
                }
                Some(groups)
            })
            .collect()
    }

    /// Adds every copied timer to a digest.
    pub(super) fn digest_into(&self, digest: &mut Digest) {
        for (state, timers) in self.states.iter().enumerate() {
            for timer in timers.iter().flatten() {
                add_to_digest(digest, state as StateId, timer);
            }
        }
    }
}

/// Writes key group `kg`'s timers of a partitioned copy into a snapshot stream, in RocksDB's
/// timer key form (`TimerSerializer` after the key-group prefix), as Flink's full snapshot does.
pub(super) fn write_key_group<W: Write>(
    timers: &[Timer],
    state: StateId,
    kg: u32,
    max_parallelism: u32,
    writer: &mut StreamWriter<W>,
) -> Result<()> {
    let mut keys = KeyBuilder::new(max_parallelism);
    for t in timers {
        keys.set_timer(t.timestamp, t.key, t.namespace);
        writer.entry(kg, state, keys.bytes(), &[])?;
    }
    Ok(())
}

fn add_to_digest(digest: &mut Digest, state: StateId, timer: &Timer) {
    let at = EntryAddress {
        state,
        key: timer.key,
        namespace: timer.namespace,
        user_key: Some(timer.timestamp as u64),
    };
    digest.add(at, []);
}

/// The timer service's name: the timer state's name without `_timer_state/event_`.
fn service_name(state: &str) -> &str {
    state.strip_prefix(EVENT_TIMER_PREFIX).unwrap_or(state)
}

/// `DataOutput.writeUTF` of ASCII text: a 2-byte length, then the bytes.
fn write_utf(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u16).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// `TypeSerializerSnapshotSerializationUtil.writeSerializerSnapshot` of a snapshot without
/// content: the proxy's version, the snapshot's class name and version.
fn write_serializer_snapshot(out: &mut Vec<u8>, class: &str) {
    out.extend_from_slice(&SNAPSHOT_PROXY_VERSION.to_be_bytes());
    write_utf(out, class);
    out.extend_from_slice(&SIMPLE_SNAPSHOT_VERSION.to_be_bytes());
}

/// Reads what the writer above wrote.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let out = self
            .bytes
            .get(self.at..self.at + n)
            .ok_or_else(|| anyhow!("truncated at byte {}", self.at))?;
        self.at += n;
        Ok(out)
    }

    fn int(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into()?))
    }

    fn long(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into()?))
    }

    fn utf(&mut self) -> Result<&'a str> {
        let len = u16::from_be_bytes(self.take(2)?.try_into()?) as usize;
        Ok(std::str::from_utf8(self.take(len)?)?)
    }

    fn serializer_snapshot(&mut self) -> Result<&'a str> {
        ensure!(
            self.int()? == SNAPSHOT_PROXY_VERSION,
            "unknown serializer snapshot proxy version"
        );
        let class = self.utf()?;
        ensure!(
            self.int()? == SIMPLE_SNAPSHOT_VERSION,
            "unknown serializer snapshot version"
        );
        Ok(class)
    }
}
