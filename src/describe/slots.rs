//! The tables describe keeps a record per (state, key, namespace) in, and the sets of keys,
//! (state, namespace) pairs and windows it counts: open addressing with linear probing, records
//! stored in the buckets, so a lookup touches one or two cache lines, and a record's bucket can
//! be prefetched from its key's hash before the op that needs it is applied. The tables outgrow
//! every cache on the large workloads, where a lookup is a cache miss: prefetching the next
//! ops' buckets lets those misses overlap instead of queueing one after another, which std's
//! `HashMap` (no prefetch) cannot.

use std::collections::VecDeque;
use std::hash::Hasher;

use crate::fxhash::FxHasher;
use crate::workload::{Namespace, StateId, StateOp};

/// What a table is keyed by: a key with a hash, and one value no real key takes, which marks an
/// empty bucket.
pub(super) trait TableKey: Copy + Eq {
    /// The key of an empty bucket.
    const EMPTY: Self;

    /// Whether this is [`TableKey::EMPTY`].
    fn is_empty(&self) -> bool;

    fn hash(&self) -> u64;
}

/// `namespace` of an empty bucket's key.
const EMPTY: u8 = u8::MAX;

/// A (state, key, namespace) packed into 32 bytes (the tuple takes 40): the keys are a third
/// of the table, and a smaller table misses the cache less.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SlotKey {
    key: u64,
    start: i64,
    end: i64,
    state: StateId,
    /// 0 void, 1 and 2 the interval join's cleanup namespaces, 3 a window, [`EMPTY`].
    namespace: u8,
}

impl SlotKey {
    /// The slot `op` accesses.
    pub(super) fn of(op: &StateOp) -> SlotKey {
        SlotKey::new(op.state, op.key, op.namespace)
    }

    /// The (state, namespace) `op` accesses, whatever its key.
    pub(super) fn namespace_of(op: &StateOp) -> SlotKey {
        SlotKey::new(op.state, 0, op.namespace)
    }

    /// The (key, namespace) `op` accesses, whatever its state: a window of a key.
    pub(super) fn window_of(op: &StateOp) -> SlotKey {
        SlotKey::new(0, op.key, op.namespace)
    }

    fn new(state: StateId, key: u64, namespace: Namespace) -> SlotKey {
        let (namespace, start, end) = match namespace {
            Namespace::Void => (0, 0, 0),
            Namespace::CleanupLeft => (1, 0, 0),
            Namespace::CleanupRight => (2, 0, 0),
            Namespace::Window { start, end } => (3, start, end),
        };
        SlotKey {
            key,
            start,
            end,
            state,
            namespace,
        }
    }
}

impl TableKey for SlotKey {
    const EMPTY: SlotKey = SlotKey {
        key: 0,
        start: 0,
        end: 0,
        state: 0,
        namespace: EMPTY,
    };

    fn is_empty(&self) -> bool {
        self.namespace == EMPTY
    }

    /// The state is left out: the slots of one key and namespace in its states (a window's
    /// contents and timers, a dedup flag and its timer) are then neighbours in one probe run,
    /// mostly in the lines one prefetch loads, and an event touching several costs one miss.
    fn hash(&self) -> u64 {
        let mut h = FxHasher::default();
        h.write_u64(self.key);
        h.write_u64(self.start as u64);
        h.write_u64(self.end as u64);
        h.write_u64(u64::from(self.namespace));
        h.finish()
    }
}

/// A key alone, 8 bytes a bucket; `u64::MAX` marks an empty bucket ([`KeySet`] holds that key
/// beside its table).
impl TableKey for u64 {
    const EMPTY: u64 = u64::MAX;

    fn is_empty(&self) -> bool {
        *self == u64::MAX
    }

    fn hash(&self) -> u64 {
        let mut h = FxHasher::default();
        h.write_u64(*self);
        h.finish()
    }
}

