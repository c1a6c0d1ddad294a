//! State backends behind one trait: the heap backend (Flink's HashMapStateBackend) and the RocksDB
//! backend (EmbeddedRocksDBStateBackend, Flink's byte layout and profiles). The runner only sees
//! [`Backend`]; a new backend implements it and adds a [`BackendConfig`] variant.

mod api;
mod byte_array;
mod digest;
pub mod heap;
pub mod keygroup;
pub mod priority_queue;
pub mod rocksdb;
mod scripted;
pub mod timer_set;

use std::ops::Range;
use std::path::Path;

use anyhow::Result;

use crate::checkpoint::{CheckpointHandle, CheckpointMode, SnapshotFormat};

pub use api::{
    AsyncPhase, Backend, Events, FailedOp, Outcome, StateLayout, StateView, StatsSnapshot,
    TickerCounts,
};
pub use digest::{Digest, EntryAddress};
pub use scripted::ScriptedBackend;

/// Which backend to build, with its settings (serialized into a repeat's job file, see
/// `run::repeat`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum BackendConfig {
    /// Flink's HashMapStateBackend.
    HashMap,
    /// Flink's EmbeddedRocksDBStateBackend.
    RocksDb(rocksdb::RocksDbConfig),
}

impl BackendConfig {
    /// `hashmap` or `rocksdb`.
    pub fn name(&self) -> &'static str {
        match self {
            BackendConfig::HashMap => "hashmap",
            BackendConfig::RocksDb(_) => "rocksdb",
        }
    }

    /// The RocksDB profile name, if any.
    pub fn profile(&self) -> Option<String> {
        match self {
            BackendConfig::HashMap => None,
            BackendConfig::RocksDb(c) => Some(c.label.clone()),
        }
    }

    /// Whether the backend can take checkpoints of this mode (heap has no incremental ones).
    pub fn supports(&self, mode: CheckpointMode) -> bool {
        !matches!(
            (self, mode),
            (BackendConfig::HashMap, CheckpointMode::Incremental)
        )
    }

    /// Threads a checkpoint's files are transferred on (`checkpoint.transfer.thread.num` for
    /// RocksDB; the heap writes and reads one stream).
    pub fn transfer_threads(&self) -> usize {
        match self {
            BackendConfig::HashMap => 1,
            BackendConfig::RocksDb(c) => crate::checkpoint::transfer_threads(c.transfer_threads),
        }
    }

    /// Whether a restore reads `handle`'s files where they are on a local file system (the
    /// heap's checkpoint file and every canonical stream are read as streams), rather than
    /// needing them in its own directory (RocksDB's native files, which it opens).
    pub fn reads_in_place(&self, handle: &CheckpointHandle) -> bool {
        matches!(self, BackendConfig::HashMap) || handle.format == SnapshotFormat::Canonical
    }

    /// Opens an empty backend working in `dir`.
    pub fn open(&self, layout: &StateLayout, dir: &Path) -> Result<Box<dyn Backend>> {
        Ok(match self {
            BackendConfig::HashMap => Box::new(heap::HeapBackend::new(layout)),
            BackendConfig::RocksDb(c) => Box::new(rocksdb::RocksDbBackend::open(c, layout, dir)?),
        })
    }

    /// Restores the key groups `key_groups` of a completed checkpoint into a fresh backend
    /// working in `dir`, as a subtask of a job rescaled to a higher parallelism restores its
    /// part: RocksDB opens the checkpoint and clips it with delete-range, the heap keeps only
    /// those key groups.
    pub fn restore_key_groups(
        &self,
        layout: &StateLayout,
        handle: &CheckpointHandle,
        dir: &Path,
        key_groups: Range<u32>,
    ) -> Result<Box<dyn Backend>> {
        Ok(match self {
            BackendConfig::HashMap => Box::new(heap::HeapBackend::restore_key_groups(
                layout, handle, key_groups,
            )?),
            BackendConfig::RocksDb(c) => {
                let mut rocks = rocksdb::RocksDbBackend::restore(c, layout, handle, dir)?;
                rocks.clip_key_groups(key_groups)?;
                Box::new(rocks)
            }
        })
    }

    /// Restores a completed checkpoint or a savepoint into a fresh backend working in `dir`.
    pub fn restore(
        &self,
        layout: &StateLayout,
        handle: &CheckpointHandle,
        dir: &Path,
    ) -> Result<Box<dyn Backend>> {
        Ok(match self {
            BackendConfig::HashMap => Box::new(heap::HeapBackend::restore(layout, handle)?),
            BackendConfig::RocksDb(c) => {
                Box::new(rocksdb::RocksDbBackend::restore(c, layout, handle, dir)?)
            }
        })
    }
}
