//! `state.backend.rocksdb.timer-service.factory: HEAP`: event-time timers kept in heap priority
//! queues beside RocksDB instead of in column families. Checkpoints carry them in Flink's RocksDB
//! timer key form (`[key group][timestamp ^ sign bit][key][namespace]`): inside the full-snapshot
//! stream, or as a file of their own beside an incremental checkpoint.

use std::fs::File;
use std::ops::Bound;
use std::path::Path;

use anyhow::{anyhow, Context, Result};

use super::layout::KeyBuilder;
use super::profile::TimerFactory;
use crate::backend::api::StateLayout;
use crate::backend::digest::{Digest, EntryAddress};
use crate::backend::keygroup::{key_group, key_group_prefix_bytes};
use crate::checkpoint::stream::{StreamReader, StreamWriter};
use crate::workload::{Namespace, OpKind, StateId, StateKind, StateOp};

/// One state's timers: (key group, timestamp, key, namespace), ordered.
type TimerSet = imbl::OrdSet<(u16, i64, u64, Namespace)>;

/// Name of the file an incremental checkpoint keeps heap timers in.
pub(super) const HEAP_TIMERS_FILE: &str = "heap-timers.bin";

/// The heap timer queues of every timer state (None for the other states, or with ROCKSDB
/// timers). Cloning is cheap: the sets are persistent.
#[derive(Clone, Debug, Default)]
pub(super) struct HeapTimers {
    sets: Vec<Option<TimerSet>>,
    max_parallelism: u32,
}

impl HeapTimers {
    pub(super) fn new(layout: &StateLayout, factory: TimerFactory) -> HeapTimers {
        HeapTimers {
            sets: layout
                .states
                .iter()
                .map(|(_, kind)| {
                    (factory == TimerFactory::Heap && *kind == StateKind::Timer).then(TimerSet::new)
                })
                .collect(),
            max_parallelism: layout.max_parallelism,
        }
    }

    /// Whether `state`'s timers live here rather than in RocksDB.
    pub(super) fn holds(&self, state: StateId) -> bool {
        matches!(self.sets.get(state as usize), Some(Some(_)))
    }

    /// Registers or deletes a timer; false if the op is not one of this queue's.
    pub(super) fn apply(&mut self, op: &StateOp) -> bool {
        let Some(Some(set)) = self.sets.get_mut(op.state as usize) else {
            return false;
        };
        let kg = key_group(op.key, self.max_parallelism);
        match op.kind {
            OpKind::TimerRegister(ts) => {
                set.insert((kg, ts, op.key, op.namespace));
            }
            OpKind::TimerDelete(ts) => {
                set.remove(&(kg, ts, op.key, op.namespace));
            }
            _ => return false,
        }
        true
    }

    /// Keeps only the timers of the key groups in `key_groups` (a rescaled subtask's range).
    pub(super) fn retain_key_groups(&mut self, key_groups: &std::ops::Range<u32>) {
        for set in self.sets.iter_mut().flatten() {
            *set = set
                .iter()
                .filter(|(kg, ..)| key_groups.contains(&u32::from(*kg)))
                .cloned()
                .collect();
        }
    }

    /// Adds every timer to a digest, as the RocksDB timer rows are added.
    pub(super) fn digest_into(&self, digest: &mut Digest) {
        for (state, set) in self.sets.iter().enumerate() {
            for &(_, ts, key, namespace) in set.iter().flatten() {
                let at = EntryAddress {
                    state: state as StateId,
                    key,
                    namespace,
                    user_key: Some(ts as u64),
                };
                digest.add(at, []);
            }
        }
    }

    /// Writes `state`'s timers of key group `kg` into a snapshot stream.
    pub(super) fn write_key_group<W: std::io::Write>(
        &self,
        state: StateId,
        kg: u32,
        writer: &mut StreamWriter<W>,
    ) -> Result<()> {
        let Some(Some(set)) = self.sets.get(state as usize) else {
            return Ok(());
        };
        let mut keys = KeyBuilder::new(self.max_parallelism);
        let from = (kg as u16, i64::MIN, 0, Namespace::Void);
        for &(group, ts, key, namespace) in set.range((Bound::Included(from), Bound::Unbounded)) {
            if group as u32 != kg {
                break;
            }
            keys.set_timer(ts, key, namespace);
            writer.entry(kg, state, keys.bytes(), &[])?;
        }
        Ok(())
    }

    /// Adds a timer read back from its key bytes.
    pub(super) fn insert_key(&mut self, state: StateId, key: &[u8]) -> Result<()> {
        let prefix = key_group_prefix_bytes(self.max_parallelism);
        let corrupt = || anyhow!("corrupt heap timer in a checkpoint");
        let long = |range: std::ops::Range<usize>| -> Result<u64> {
            Ok(u64::from_be_bytes(
                key.get(range).ok_or_else(corrupt)?.try_into()?,
            ))
        };
        let ts = (long(prefix..prefix + 8)? ^ (1 << 63)) as i64;
        let k = long(prefix + 8..prefix + 16)?;
        let namespace = Namespace::read_from(&key[prefix + 16..]).ok_or_else(corrupt)?;
        let set = self
            .sets
            .get_mut(state as usize)
            .and_then(Option::as_mut)
            .ok_or_else(corrupt)?;
        set.insert((key_group(k, self.max_parallelism), ts, k, namespace));
        Ok(())
    }

    /// Writes every heap timer into a file of its own (incremental checkpoints).
    pub(super) fn write_file(&self, path: &Path, layout: &StateLayout) -> Result<u64> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut writer = StreamWriter::new(file, layout.max_parallelism, &layout.states)?;
        for kg in 0..layout.max_parallelism {
            for state in 0..self.sets.len() {
                self.write_key_group(state as StateId, kg, &mut writer)?;
            }
        }
        Ok(writer.finish()?.0)
    }

    /// Reads the timers an incremental checkpoint kept in a file.
    pub(super) fn read_file(&mut self, path: &Path, layout: &StateLayout) -> Result<()> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut reader = StreamReader::open(file, layout.max_parallelism, &layout.states)?;
        while let Some(e) = reader
            .next_entry()
            .with_context(|| format!("reading {}", path.display()))?
        {
            let (state, key) = (e.state, e.key.to_vec());
            self.insert_key(state, &key)?;
        }
        Ok(())
    }
}