/// Records of type `V` by key `K`; `V::default()` is what an empty bucket holds.
#[derive(Debug)]
pub(super) struct SlotTable<K, V> {
    buckets: Vec<(K, V)>,
    len: usize,
}

impl<K: TableKey, V: Default> SlotTable<K, V> {
    /// An empty table.
    pub(super) fn new() -> SlotTable<K, V> {
        SlotTable {
            buckets: Self::empty_buckets(1 << 10),
            len: 0,
        }
    }

    fn empty_buckets(n: usize) -> Vec<(K, V)> {
        (0..n).map(|_| (K::EMPTY, V::default())).collect()
    }

    fn mask(&self) -> usize {
        self.buckets.len() - 1
    }

    fn home(&self, key: &K) -> usize {
        key.hash() as usize & self.mask()
    }

    /// Asks the CPU to start loading the bucket `key` starts probing at (and the next line): a
    /// hint, nothing changes.
    pub(super) fn prefetch(&self, key: &K) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let bucket = &self.buckets[self.home(key)] as *const (K, V) as *const i8;
            // SAFETY: prefetching reads nothing and faults on no address; both lines are in (or
            // just past) the live allocation.
            unsafe {
                _mm_prefetch(bucket, _MM_HINT_T0);
                _mm_prefetch(bucket.wrapping_add(64), _MM_HINT_T0);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = key;
    }

    /// The bucket of `key`, a default record inserted if there was none.
    pub(super) fn bucket_of(&mut self, key: K) -> usize {
        if 2 * (self.len + 1) > self.buckets.len() {
            self.grow();
        }
        let mask = self.mask();
        let mut at = self.home(&key);
        loop {
            let k = &self.buckets[at].0;
            if *k == key {
                return at;
            }
            if k.is_empty() {
                self.buckets[at].0 = key;
                self.len += 1;
                return at;
            }
            at = (at + 1) & mask;
        }
    }

    /// The record in bucket `at` (from [`SlotTable::bucket_of`], no insert or removal since).
    pub(super) fn at(&mut self, at: usize) -> &mut V {
        &mut self.buckets[at].1
    }

    /// Empties bucket `at`, moving later records of its probe run back so every record stays
    /// reachable from its home bucket (no tombstones).
    pub(super) fn remove_at(&mut self, mut at: usize) {
        let mask = self.mask();
        self.buckets[at] = (K::EMPTY, V::default());
        self.len -= 1;
        let mut next = (at + 1) & mask;
        while !self.buckets[next].0.is_empty() {
            let home = self.home(&self.buckets[next].0);
            // The record at `next` may move to `at` unless its home lies cyclically in (at, next].
            let stays = if at <= next {
                at < home && home <= next
            } else {
                at < home || home <= next
            };
            if !stays {
                self.buckets.swap(at, next);
                at = next;
            }
            next = (next + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let doubled = Self::empty_buckets(2 * self.buckets.len());
        let old = std::mem::replace(&mut self.buckets, doubled);
        let mask = self.mask();
        for (key, value) in old.into_iter().filter(|(k, _)| !k.is_empty()) {
            let mut at = self.home(&key);
            while !self.buckets[at].0.is_empty() {
                at = (at + 1) & mask;
            }
            self.buckets[at] = (key, value);
        }
    }

    /// Records held.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Every record.
    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.buckets
            .iter()
            .filter(|(k, _)| !k.is_empty())
            .map(|(_, v)| v)
    }
}

/// Inserts queued before they reach a [`LateSet`]'s table: enough for the prefetched buckets to
/// arrive, few enough that they are still cached when written.
const LATE_INSERTS: usize = 16;

/// A set of slot keys, each insert made a few inserts late: its bucket is prefetched when it is
/// queued and written when it leaves the queue, so the inserts' cache misses overlap. For a set
/// that is only counted at the end (the windows given elements), looked up when its key is known
/// and not before.
#[derive(Debug)]
pub(super) struct LateSet {
    table: SlotTable<SlotKey, ()>,
    queue: VecDeque<SlotKey>,
}

impl LateSet {
    /// An empty set.
    pub(super) fn new() -> LateSet {
        LateSet {
            table: SlotTable::new(),
            queue: VecDeque::with_capacity(LATE_INSERTS + 1),
        }
    }

