//! `state.backend.rocksdb.timer-service.factory: ROCKSDB` (Flink's default): event-time timers in
//! a column family of their own, as Flink's `RocksDBPriorityQueueSetFactory` keeps them.
//!
//! - Rows: `[key group][timestamp ^ sign bit, BE][key][namespace]` (`TimerSerializer` after the
//!   key-group prefix) with an empty value, so a key group's timers sort by time.
//! - Per key group a `RocksDBCachingPriorityQueueSet`: a `TreeOrderedSetCache` of at most
//!   `timer-service.cache-size` (default 128) of its first rows, write-through. When the cache
//!   runs empty and RocksDB may hold more, it is refilled by one iterator seek just past the last
//!   head removed (`seekHint` + a zero byte), which skips the tombstones of the deleted heads.
//! - Over them a `KeyGroupPartitionedPriorityQueue`: a heap of the key groups ordered by their
//!   heads, adjusted after every change; ordering asks each queue for its head, which may refill
//!   it.
//! - Writes go through one `RocksDBWriteBatchWrapper` shared by every timer queue of the backend
//!   (500 entries or `write-batch-size` bytes), flushed before a refill reads RocksDB and before
//!   every snapshot.

use std::collections::BTreeSet;

use anyhow::Result;
use rocksdb::{ColumnFamily, WriteBatch, WriteOptions, DB};

use super::layout::KeyBuilder;
use crate::backend::keygroup::{key_group, key_group_prefix_bytes};
use crate::backend::priority_queue::{HeapOrder, IndexedHeap};
use crate::workload::Namespace;

/// `RocksDBWriteBatchWrapper.DEFAULT_CAPACITY`: entries after which the batch is written.
const BATCH_CAPACITY: usize = 500;

/// Flink's `RocksDBWriteBatchWrapper`: puts and deletes collected and written together.
pub(super) struct TimerWriteBatch {
    batch: WriteBatch,
    /// `write-batch-size`: bytes after which the batch is written (0: entries only).
    batch_bytes: usize,
    write: WriteOptions,
}

impl TimerWriteBatch {
    /// An empty batch writing with `write` (the backend's options: WAL off).
    pub(super) fn new(batch_bytes: usize) -> TimerWriteBatch {
        let mut write = WriteOptions::default();
        write.disable_wal(true);
        TimerWriteBatch {
            batch: WriteBatch::default(),
            batch_bytes,
            write,
        }
    }

    fn put(&mut self, db: &DB, cf: &ColumnFamily, key: &[u8]) -> Result<()> {
        self.batch.put_cf(cf, key, []);
        self.flush_if_needed(db)
    }

    fn delete(&mut self, db: &DB, cf: &ColumnFamily, key: &[u8]) -> Result<()> {
        self.batch.delete_cf(cf, key);
        self.flush_if_needed(db)
    }

    fn flush_if_needed(&mut self, db: &DB) -> Result<()> {
        if self.batch.len() == BATCH_CAPACITY
            || (self.batch_bytes > 0 && self.batch.size_in_bytes() >= self.batch_bytes)
        {
            self.flush(db)?;
        }
        Ok(())
    }

    /// Writes what the batch holds.
    pub(super) fn flush(&mut self, db: &DB) -> Result<()> {
        if !self.batch.is_empty() {
            db.write_opt(std::mem::take(&mut self.batch), &self.write)?;
        }
        Ok(())
    }
}

/// `RocksDBCachingPriorityQueueSet` of one key group.
struct CachedKeyGroup {
    /// `TreeOrderedSetCache`: the first rows of the key group, lexicographically ordered.
    cache: BTreeSet<Vec<u8>>,
    /// Whether every row of the key group is in `cache`.
    all_in_cache: bool,
    /// Where a refill seeks from: the key-group prefix, later the last head removed.
    seek_hint: Vec<u8>,
    /// The key-group prefix.
    prefix: Vec<u8>,
    /// Index in the heap of key groups.
    heap_index: usize,
}

/// What the cached queues need to refill: the DB, the column family and the shared batch.
struct Store<'a> {
    db: &'a DB,
    cf: &'a ColumnFamily,
    batch: &'a mut TimerWriteBatch,
    cache_size: usize,
    prefix_bytes: usize,
}

