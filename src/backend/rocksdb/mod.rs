//! The RocksDB backend: Flink's `EmbeddedRocksDBStateBackend` byte for byte where it matters.
//!
//! One column family per state, named after it. Keys are `[key group][key][namespace]` (plus the
//! map user key), the key group big-endian in 1 byte (max parallelism ≤ 128) or 2. Values are
//! serialized as Flink's `BytePrimitiveArraySerializer` writes a `byte[]`: int length + bytes.
//! ListState.add is a merge with Flink's ',' string-append operator; MapState keeps one row per
//! entry (`[null flag][value]`) and iterates by prefix seek. WAL disabled, no fsync.

mod layout;
mod options;
pub mod options_file;
pub mod profile;
mod snapshot;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{ensure, Context, Result};
use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, WriteBatch, WriteOptions, DB};

use super::{Backend, Digest, Outcome, StateLayout, SyncSnapshot};
use crate::checkpoint::{CheckpointHandle, CheckpointMode};
use crate::workload::{OpKind, StateOp};

pub use layout::KeyBuilder;
pub use options::SharedMemory;
use options::LIST_DELIMITER;
pub use profile::{MemoryMode, PredefinedProfile, RocksSettings};

/// RocksDB backend settings: a predefined profile (with Flink's defaults under it) and memory.
#[derive(Clone, Debug)]
pub struct RocksDbConfig {
    /// The predefined profile.
    pub profile: PredefinedProfile,
    /// The resolved settings (profile over Flink defaults).
    pub settings: RocksSettings,
    /// Memory mode.
    pub memory: MemoryMode,
}

impl RocksDbConfig {
    /// A profile with Flink's defaults under it and Flink's default (managed) memory.
    pub fn new(profile: PredefinedProfile) -> RocksDbConfig {
        RocksDbConfig {
            profile,
            settings: profile.settings(),
            memory: MemoryMode::flink_default(),
        }
    }
}

/// A RocksDB instance with a handle per state column family.
///
/// The handles borrow from the DB inside the `Arc`, which this struct keeps alive; they are
/// private and never outlive it.
pub(crate) struct OpenDb {
    cfs: Vec<&'static ColumnFamily>,
    db: Arc<DB>,
}

impl OpenDb {
    fn open(config: &RocksDbConfig, layout: &StateLayout, dir: &Path) -> Result<OpenDb> {
        let shared = SharedMemory::new(&config.memory);
        let db_opts = options::db_options(&config.settings, shared.as_ref());
        let cf = |name: &str| {
            ColumnFamilyDescriptor::new(
                name,
                options::cf_options(&config.settings, shared.as_ref()),
            )
        };
        let descriptors: Vec<_> = std::iter::once(cf("default"))
            .chain(layout.states.iter().map(|(name, _)| cf(name)))
            .collect();
        let db = DB::open_cf_descriptors(&db_opts, dir, descriptors)
            .with_context(|| format!("cannot open RocksDB in {}", dir.display()))?;
        let db = Arc::new(db);
        let mut cfs = Vec::with_capacity(layout.states.len());
        for (name, _) in &layout.states {
            let handle = db
                .cf_handle(name)
                .with_context(|| format!("column family {name} missing"))?;
            // SAFETY: column families live in the DB's own map, which is never changed after
            // open (no create_cf/drop_cf: the DB sits behind an Arc), and `db` is kept in the
            // same struct, so the handle stays valid for as long as it can be reached.
            let handle: &'static ColumnFamily = unsafe { &*(handle as *const ColumnFamily) };
            cfs.push(handle);
        }
        Ok(OpenDb { cfs, db })
    }
}

/// Flink's RocksDB keyed state backend.
pub struct RocksDbBackend {
    db: OpenDb,
    dir: PathBuf,
    layout: StateLayout,
    keys: KeyBuilder,
    write: WriteOptions,
    value_buf: Vec<u8>,
    local_checkpoints: u64,
}

