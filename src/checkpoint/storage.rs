//! Checkpoint storage on the local filesystem, laid out as Flink lays out a checkpoint directory:
//! `chk-<id>/` holds a checkpoint's private files, `shared/` the SST files incremental checkpoints
//! share, `savepoint-<id>/` a savepoint (self-contained: it shares nothing). Files no retained
//! checkpoint references are deleted when a checkpoint is subsumed.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomically;

/// How a snapshot's files hold the state (Flink's `SavepointFormatType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotFormat {
    /// One key-group-ordered stream of logical entries: savepoints of every backend.
    Canonical,
    /// The backend's own checkpoint format: RocksDB's files (SSTs, MANIFEST, CURRENT, OPTIONS),
    /// restored by opening them, for its full and incremental checkpoints; the heap backend's
    /// snapshot stream (Flink's `HeapSnapshotStrategy` layout) for its checkpoints.
    Native,
}

/// Where one checkpoint writes, handed to a backend's async phase.
#[derive(Clone, Debug)]
pub struct CheckpointTarget {
    /// Checkpoint id.
    pub id: u64,
    /// The checkpoint's own directory (created).
    pub dir: PathBuf,
    /// Directory of shared files (created).
    pub shared_dir: PathBuf,
    /// Shared files of the last completed checkpoint (name → size): an incremental checkpoint
    /// reuses these instead of uploading them again.
    pub reusable: Arc<BTreeMap<String, u64>>,
}

/// What an async phase wrote.
#[derive(Clone, Debug)]
pub struct UploadResult {
    /// How the files hold the state.
    pub format: SnapshotFormat,
    /// Files written into the checkpoint's own directory (name → size).
    pub private: BTreeMap<String, u64>,
    /// Shared files this checkpoint uses (name → size).
    pub shared: BTreeMap<String, u64>,
    /// Which of `shared` this checkpoint wrote (the rest were reused).
    pub shared_written: BTreeSet<String>,
}

impl UploadResult {
    /// Nothing written yet, in `format`.
    pub fn new(format: SnapshotFormat) -> UploadResult {
        UploadResult {
            format,
            private: BTreeMap::new(),
            shared: BTreeMap::new(),
            shared_written: BTreeSet::new(),
        }
    }

    /// Bytes this checkpoint wrote to storage.
    pub fn bytes_written(&self) -> u64 {
        self.private.values().sum::<u64>()
            + self
                .shared
                .iter()
                .filter(|(name, _)| self.shared_written.contains(*name))
                .map(|(_, size)| size)
                .sum::<u64>()
    }

    /// Total size of the checkpoint, reused shared files included.
    pub fn size(&self) -> u64 {
        self.private.values().sum::<u64>() + self.shared.values().sum::<u64>()
    }
}

/// A completed checkpoint, enough to restore it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointHandle {
    /// Checkpoint id.
    pub id: u64,
    /// How its files hold the state, which decides how it is restored.
    pub format: SnapshotFormat,
    /// The checkpoint's own directory.
    pub dir: PathBuf,
    /// Directory of shared files.
    pub shared_dir: PathBuf,
    /// Private files (name → size).
    pub private: BTreeMap<String, u64>,
    /// Shared files it uses (name → size).
    pub shared: BTreeMap<String, u64>,
}

/// The checkpoint directory of one cell.
#[derive(Clone, Debug)]
pub struct CheckpointStore {
    root: PathBuf,
}

impl CheckpointStore {
    /// Creates (or reuses) a store under `root`.
    pub fn new(root: &Path) -> Result<CheckpointStore> {
        fs::create_dir_all(root.join("shared"))
            .with_context(|| format!("cannot create checkpoint storage in {}", root.display()))?;
        Ok(CheckpointStore {
            root: root.to_path_buf(),
        })
    }

    /// Directory of shared files.
    pub fn shared_dir(&self) -> PathBuf {
        self.root.join("shared")
    }

    /// Prepares the directory of checkpoint `id`.
    pub fn target(
        &self,
        id: u64,
        reusable: Arc<BTreeMap<String, u64>>,
    ) -> Result<CheckpointTarget> {
        self.target_in(id, format!("chk-{id}"), reusable)
    }

    /// Prepares the directory of savepoint `id`: like a checkpoint's, but it reuses nothing.
    pub fn savepoint_target(&self, id: u64) -> Result<CheckpointTarget> {
        self.target_in(id, format!("savepoint-{id}"), Arc::default())
    }

    fn target_in(
        &self,
        id: u64,
        name: String,
        reusable: Arc<BTreeMap<String, u64>>,
    ) -> Result<CheckpointTarget> {
        let dir = self.root.join(name);
        fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create checkpoint directory {}", dir.display()))?;
        Ok(CheckpointTarget {
            id,
            dir,
            shared_dir: self.shared_dir(),
            reusable,
        })
    }

    /// Seals an uploaded checkpoint: writes its `_metadata` (last, so a checkpoint directory
    /// without one is incomplete) and returns its handle.
    pub fn complete(
        &self,
        target: &CheckpointTarget,
        upload: &UploadResult,
    ) -> Result<CheckpointHandle> {
        let handle = CheckpointHandle {
            id: target.id,
            format: upload.format,
            dir: target.dir.clone(),
            shared_dir: target.shared_dir.clone(),
            private: upload.private.clone(),
            shared: upload.shared.clone(),
        };
        let json = serde_json::to_vec_pretty(&handle)?;
        write_atomically(&target.dir.join("_metadata"), &json)?;
        Ok(handle)
    }

    /// Deletes checkpoint `old` and every shared file that none of `retained` uses.
    pub fn discard_handle(old: &CheckpointHandle, retained: &[CheckpointHandle]) -> Result<()> {
        fs::remove_dir_all(&old.dir)
            .with_context(|| format!("cannot delete {}", old.dir.display()))?;
        let in_use: BTreeSet<&String> = retained.iter().flat_map(|h| h.shared.keys()).collect();
        for name in old.shared.keys().filter(|n| !in_use.contains(n)) {
            let path = old.shared_dir.join(name);
            fs::remove_file(&path).with_context(|| format!("cannot delete {}", path.display()))?;
        }
        Ok(())
    }
}