impl CachedKeyGroup {
    /// `checkRefillCacheFromStore`: an empty cache that may not hold everything is reloaded
    /// with up to `cache_size` rows from one seek past `seek_hint`.
    fn refill(&mut self, store: &mut Store<'_>) -> Result<()> {
        if self.all_in_cache || !self.cache.is_empty() {
            return Ok(());
        }
        store.batch.flush(store.db)?;
        let mut it = store.db.raw_iterator_cf(store.cf);
        let mut from = self.seek_hint.clone();
        from.push(0);
        it.seek(&from);
        let mut has_next = false;
        while let Some(key) = it.key() {
            if !key.starts_with(&self.prefix) {
                break;
            }
            if self.cache.len() == store.cache_size {
                has_next = true;
                break;
            }
            self.cache.insert(key.to_vec());
            it.next();
        }
        it.status()?;
        self.all_in_cache = !has_next;
        Ok(())
    }

    /// The head's timestamp (`peek`), refilling first.
    fn head(&mut self, store: &mut Store<'_>) -> Result<Option<i64>> {
        self.refill(store)?;
        Ok(self.cache.first().map(|k| {
            let at = store.prefix_bytes;
            let flipped = u64::from_be_bytes(k[at..at + 8].try_into().expect("timer key"));
            (flipped ^ (1 << 63)) as i64
        }))
    }

    /// `add`: into the cache if it belongs among the first `cache_size`, always into RocksDB
    /// (write-through) unless the cache held it already. True if the head may have changed.
    fn add(&mut self, key: &[u8], store: &mut Store<'_>) -> Result<bool> {
        self.refill(store)?;
        let full = self.cache.len() >= store.cache_size;
        let before_last = self.cache.last().is_some_and(|last| key < last.as_slice());
        if (!full && self.all_in_cache) || before_last {
            if full {
                // The cache's last row now lives only in RocksDB.
                self.cache.pop_last();
                self.all_in_cache = false;
            }
            if self.cache.insert(key.to_vec()) {
                store.batch.put(store.db, store.cf, key)?;
                return Ok(self.cache.first().is_some_and(|f| f.as_slice() == key));
            }
        } else {
            store.batch.put(store.db, store.cf, key)?;
            self.all_in_cache = false;
        }
        Ok(false)
    }

    /// `remove`: from RocksDB and the cache; an emptied cache remembers the removed row as the
    /// next refill's seek hint. True if the head may have changed.
    fn remove(&mut self, key: &[u8], store: &mut Store<'_>) -> Result<bool> {
        self.refill(store)?;
        let Some(old_head) = self.cache.first().cloned() else {
            return Ok(false);
        };
        store.batch.delete(store.db, store.cf, key)?;
        self.cache.remove(key);
        if self.cache.is_empty() {
            self.seek_hint = key.to_vec();
            return Ok(true);
        }
        Ok(self.cache.first() != Some(&old_head))
    }
}

/// The key groups as the heap of heads sees them (`InternalPriorityQueueComparator`): by head
/// timestamp, empty queues last; asking for a head may refill a queue, as `peek` does in Flink.
struct HeadOrder<'a, 'b> {
    groups: &'a mut [CachedKeyGroup],
    store: &'a mut Store<'b>,
    error: Option<anyhow::Error>,
}

impl HeadOrder<'_, '_> {
    fn head(&mut self, kg: u32) -> Option<i64> {
        match self.groups[kg as usize].head(self.store) {
            Ok(head) => head,
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }
}

impl HeapOrder for HeadOrder<'_, '_> {
    fn less(&mut self, a: u32, b: u32) -> bool {
        match (self.head(a), self.head(b)) {
            (Some(a), Some(b)) => a < b,
            (Some(_), None) => true,
            _ => false,
        }
    }