impl RocksDbBackend {
    /// Opens an empty backend in `dir` (which must not hold another DB).
    pub fn open(
        config: &RocksDbConfig,
        layout: &StateLayout,
        dir: &Path,
    ) -> Result<RocksDbBackend> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create RocksDB directory {}", dir.display()))?;
        let db = OpenDb::open(config, layout, dir)?;
        let mut write = WriteOptions::default();
        write.disable_wal(true);
        Ok(RocksDbBackend {
            db,
            dir: dir.to_path_buf(),
            layout: layout.clone(),
            keys: KeyBuilder::new(layout.max_parallelism),
            write,
            value_buf: Vec::new(),
            local_checkpoints: 0,
        })
    }

    /// Restores a full or incremental checkpoint into a fresh instance in `dir`.
    pub fn restore(
        config: &RocksDbConfig,
        layout: &StateLayout,
        handle: &CheckpointHandle,
        dir: &Path,
    ) -> Result<RocksDbBackend> {
        match handle.mode {
            CheckpointMode::Full => {
                let backend = RocksDbBackend::open(config, layout, dir)?;
                snapshot::restore_full(
                    &backend.db,
                    layout,
                    handle,
                    config.settings.write_batch_size,
                    &backend.write,
                )?;
                Ok(backend)
            }
            CheckpointMode::Incremental => {
                snapshot::materialize_incremental(handle, dir)?;
                RocksDbBackend::open(config, layout, dir)
            }
            CheckpointMode::None => anyhow::bail!("checkpoint {} has no mode", handle.id),
        }
    }

    fn cf(&self, op: &StateOp) -> &'static ColumnFamily {
        self.db.cfs[op.state as usize]
    }

    fn put(&mut self, op: &StateOp, value: &[u8], null_flag: bool) -> Result<()> {
        self.value_buf.clear();
        if null_flag {
            self.value_buf.push(0);
        }
        super::write_byte_array(&mut self.value_buf, value);
        self.db
            .db
            .put_cf_opt(self.cf(op), self.keys.bytes(), &self.value_buf, &self.write)?;
        Ok(())
    }

    /// Deletes every row under the current key prefix in batches, as Flink's MapState.clear.
    fn delete_prefix(&mut self, op: &StateOp) -> Result<()> {
        let cf = self.cf(op);
        let prefix = self.keys.bytes();
        let mut batch = WriteBatch::default();
        let mut it = self.db.db.raw_iterator_cf(cf);
        it.seek(prefix);
        while let Some(k) = it.key().filter(|k| k.starts_with(prefix)) {
            batch.delete_cf(cf, k);
            it.next();
        }
        it.status()?;
        self.db.db.write_opt(batch, &self.write)?;
        Ok(())
    }
}

/// Counts the elements of a delimited list value and their payload bytes.
pub(crate) fn parse_list(mut value: &[u8]) -> Result<(u32, u64)> {
    let (mut items, mut bytes) = (0u32, 0u64);
    while !value.is_empty() {
        let (element, rest) = super::read_byte_array(value).context("corrupt list element")?;
        items += 1;
        bytes += element.len() as u64;
        value = match rest.split_first() {
            Some((&LIST_DELIMITER, rest)) => rest,
            None => rest,
            Some(_) => anyhow::bail!("corrupt list: missing delimiter"),
        };
    }
    Ok((items, bytes))
}

