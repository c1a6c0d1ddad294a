//! Checkpoint storage laid out as Flink lays out a checkpoint directory: `chk-<id>/` holds a
//! checkpoint's private files and its `_metadata`, `shared/` the SST files incremental checkpoints
//! share, `savepoint-<id>/` a savepoint (self-contained: it shares nothing). Files no retained
//! checkpoint references are deleted when a checkpoint is subsumed.
//!
//! The storage is a local directory, the JobManager's memory or an S3 prefix. Backends always
//! write into a directory on this machine; for remote storage that directory is a staging area
//! the store uploads from (as Flink's S3 file systems buffer on local disk) and empties.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::location::{CheckpointDir, StorageKind, StorageSetting, JOBMANAGER_MAX_STATE_SIZE};
use super::s3::{Requests, S3Bucket};
use super::settings::Retention;
use super::transfer::{in_parallel, transfer, FileCopy};
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
    /// The directories are a staging area on this machine whose files the store uploads
    /// afterwards (S3, the JobManager's memory): a backend may link files here rather than copy
    /// them, since the upload is the transfer.
    pub staging: bool,
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

/// A completed checkpoint, enough to restore it. Its `_metadata` file is this handle without
/// the local paths, which depend on where the checkpoint is read from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointHandle {
    /// Checkpoint id.
    pub id: u64,
    /// How its files hold the state, which decides how it is restored.
    pub format: SnapshotFormat,
    /// The checkpoint's own directory on this machine.
    #[serde(skip)]
    pub dir: PathBuf,
    /// Directory of shared files on this machine.
    #[serde(skip)]
    pub shared_dir: PathBuf,
    /// Private files (name → size).
    pub private: BTreeMap<String, u64>,
    /// Shared files it uses (name → size).
    pub shared: BTreeMap<String, u64>,
    /// The files are a copy downloaded for one restore, which a backend may take over (link)
    /// rather than copy again.
    #[serde(skip)]
    pub downloaded: bool,
}

impl CheckpointHandle {
    /// Name of its directory in storage: `chk-<id>` or `savepoint-<id>`.
    fn dir_name(&self) -> String {
        dir_name(&self.dir)
    }

    /// Every file it is made of, as (directory name in storage, file name, size).
    fn files(&self) -> Vec<(String, &String, u64)> {
        let own = self.dir_name();
        self.private
            .iter()
            .map(|(n, s)| (own.clone(), n, *s))
            .chain(self.shared.iter().map(|(n, s)| (SHARED.to_string(), n, *s)))
            .collect()
    }
}

/// The directory of shared files in storage.
const SHARED: &str = "shared";
/// The file whose presence marks a completed checkpoint.
const METADATA_FILE: &str = "_metadata";

fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Where the files of a store really are.
#[derive(Debug)]
enum Remote {
    /// In `root` on this machine: the local file system is the storage.
    Local,
    /// In the coordinator's memory (`jobmanager`), by `dir/name`.
    Memory(Mutex<BTreeMap<String, Arc<Vec<u8>>>>),
    /// In an S3 bucket, by `dir/name` under the job's prefix.
    S3(S3Bucket),
}

/// The checkpoint storage of one cell (one job): a directory on this machine, the JobManager's
/// memory, or an S3 prefix, laid out as `chk-<id>/`, `shared/` and `savepoint-<id>/`.
#[derive(Debug)]
pub struct CheckpointStore {
    /// The storage itself (local file system) or the staging area of remote storage.
    root: PathBuf,
    remote: Remote,
    /// Parallel transfers to and from remote storage.
    threads: usize,
    /// Where checkpoints are, for the report.
    location: String,
    /// Whether `root` is statebench's work directory (deleted with the cell).
    in_work_dir: bool,
}

impl CheckpointStore {
    /// A store in the local directory `root`, created if needed.
    pub fn new(root: &Path) -> Result<CheckpointStore> {
        CheckpointStore::open(root, &StorageSetting::default(), "", 1)
    }

