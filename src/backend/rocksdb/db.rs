//! The RocksDB instance of one backend: the DB, opened with Flink's options, and a handle per
//! state column family.

use std::path::Path;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use anyhow::{Context, Result};
use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, DB};

use super::options::{self, SharedMemory};
use super::values::ValueCodec;
use super::RocksDbConfig;
use crate::backend::api::StateLayout;
use crate::workload::StateKind;

/// A RocksDB instance with a handle per state column family.
///
/// The handles borrow from the DB inside the `Arc`, which this struct keeps alive; only the RocksDB
/// backend's own files see them, and they keep the `Arc` beside every copy of them.
pub(super) struct OpenDb {
    /// The state column families' handles, indexed by `StateId`.
    pub(super) cfs: Vec<&'static ColumnFamily>,
    /// The DB.
    pub(super) db: Arc<DB>,
    /// The DB options, which own the statistics object the tickers are read from.
    pub(super) db_opts: rocksdb::Options,
    /// Whether the DB has a statistics object, so that its tickers count.
    pub(super) statistics: bool,
}

impl OpenDb {
    /// Opens (or creates) the DB in `dir` with a column family per state of `layout`, under
    /// `config`'s settings and memory; TTL compaction filters read the time from `now`.
    pub(super) fn open(
        config: &RocksDbConfig,
        layout: &StateLayout,
        dir: &Path,
        now: &Arc<AtomicI64>,
    ) -> Result<OpenDb> {
        let settings = &config.settings;
        let shared = SharedMemory::new(&config.memory)?;
        let mut db_opts = options::db_options(settings, shared.as_ref());
        let statistics = config.statistics_level().level();
        if let Some(level) = statistics {
            db_opts.enable_statistics();
            db_opts.set_statistics_level(level);
        }
        if config.direct_io {
            db_opts.set_use_direct_reads(true);
            db_opts.set_use_direct_io_for_flush_and_compaction(true);
        }
        let codec = ValueCodec { ttl: layout.ttl };
        let cf = |name: &str, kind: Option<StateKind>| {
            let mut options = options::cf_options(settings, shared.as_ref());
            if let Some(kind) = kind.filter(|k| *k != StateKind::Timer && layout.ttl.is_some()) {
                options.set_compaction_filter(
                    "FlinkCompactionFilter",
                    codec.compaction_filter(kind, Arc::clone(now)),
                );
            }
            ColumnFamilyDescriptor::new(name, options)
        };
        let descriptors: Vec<_> = std::iter::once(cf("default", None))
            .chain(
                layout
                    .states
                    .iter()
                    .map(|(name, kind)| cf(name, Some(*kind))),
            )
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
        Ok(OpenDb {
            cfs,
            db,
            db_opts,
            statistics: statistics.is_some(),
        })
    }
}
