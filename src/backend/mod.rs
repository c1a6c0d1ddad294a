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
pub mod timer_set;

use std::path::Path;

use anyhow::Result;

use crate::checkpoint::{CheckpointHandle, CheckpointMode};

pub use api::{AsyncPhase, Backend, Outcome, StateLayout, StateView, StatsSnapshot};
pub use digest::{Digest, EntryAddress};

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

    /// Opens an empty backend working in `dir`.
    pub fn open(&self, layout: &StateLayout, dir: &Path) -> Result<Box<dyn Backend>> {
        Ok(match self {
            BackendConfig::HashMap => Box::new(heap::HeapBackend::new(layout)),
            BackendConfig::RocksDb(c) => Box::new(rocksdb::RocksDbBackend::open(c, layout, dir)?),
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