    /// The store `setting` names for job `job` (a path of names: checkpoints go under
    /// `<execution.checkpointing.dir>/<job>/` as Flink puts them under the job id), with `work`
    /// the cell's scratch directory: the storage itself when no directory is set, else the
    /// staging area of remote storage. Transfers to and from remote storage run on `threads`.
    pub fn open(
        work: &Path,
        setting: &StorageSetting,
        job: &str,
        threads: usize,
    ) -> Result<CheckpointStore> {
        let (root, remote, location) = match (&setting.kind, &setting.dir) {
            (StorageKind::JobManager, _) => (
                work.to_path_buf(),
                Remote::Memory(Mutex::default()),
                "the JobManager's memory (jobmanager storage)".to_string(),
            ),
            (StorageKind::FileSystem, None) => (
                work.to_path_buf(),
                Remote::Local,
                format!(
                    "{} (statebench's work directory: no execution.checkpointing.dir set)",
                    work.display()
                ),
            ),
            (StorageKind::FileSystem, Some(CheckpointDir::Local(dir))) => {
                let root = dir.join(job);
                let location = root.display().to_string();
                (root, Remote::Local, location)
            }
            (StorageKind::FileSystem, Some(CheckpointDir::S3 { bucket, prefix })) => {
                let prefix = [prefix.as_str(), job]
                    .iter()
                    .filter(|p| !p.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("/");
                let s3 = S3Bucket::connect(bucket, &prefix, &setting.s3)?;
                let location = s3.url("");
                (work.to_path_buf(), Remote::S3(s3), location)
            }
        };
        fs::create_dir_all(root.join(SHARED))
            .with_context(|| format!("cannot create checkpoint storage in {}", root.display()))?;
        Ok(CheckpointStore {
            in_work_dir: root == work,
            root,
            remote,
            threads: threads.max(1),
            location,
        })
    }

    /// Where the checkpoints are: a directory, an `s3://` URL, or the JobManager's memory.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Directory of shared files on this machine.
    pub fn shared_dir(&self) -> PathBuf {
        self.root.join(SHARED)
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
            staging: !matches!(self.remote, Remote::Local),
        })
    }

    /// Moves what an async phase wrote into the storage (run on the thread of that async phase,
    /// so it is part of it): nothing to do on the local file system; into memory for the
    /// JobManager, each checkpoint file at most [`JOBMANAGER_MAX_STATE_SIZE`] as Flink checks
    /// every state handle (a savepoint, which Flink writes to its savepoint directory, is held
    /// without the limit); to S3 on the store's transfer threads. Staged files are removed either way.
    pub fn persist(&self, target: &CheckpointTarget, upload: &UploadResult) -> Result<Requests> {
        let own = dir_name(&target.dir);
        let written: Vec<(PathBuf, String)> = upload
            .private
            .keys()
            .map(|n| (target.dir.join(n), format!("{own}/{n}")))
            .chain(
                upload
                    .shared_written
                    .iter()
                    .map(|n| (target.shared_dir.join(n), format!("{SHARED}/{n}"))),
            )
            .collect();
        let requests = match &self.remote {
            Remote::Local => {
                return Ok(Requests {
                    count: written.len() as u64,
                    bytes: upload.bytes_written(),
                })
            }
            Remote::Memory(files) => {
                let mut requests = Requests::default();
                for (path, name) in &written {
                    let size = path.metadata().map(|m| m.len()).unwrap_or_default();
                    // Savepoints go to a savepoint directory in Flink, never to the JobManager.
                    if size > JOBMANAGER_MAX_STATE_SIZE && !own.starts_with("savepoint-") {
                        bail!(
                            "Size of the state is larger than the maximum permitted memory-backed \
                             state. Size={size}, maxSize={JOBMANAGER_MAX_STATE_SIZE}. Consider using \
                             a different checkpoint storage, like the FileSystemCheckpointStorage. \
                             ({name})"
                        );
                    }
                    let bytes = fs::read(path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    requests.add(Requests {
                        count: 1,
                        bytes: size,
                    });
                    lock(files).insert(name.clone(), Arc::new(bytes));
                }
                requests
            }
            Remote::S3(s3) => {
                let counted = Mutex::new(Requests::default());
                in_parallel(&written, self.threads, |(path, name)| {
                    let sent = s3.upload(path, name)?;
                    lock(&counted).add(sent);
                    Ok(sent.bytes)
                })?;
                counted.into_inner().unwrap_or_else(|p| p.into_inner())
            }
        };
        for (path, _) in &written {
            fs::remove_file(path)
                .with_context(|| format!("cannot remove staged {}", path.display()))?;
        }
        Ok(requests)
    }

    /// Seals a persisted checkpoint: writes its `_metadata` last (atomically: a rename, one
    /// PUT, one insertion), so a checkpoint without one is never taken for a completed one, and
    /// returns its handle.
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
            downloaded: false,
        };
        let json = serde_json::to_vec_pretty(&handle)?;
        let name = format!("{}/{METADATA_FILE}", handle.dir_name());
        match &self.remote {
            Remote::Local => write_atomically(&target.dir.join(METADATA_FILE), &json)?,
            Remote::Memory(files) => {
                lock(files).insert(name, Arc::new(json));
            }
            Remote::S3(s3) => {
                s3.put(&name, json)?;
            }
        }
        if !matches!(self.remote, Remote::Local) {
            remove_dir_if_present(&target.dir)?;
        }
        Ok(handle)
    }

    /// Deletes checkpoint `old` and every shared file that none of `retained` uses (Flink's
    /// `SharedStateRegistry`: a shared file lives as long as a retained checkpoint refers to it).
    pub fn discard(&self, old: &CheckpointHandle, retained: &[CheckpointHandle]) -> Result<()> {
        let in_use: BTreeSet<&String> = retained.iter().flat_map(|h| h.shared.keys()).collect();
        let own = old.dir_name();
        let mut names: Vec<String> = old
            .private
            .keys()
            .map(|n| format!("{own}/{n}"))
            .chain([format!("{own}/{METADATA_FILE}")])
            .collect();
        names.extend(
            old.shared
                .keys()
                .filter(|n| !in_use.contains(n))
                .map(|n| format!("{SHARED}/{n}")),
        );
        match &self.remote {
            Remote::Local => {
                remove_dir_if_present(&old.dir)?;
                for name in names.iter().filter(|n| n.starts_with(SHARED)) {
                    let path = self.root.join(name);
                    fs::remove_file(&path)
                        .with_context(|| format!("cannot delete {}", path.display()))?;
                }
            }
            Remote::Memory(files) => {
                let mut files = lock(files);
                for name in &names {
                    files.remove(name);
                }
            }
            Remote::S3(s3) => {
                for name in &names {
                    s3.delete(name)?;
                }
            }
        }
        Ok(())
    }

    /// Removes what a failed or expired checkpoint `id` wrote into its own directory, here and
    /// in remote storage. Shared files it wrote are swept by [`CheckpointStore::sweep_shared`].
    pub fn abort(&self, dir: &Path) -> Result<()> {
        remove_dir_if_present(dir)?;
        let own = dir_name(dir);
        match &self.remote {
            Remote::Local => {}
            Remote::Memory(files) => lock(files).retain(|name, _| !name.starts_with(&own)),
            Remote::S3(s3) => {
                for name in s3.list(&own)? {
                    s3.delete(&name)?;
                }
            }
        }
        Ok(())
    }

    /// Deletes every shared file none of `referenced` names (after a failed checkpoint, when no
    /// other checkpoint is in flight, which might be writing one).
    pub fn sweep_shared(&self, referenced: &BTreeSet<String>) -> Result<()> {
        let dir = self.shared_dir();
        if let Ok(entries) = fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !referenced.contains(&name) && entry.path().is_file() {
                    fs::remove_file(entry.path())
                        .with_context(|| format!("cannot delete {}", entry.path().display()))?;
                }
            }
        }
        match &self.remote {
            Remote::Local => {}
            Remote::Memory(files) => lock(files).retain(|name, _| {
                name.strip_prefix("shared/")
                    .is_none_or(|n| referenced.contains(n))
            }),
            Remote::S3(s3) => {
                for name in s3.list(SHARED)? {
                    let file = name.rsplit('/').next().unwrap_or_default();
                    if !referenced.contains(file) {
                        s3.delete(&name)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Brings a completed checkpoint's files to this machine for a restore, as Flink's
    /// `RocksDBStateDownloader` does, into the new directory `dir` (all in one directory, as a
    /// RocksDB restore needs them), on the store's transfer threads: from S3 or the JobManager's
    /// memory always; from a local file system only when the restore cannot read them where they
    /// are (`in_place` false: RocksDB's native files, copied into the DB's directory). Returns
    /// the handle to restore from and the requests made.
    pub fn fetch(
        &self,
        handle: &CheckpointHandle,
        dir: &Path,
        in_place: bool,
    ) -> Result<(CheckpointHandle, Requests)> {
        if matches!(self.remote, Remote::Local) && in_place {
            return Ok((handle.clone(), Requests::default()));
        }
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let files = handle.files();
        let counted = Mutex::new(Requests::default());
        in_parallel(&files, self.threads, |(own, name, size)| {
            let to = dir.join(name.as_str());
            let got = match &self.remote {
                Remote::Local => {
                    let from = self.root.join(own).join(name.as_str());
                    let bytes = transfer(&[FileCopy { from, to }], 1)?;
                    Requests { count: 1, bytes }
                }
                Remote::Memory(files) => {
                    let bytes = lock(files)
                        .get(&format!("{own}/{name}"))
                        .cloned()
                        .with_context(|| format!("{own}/{name} is not in memory"))?;
                    write_atomically(&to, &bytes)?;
                    Requests {
                        count: 1,
                        bytes: *size,
                    }
                }
                Remote::S3(s3) => s3.download(&format!("{own}/{name}"), &to)?,
            };
            lock(&counted).add(got);
            Ok(got.bytes)
        })?;
        let local = CheckpointHandle {
            dir: dir.to_path_buf(),
            shared_dir: dir.to_path_buf(),
            downloaded: true,
            ..handle.clone()
        };
        Ok((
            local,
            counted.into_inner().unwrap_or_else(|p| p.into_inner()),
        ))
    }

    /// Ends the job as a cancellation ends it: with [`Retention::RetainOnCancellation`] the
    /// `retained` checkpoints stay, those in the work directory moved to `keep` (their
    /// `chk-<id>/` and `shared/`; from the JobManager's memory, written out there as Flink
    /// writes externalized metadata), and where they are is returned; otherwise they and
    /// `others` (savepoints) are deleted from a storage outside the work directory.
    pub fn end_job(
        &self,
        retention: Retention,
        retained: &[CheckpointHandle],
        others: &[CheckpointHandle],
        keep: &Path,
    ) -> Result<Option<String>> {
        if retention != Retention::RetainOnCancellation {
            for handle in retained.iter().chain(others) {
                self.discard(handle, &[])?;
            }
            if !self.in_work_dir && matches!(self.remote, Remote::Local) {
                fs::remove_dir_all(&self.root)
                    .with_context(|| format!("cannot delete {}", self.root.display()))?;
                // The run's directory under it, once its last cell is done.
                if let Some(run) = self.root.parent() {
                    let _ = fs::remove_dir(run);
                }
            }
            return Ok(None);
        }
        for handle in others {
            self.discard(handle, retained)?;
        }
        if retained.is_empty() {
            return Ok(None);
        }
        match &self.remote {
            Remote::Local if !self.in_work_dir => Ok(Some(self.location.clone())),
            Remote::S3(_) => Ok(Some(self.location.clone())),
            Remote::Local | Remote::Memory(_) => {
                for handle in retained {
                    let own = handle.dir_name();
                    let mut names: Vec<(String, &String)> =
                        handle.files().into_iter().map(|(d, n, _)| (d, n)).collect();
                    let metadata = METADATA_FILE.to_string();
                    names.push((own.clone(), &metadata));
                    for (dir, name) in names {
                        let to = keep.join(&dir).join(name.as_str());
                        fs::create_dir_all(keep.join(&dir))
                            .with_context(|| format!("cannot create {}", keep.display()))?;
                        match &self.remote {
                            Remote::Memory(files) => {
                                let bytes = lock(files)
                                    .get(&format!("{dir}/{name}"))
                                    .cloned()
                                    .with_context(|| format!("{dir}/{name} is not in memory"))?;
                                write_atomically(&to, &bytes)?;
                            }
                            _ => {
                                let from = self.root.join(&dir).join(name.as_str());
                                transfer(&[FileCopy { from, to }], 1)?;
                            }
                        }
                    }
                }
                Ok(Some(keep.display().to_string()))
            }
        }
    }
}

/// Locks a mutex, taking it over from a thread that panicked holding it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Deletes a directory and what it holds; one that is not there is no error.
pub fn remove_dir_if_present(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot delete {}", dir.display()))
        }
        _ => Ok(()),
    }
}
