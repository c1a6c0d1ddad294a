//! State backends behind one trait: the heap backend (Flink's HashMapStateBackend) and the RocksDB
//! backend (EmbeddedRocksDBStateBackend, Flink's byte layout and profiles). The runner only sees
//! [`Backend`]; a new backend implements it and adds a [`BackendConfig`] variant.

mod digest;
pub mod heap;
pub mod keygroup;
pub mod rocksdb;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::checkpoint::{CheckpointHandle, CheckpointMode, CheckpointTarget, UploadResult};
use crate::workload::{StateKind, StateOp, TtlSpec, WorkloadSpec};

pub use digest::{Digest, EntryAddress};

/// The states a backend holds and how keys are grouped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateLayout {
    /// State names and shapes, indexed by `StateId`.
    pub states: Vec<(String, StateKind)>,
    /// Flink's max parallelism: the number of key groups.
    pub max_parallelism: u32,
    /// State TTL of every state but timers.
    pub ttl: Option<TtlSpec>,
}

impl StateLayout {
    /// The layout a workload needs.
    pub fn of(spec: &WorkloadSpec) -> StateLayout {
        StateLayout {
            states: spec.layout(),
            max_parallelism: spec.max_parallelism,
            ttl: spec.ttl,
        }
    }
}

/// What an op found; the same op stream gives the same outcomes on every backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The value, list, map entry or map existed.
    pub found: bool,
    /// Elements read: list elements, map entries iterated.
    pub items: u32,
    /// Payload bytes read.
    pub bytes: u64,
}

/// The live state as a checkpoint captured it, kept to verify the restore against.
pub trait StateView: Send {
    /// Digest of the captured state (entries expired at the capture time left out).
    fn digest(&self) -> Result<Digest>;

    /// The time the state was captured at (see [`Backend::set_time`]); a restored backend is
    /// set to it before the two digests are compared.
    fn time(&self) -> i64;
}

/// The asynchronous phase of a checkpoint: writes the captured state into the target.
pub type AsyncPhase = Box<dyn FnOnce(&CheckpointTarget) -> Result<UploadResult> + Send>;

/// What a checkpoint's synchronous phase returns.
pub struct SyncSnapshot {
    /// Runs on the checkpoint thread while ops continue.
    pub async_phase: AsyncPhase,
    /// The captured state, for verification after restore.
    pub view: Box<dyn StateView>,
}

/// A keyed state backend.
pub trait Backend: Send {
    /// Applies one op; `value` holds the op's value bytes (empty for ops that write none).
    fn apply(&mut self, op: &StateOp, value: &[u8]) -> Result<Outcome>;

    /// Sets the time state TTL is measured against (the current event's time, ms), before the
    /// event's ops are applied.
    fn set_time(&mut self, now_ms: i64);

    /// The synchronous phase of a checkpoint, run on the operator thread.
    fn snapshot(&mut self, mode: CheckpointMode) -> Result<SyncSnapshot>;

    /// Digest of the live state.
    fn digest(&self) -> Result<Digest>;

    /// The effective options file the backend runs with, if it has one.
    fn options_file(&self) -> Option<PathBuf>;

    /// The backend's own counters and gauges, for backends that keep them (RocksDB).
    fn stats(&self) -> Result<Option<StatsSnapshot>>;
}

/// A backend's native statistics at one moment: counters (cumulative since open) and gauges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Bytes the application wrote (puts and merges; RocksDB `bytes.written`).
    pub user_bytes_written: u64,
    /// Point reads (`number.keys.read`).
    pub keys_read: u64,
    /// Bytes written by memtable flushes.
    pub flush_bytes: u64,
    /// Bytes read by compactions.
    pub compaction_read_bytes: u64,
    /// Bytes written by compactions.
    pub compaction_write_bytes: u64,
    /// Block cache hits.
    pub block_cache_hits: u64,
    /// Block cache misses.
    pub block_cache_misses: u64,
    /// Bytes of blocks read, from the cache or from files into it.
    pub block_bytes_read: u64,
    /// Time writes were stalled, µs.
    pub stall_micros: u64,
    /// Write delays and stops.
    pub stall_count: u64,
    /// Memtable memory now.
    pub memtable_bytes: u64,
    /// Block cache memory now.
    pub block_cache_usage: u64,
    /// SST files' total size now.
    pub sst_bytes: u64,
    /// Estimated live data now.
    pub live_data_bytes: u64,
    /// SST files per LSM level now.
    pub files_per_level: Vec<u64>,
}

/// Which backend to build, with its settings.
#[derive(Clone, Debug)]
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

    /// Restores a completed checkpoint into a fresh backend working in `dir`.
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

/// Name of the file a full checkpoint writes into its directory.
pub const FULL_SNAPSHOT_FILE: &str = "full-snapshot.bin";

/// Serializes a value as Flink's `BytePrimitiveArraySerializer` does: int length, then bytes.
pub fn write_byte_array(out: &mut Vec<u8>, value: &[u8]) {
    out.extend_from_slice(&(value.len() as u32).to_be_bytes());
    out.extend_from_slice(value);
}

/// Reads one `BytePrimitiveArraySerializer` value from the front of `input`, returning it and
/// the rest; None if `input` is too short.
pub fn read_byte_array(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_be_bytes(input.get(..4)?.try_into().ok()?) as usize;
    let body = input.get(4..4 + len)?;
    Some((body, &input[4 + len..]))
}