impl Backend for RocksDbBackend {
    fn apply(&mut self, op: &StateOp, value: &[u8]) -> Result<Outcome> {
        match op.kind {
            OpKind::TimerRegister(ts) | OpKind::TimerDelete(ts) => {
                self.keys.set_timer(ts, op.key, op.namespace)
            }
            _ => self.keys.set_key(op.key, op.namespace),
        }
        let db = &self.db.db;
        let cf = self.cf(op);
        let outcome = match op.kind {
            OpKind::ValueGet => match db.get_pinned_cf(cf, self.keys.bytes())? {
                Some(v) => {
                    let (body, _) = super::read_byte_array(&v).context("corrupt value")?;
                    Outcome {
                        found: true,
                        items: 1,
                        bytes: body.len() as u64,
                    }
                }
                None => Outcome::default(),
            },
            // A one-element list serializes exactly as a value: [length][bytes].
            OpKind::ValuePut(_) | OpKind::ListUpdate(_) => {
                self.put(op, value, false)?;
                Outcome::default()
            }
            OpKind::ValueClear | OpKind::ListClear => {
                db.delete_cf_opt(cf, self.keys.bytes(), &self.write)?;
                Outcome::default()
            }
            OpKind::ListGet => match db.get_pinned_cf(cf, self.keys.bytes())? {
                Some(v) => {
                    let (items, bytes) = parse_list(&v)?;
                    Outcome {
                        found: true,
                        items,
                        bytes,
                    }
                }
                None => Outcome::default(),
            },
            OpKind::ListAdd(_) => {
                self.value_buf.clear();
                super::write_byte_array(&mut self.value_buf, value);
                db.merge_cf_opt(cf, self.keys.bytes(), &self.value_buf, &self.write)?;
                Outcome::default()
            }
            OpKind::MapGet(uk) | OpKind::MapContains(uk) => {
                self.keys.set_user_key(uk);
                match db.get_pinned_cf(cf, self.keys.bytes())? {
                    Some(v) if matches!(op.kind, OpKind::MapGet(_)) => {
                        let (body, _) = v
                            .get(1..)
                            .and_then(super::read_byte_array)
                            .context("corrupt map value")?;
                        Outcome {
                            found: true,
                            items: 1,
                            bytes: body.len() as u64,
                        }
                    }
                    Some(_) => Outcome {
                        found: true,
                        items: 1,
                        bytes: 0,
                    },
                    None => Outcome::default(),
                }
            }
            OpKind::MapPut(uk, _) => {
                self.keys.set_user_key(uk);
                self.put(op, value, true)?;
                Outcome::default()
            }
            OpKind::MapRemove(uk) => {
                self.keys.set_user_key(uk);
                db.delete_cf_opt(cf, self.keys.bytes(), &self.write)?;
                Outcome::default()
            }
            OpKind::MapIterate => {
                let prefix = self.keys.bytes();
                let mut it = db.raw_iterator_cf(cf);
                it.seek(prefix);
                let (mut items, mut bytes) = (0u32, 0u64);
                while let (Some(k), Some(v)) = (it.key(), it.value()) {
                    if !k.starts_with(prefix) {
                        break;
                    }
                    let (body, _) = v
                        .get(1..)
                        .and_then(super::read_byte_array)
                        .context("corrupt map value")?;
                    items += 1;
                    bytes += body.len() as u64;
                    it.next();
                }
                it.status()?;
                Outcome {
                    found: items > 0,
                    items,
                    bytes,
                }
            }
            OpKind::MapClear => {
                self.delete_prefix(op)?;
                Outcome::default()
            }
            // RocksDBCachingPriorityQueueSet: a timer is a row with an empty value.
            OpKind::TimerRegister(_) => {
                db.put_cf_opt(cf, self.keys.bytes(), [], &self.write)?;
                Outcome::default()
            }
            OpKind::TimerDelete(_) => {
                db.delete_cf_opt(cf, self.keys.bytes(), &self.write)?;
                Outcome::default()
            }
        };
        Ok(outcome)
    }

    fn snapshot(&mut self, mode: CheckpointMode) -> Result<SyncSnapshot> {
        ensure!(mode != CheckpointMode::None, "no checkpoint mode given");
        let view = snapshot::RetainedSnapshot::take(&self.db, &self.layout);
        match mode {
            CheckpointMode::Full => Ok(snapshot::full(view, &self.layout)),
            _ => {
                self.local_checkpoints += 1;
                let local = self.dir.with_file_name(format!(
                    "{}-local-chk-{}",
                    file_name(&self.dir),
                    self.local_checkpoints
                ));
                snapshot::incremental(&self.db, view, local)
            }
        }
    }

    fn digest(&self) -> Result<Digest> {
        snapshot::digest_db(&self.db, &self.layout)
    }

    fn options_file(&self) -> Option<PathBuf> {
        options_file::latest_options_file(&self.dir)
    }
}

fn file_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "db".to_string())
}