    /// Adds `key` (to the table a few inserts from now).
    pub(super) fn insert(&mut self, key: SlotKey) {
        self.table.prefetch(&key);
        self.queue.push_back(key);
        if self.queue.len() > LATE_INSERTS {
            self.flush_one();
        }
    }

    fn flush_one(&mut self) {
        if let Some(key) = self.queue.pop_front() {
            self.table.bucket_of(key);
        }
    }

    /// Keys held (the queued ones inserted first).
    pub(super) fn len(&mut self) -> usize {
        while !self.queue.is_empty() {
            self.flush_one();
        }
        self.table.len()
    }
}

/// A set of keys (each `u64`, the empty-bucket mark included), prefetchable as the tables are.
#[derive(Debug)]
pub(super) struct KeySet {
    table: SlotTable<u64, ()>,
    /// Whether the set holds `u64::MAX`, the table's empty-bucket mark.
    holds_max: bool,
}

impl KeySet {
    /// An empty set.
    pub(super) fn new() -> KeySet {
        KeySet {
            table: SlotTable::new(),
            holds_max: false,
        }
    }

    /// Starts loading the bucket `key` would be in.
    pub(super) fn prefetch(&self, key: u64) {
        self.table.prefetch(&key);
    }

    /// Adds `key`.
    pub(super) fn insert(&mut self, key: u64) {
        match key.is_empty() {
            true => self.holds_max = true,
            false => {
                self.table.bucket_of(key);
            }
        }
    }

    /// Keys held.
    pub(super) fn len(&self) -> usize {
        self.table.len() + usize::from(self.holds_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn key(n: u64) -> SlotKey {
        SlotKey {
            key: n % 97,
            start: (n / 97) as i64,
            end: 0,
            state: 0,
            namespace: 3,
        }
    }

    /// Inserts and removals in a pseudo-random order, growing the table several times, against
    /// std's map: every record stays findable and removed ones stay gone.
    #[test]
    fn agrees_with_a_hash_map_through_inserts_removals_and_growth() {
        let mut table: SlotTable<SlotKey, u64> = SlotTable::new();
        let mut reference = HashMap::new();
        let mut x = 1u64;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = key(x % 20_000);
            let at = table.bucket_of(k);
            assert_eq!(
                *table.at(at),
                *reference.get(&(x % 20_000)).unwrap_or(&0),
                "op {i}"
            );
            if x.is_multiple_of(3) {
                table.remove_at(at);
                reference.remove(&(x % 20_000));
            } else {
                *table.at(at) = i + 1;
                reference.insert(x % 20_000, i + 1);
            }
        }
        assert_eq!(table.len, reference.len());
        let mut values: Vec<u64> = table.values().copied().collect();
        let mut expected: Vec<u64> = reference.values().copied().collect();
        values.sort_unstable();
        expected.sort_unstable();
        assert_eq!(values, expected);
    }

    /// The empty-bucket mark is a key like any other to the set.
    #[test]
    fn a_key_set_counts_every_key_the_empty_mark_included() {
        let mut set = KeySet::new();
        for key in [u64::MAX, 0, 5, u64::MAX, 5, u64::MAX - 1] {
            set.insert(key);
        }
        assert_eq!(set.len(), 4);
    }

    /// A key inserted twice, queued or not, counts once.
    #[test]
    fn a_late_set_counts_each_key_once_queued_or_not() {
        let mut set = LateSet::new();
        for n in 0..1_000 {
            set.insert(key(n % 300));
            set.insert(key(n % 7));
        }
        assert_eq!(set.len(), 300);
        set.insert(key(299));
        set.insert(key(300));
        assert_eq!(set.len(), 301);
    }
}