    fn set_index(&mut self, element: u32, index: usize) {
        self.groups[element as usize].heap_index = index;
    }
}

/// One timer state's `KeyGroupPartitionedPriorityQueue` of cached RocksDB queues.
pub(super) struct RocksTimerQueue {
    cf: &'static ColumnFamily,
    groups: Vec<CachedKeyGroup>,
    heads: IndexedHeap,
    keys: KeyBuilder,
    max_parallelism: u32,
    prefix_bytes: usize,
    cache_size: usize,
}

impl RocksTimerQueue {
    /// The queue over `cf`'s rows, built as Flink builds it: every key group added to the heap
    /// of heads, which peeks (and so refills) them.
    pub(super) fn open(
        db: &DB,
        cf: &'static ColumnFamily,
        max_parallelism: u32,
        cache_size: usize,
        batch: &mut TimerWriteBatch,
    ) -> Result<RocksTimerQueue> {
        let prefix_bytes = key_group_prefix_bytes(max_parallelism);
        let groups = (0..max_parallelism)
            .map(|kg| {
                let prefix = kg.to_be_bytes()[4 - prefix_bytes..].to_vec();
                CachedKeyGroup {
                    cache: BTreeSet::new(),
                    all_in_cache: false,
                    seek_hint: prefix.clone(),
                    prefix,
                    heap_index: 0,
                }
            })
            .collect();
        let mut queue = RocksTimerQueue {
            cf,
            groups,
            heads: IndexedHeap::default(),
            keys: KeyBuilder::new(max_parallelism),
            max_parallelism,
            prefix_bytes,
            cache_size,
        };
        for kg in 0..max_parallelism {
            queue.with_order(db, batch, |heads, order| heads.add(kg, order))?;
        }
        Ok(queue)
    }

    /// The earliest timer's timestamp (`peek`).
    pub(super) fn peek(&mut self, db: &DB, batch: &mut TimerWriteBatch) -> Result<Option<i64>> {
        let Some(kg) = self.heads.peek() else {
            return Ok(None);
        };
        let mut store = self.store(db, batch);
        self.groups[kg as usize].head(&mut store)
    }

    /// Registers a timer (`add`, with `register`) or deletes one, a firing one included
    /// (`remove`), as `KeyGroupPartitionedPriorityQueue` does: the key group's queue changes,
    /// the heap of heads is adjusted when its head may have, and the overall head is peeked
    /// (before a removal, after an addition).
    pub(super) fn update(
        &mut self,
        db: &DB,
        batch: &mut TimerWriteBatch,
        register: bool,
        timer: (i64, u64, Namespace),
    ) -> Result<()> {
        let (timestamp, key, namespace) = timer;
        if !register {
            self.peek(db, batch)?;
        }
        self.keys.set_timer(timestamp, key, namespace);
        let kg = key_group(key, self.max_parallelism) as usize;
        let mut store = self.store(db, batch);
        let group = &mut self.groups[kg];
        let head_may_change = match register {
            true => group.add(self.keys.bytes(), &mut store)?,
            false => group.remove(self.keys.bytes(), &mut store)?,
        };
        if head_may_change {
            self.adjust(db, batch, kg)?;
            if register {
                self.peek(db, batch)?;
            }
        }
        Ok(())
    }

    /// `heapOfKeyGroupedHeaps.adjustModifiedElement`.
    fn adjust(&mut self, db: &DB, batch: &mut TimerWriteBatch, kg: usize) -> Result<()> {
        let index = self.groups[kg].heap_index;
        self.with_order(db, batch, |heads, order| heads.adjust(index, order))
    }

    fn store<'a>(&self, db: &'a DB, batch: &'a mut TimerWriteBatch) -> Store<'a> {
        Store {
            db,
            cf: self.cf,
            batch,
            cache_size: self.cache_size,
            prefix_bytes: self.prefix_bytes,
        }
    }

    /// Runs a heap operation with the key groups' heads as its order.
    fn with_order(
        &mut self,
        db: &DB,
        batch: &mut TimerWriteBatch,
        f: impl FnOnce(&mut IndexedHeap, &mut HeadOrder<'_, '_>),
    ) -> Result<()> {
        let mut store = self.store(db, batch);
        let mut order = HeadOrder {
            groups: &mut self.groups,
            store: &mut store,
            error: None,
        };
        f(&mut self.heads, &mut order);
        match order.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Rows cached over all key groups (what `timer-service.cache-size` bounds per key group).
    pub(super) fn cached_rows(&self) -> Vec<usize> {
        self.groups.iter().map(|g| g.cache.len()).collect()
    }
}
