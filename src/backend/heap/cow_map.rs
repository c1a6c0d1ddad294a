//! Flink's `CopyOnWriteStateMap` in Rust: the map of one state in one key group, from
//! (key, namespace) to a state object.
//!
//! Open hashing: a power-of-two bucket array of entry chains, new entries at the head of their
//! chain, doubled when it holds more than 3/4 of its capacity, incrementally: a second array of
//! twice the size takes over bucket by bucket, at least four entries moved per operation, while
//! the buckets below `rehash_index` are looked up in the new array.
//!
//! Copy-on-write by versions, as Flink does it. The map has a version, raised by every snapshot;
//! every entry carries the version it was made at (`entry_version`) and the version its state
//! object was put at (`state_version`). A snapshot copies only the bucket arrays (O(capacity)):
//! entries and states stay shared. While any snapshot is unreleased, the map never writes to an
//! entry older than the newest unreleased snapshot: it copies it first (and every older entry
//! before it in its chain, whose `next` would change), and `get` hands out a copy of a state
//! older than that snapshot, since the caller may change it in place. A snapshot is released
//! when the asynchronous phase has written it (or dropped it); from then on copying stops.
//!
//! Ownership (what the JVM's garbage collector does for Flink): every entry is owned either by
//! the live map (reachable from its arrays) or by the map's retired list (replaced or removed
//! while a snapshot could still read it). A retired entry is freed once no snapshot taken at or
//! before its retirement is unreleased. An entry no unreleased snapshot can reach (its version is
//! not older than the newest unreleased snapshot) is changed in place or freed at once. A map
//! dropped while snapshots are out hands its entries to them: the last one frees them.

use std::cell::Cell;
use std::collections::{BTreeSet, VecDeque};
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::workload::Namespace;

/// Buckets of a new map (`CopyOnWriteStateMap.DEFAULT_CAPACITY`).
const DEFAULT_CAPACITY: usize = 128;
/// No array grows beyond this (`MAXIMUM_CAPACITY`).
const MAXIMUM_CAPACITY: usize = 1 << 30;
/// Entries moved to the new array per operation during a rehash
/// (`MIN_TRANSFERRED_PER_INCREMENTAL_REHASH`).
const MIN_TRANSFERRED_PER_INCREMENTAL_REHASH: usize = 4;
/// `highest` when no snapshot is unreleased.
const NO_SNAPSHOT: u32 = 0;
/// `lowest` when no snapshot is unreleased.
const NO_LOWEST: u32 = u32::MAX;

/// A state object the map can copy when a snapshot still holds it (Flink's
/// `TypeSerializer.copy`): a deep copy, sharing nothing with the original. `Clone` shares.
pub trait CopyState: Clone {
    /// A copy sharing nothing with `self`.
    fn copy_state(&self) -> Self;
}

/// One (key, namespace) → state mapping and its copy-on-write versions (`StateMapEntry`).
struct Entry<S> {
    key: u64,
    namespace: Namespace,
    hash: u32,
    entry_version: u32,
    state_version: u32,
    next: *mut Entry<S>,
    state: S,
}

type Link<S> = *mut Entry<S>;

/// What a map shares with its snapshots: the unreleased snapshot versions (Flink's
/// `snapshotVersions`, guarded the same way) and their bounds as atomics the operator thread
/// reads on every access; and the entries of a map dropped while snapshots were out.
struct Shared<S> {
    versions: Mutex<BTreeSet<u32>>,
    /// Newest unreleased snapshot (`highestRequiredSnapshotVersion`), 0 when none.
    highest: AtomicU32,
    /// Oldest unreleased snapshot, `NO_LOWEST` when none: retired entries up to it are freed.
    lowest: AtomicU32,
    orphans: Mutex<Vec<Link<S>>>,
}

// SAFETY: the raw pointers in `orphans` are owned entries, only freed (once, in `drop`).
unsafe impl<S: Send> Send for Shared<S> {}
// SAFETY: `orphans` is only touched under its mutex and when the last owner drops.
unsafe impl<S: Send> Sync for Shared<S> {}

impl<S> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, BTreeSet<u32>> {
        self.versions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Recomputes the bounds after the set changed (under its lock).
    fn publish(&self, versions: &BTreeSet<u32>) {
        let highest = versions.last().copied().unwrap_or(NO_SNAPSHOT);
        let lowest = versions.first().copied().unwrap_or(NO_LOWEST);
        self.highest.store(highest, Ordering::Release);
        self.lowest.store(lowest, Ordering::Release);
    }

    /// `releaseSnapshot`: the snapshot of `version` reads no more.
    fn release(&self, version: u32) {
        let mut versions = self.lock();
        versions.remove(&version);
        self.publish(&versions);
    }
}

impl<S> Drop for Shared<S> {
    fn drop(&mut self) {
        let orphans = std::mem::take(
            self.orphans
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for entry in orphans {
            // SAFETY: orphans were owned by the dropped map and nothing reads them any more.
            drop(unsafe { Box::from_raw(entry) });
        }
    }
}

/// Flink's composite hash of key and namespace: `bitMix(key.hashCode() ^ namespace.hashCode())`.
fn composite_hash(key: u64, namespace: &Namespace) -> u32 {
    let key_hash = (key ^ (key >> 32)) as u32;
    bit_mix(key_hash ^ namespace_hash_code(namespace))
}

/// `MathUtils.bitMix`: Murmur3's finalizer.
fn bit_mix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// The namespace's Java `hashCode()`: `VoidNamespace` 99, `TimeWindow`
/// `longToIntWithBitMixing(start + end)`, a `String` its usual polynomial hash.
fn namespace_hash_code(namespace: &Namespace) -> u32 {
    const fn java_string_hash(s: &str) -> u32 {
        let bytes = s.as_bytes();
        let (mut h, mut i) = (0u32, 0);
        while i < bytes.len() {
            h = h.wrapping_mul(31).wrapping_add(bytes[i] as u32);
            i += 1;
        }
        h
    }
    const LEFT: u32 = java_string_hash("CLEANUP_LEFT");
    const RIGHT: u32 = java_string_hash("CLEANUP_RIGHT");
    match namespace {
        Namespace::Void => 99,
        Namespace::CleanupLeft => LEFT,
        Namespace::CleanupRight => RIGHT,
        Namespace::Window { start, end } => {
            let mut v = start.wrapping_add(*end) as u64;
            v = (v ^ (v >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
            v = (v ^ (v >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
            (v ^ (v >> 33)) as u32
        }
    }
}

/// Which of the two arrays an entry lives in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
    Primary,
    Rehash,
}

/// The map of one state in one key group.
pub struct CowStateMap<S> {
    primary: Vec<Link<S>>,
    /// The array being rehashed into; empty when no rehash is in progress.
    rehash: Vec<Link<S>>,
    primary_size: usize,
    rehash_size: usize,
    /// Buckets of `primary` below it have moved to `rehash`.
    rehash_index: usize,
    /// `stateMapVersion`: raised by every snapshot (a `Cell`: snapshots are taken through a
    /// shared borrow, as `Backend::view` holds one).
    version: Cell<u32>,
    threshold: usize,
    shared: Arc<Shared<S>>,
    /// Entries out of the map that a snapshot may still read, with the map version at which
    /// they left it (non-decreasing).
    retired: VecDeque<(u32, Link<S>)>,
}

// SAFETY: the map owns its entries; snapshots on other threads only read entries the map no
// longer writes (see the module comment), and states are `Send + Sync`.
unsafe impl<S: Send + Sync> Send for CowStateMap<S> {}

impl<S: CopyState> Default for CowStateMap<S> {
    fn default() -> Self {
        CowStateMap::new()
    }
}

impl<S: CopyState> CowStateMap<S> {
    /// An empty map of the default capacity.
    pub fn new() -> CowStateMap<S> {
        CowStateMap {
            primary: vec![ptr::null_mut(); DEFAULT_CAPACITY],
            rehash: Vec::new(),
            primary_size: 0,
            rehash_size: 0,
            rehash_index: 0,
            version: Cell::new(0),
            threshold: threshold_of(DEFAULT_CAPACITY),
            shared: Arc::new(Shared {
                versions: Mutex::new(BTreeSet::new()),
                highest: AtomicU32::new(NO_SNAPSHOT),
                lowest: AtomicU32::new(NO_LOWEST),
                orphans: Mutex::new(Vec::new()),
            }),
            retired: VecDeque::new(),
        }
    }

    /// Mappings held.
    pub fn len(&self) -> usize {
        self.primary_size + self.rehash_size
    }

    /// Whether the map holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The newest unreleased snapshot's version (0: none).
    #[inline]
    fn required(&self) -> u32 {
        self.shared.highest.load(Ordering::Acquire)
    }

    fn table(&mut self, table: Table) -> &mut Vec<Link<S>> {
        match table {
            Table::Primary => &mut self.primary,
            Table::Rehash => &mut self.rehash,
        }
    }

    /// The array responsible for `hash` (`selectActiveTable`).
    #[inline]
    fn active(&self, hash: u32) -> Table {
        if (hash as usize & (self.primary.len() - 1)) >= self.rehash_index {
            Table::Primary
        } else {
            Table::Rehash
        }
    }

    /// `computeHashForOperationAndDoIncrementalRehash`, and retired entries freed once no
    /// snapshot can read them.
    #[inline]
    fn hash_for_operation(&mut self, key: u64, namespace: &Namespace) -> u32 {
        if !self.retired.is_empty() {
            self.reclaim();
        }
        if !self.rehash.is_empty() {
            self.incremental_rehash();
        }
        composite_hash(key, namespace)
    }

    /// Finds the entry of (key, namespace) in the active array: (table, bucket, entry, previous).
    #[inline]
    fn find(&self, key: u64, namespace: &Namespace, hash: u32) -> (Table, usize, Link<S>, Link<S>) {
        let table = self.active(hash);
        let tab = match table {
            Table::Primary => &self.primary,
            Table::Rehash => &self.rehash,
        };
        let index = hash as usize & (tab.len() - 1);
        let (mut e, mut prev) = (tab[index], ptr::null_mut());
        while !e.is_null() {
            // SAFETY: entries reachable from the live arrays are alive; reading is always allowed.
            let entry = unsafe { &*e };
            if entry.hash == hash && entry.key == key && entry.namespace == *namespace {
                break;
            }
            prev = e;
            e = entry.next;
        }
        (table, index, e, prev)
    }

    /// Flink's `get`: the state of (key, namespace), for reading or changing in place. A state
    /// a snapshot still holds is copied first (and its entry, if the snapshot holds that too).
    #[inline(always)]
    pub fn get(&mut self, key: u64, namespace: &Namespace) -> Option<&mut S> {
        let hash = self.hash_for_operation(key, namespace);
        let (table, index, mut e, _) = self.find(key, namespace, hash);
        if e.is_null() {
            return None;
        }
        let required = self.required();
        // SAFETY: `e` is alive; it is written only after the version checks make it the map's own.
        unsafe {
            if (*e).state_version < required {
                if (*e).entry_version < required {
                    e = self.copy_chain_until(table, index, e, required);
                }
                let entry = &mut *e;
                entry.state_version = self.version.get();
                entry.state = entry.state.copy_state();
            }
            Some(&mut (*e).state)
        }
    }

    /// Flink's `putEntry`: the entry of (key, namespace) ready to take a new state (copied first
    /// if a snapshot holds it), or the place a new entry goes.
    #[inline(always)]
    pub fn put(&mut self, key: u64, namespace: Namespace) -> PutSlot<'_, S> {
        let hash = self.hash_for_operation(key, &namespace);
        let (table, index, mut e, _) = self.find(key, &namespace, hash);
        if !e.is_null() {
            let required = self.required();
            // SAFETY: alive; copied before anything is written to it if a snapshot holds it.
            unsafe {
                if (*e).entry_version < required {
                    e = self.copy_chain_until(table, index, e, required);
                }
            }
        }
        PutSlot {
            map: self,
            entry: e,
            key,
            namespace,
            hash,
        }
    }

    /// Removes (key, namespace); true if it was there (`removeEntry`).
    pub fn remove(&mut self, key: u64, namespace: &Namespace) -> bool {
        let hash = self.hash_for_operation(key, namespace);
        let (table, index, e, mut prev) = self.find(key, namespace, hash);
        if e.is_null() {
            return false;
        }
        let required = self.required();
        // SAFETY: `prev` is copied before its `next` is written if a snapshot holds it; `e` is
        // out of the map afterwards and retired or freed by `discard`.
        unsafe {
            if prev.is_null() {
                self.table(table)[index] = (*e).next;
            } else {
                if (*prev).entry_version < required {
                    prev = self.copy_chain_until(table, index, prev, required);
                }
                (*prev).next = (*e).next;
            }
            self.discard(e, required);
        }
        match table {
            Table::Primary => self.primary_size -= 1,
            Table::Rehash => self.rehash_size -= 1,
        }
        true
    }

    /// Inserts a new entry at the head of its chain (`addNewStateMapEntry`), doubling the
    /// capacity first if the map is over its threshold.
    fn insert(&mut self, key: u64, namespace: Namespace, hash: u32, state: S) {
        if self.len() > self.threshold {
            self.double_capacity();
        }
        let table = self.active(hash);
        let version = self.version.get();
        let tab = self.table(table);
        let index = hash as usize & (tab.len() - 1);
        let entry = Box::into_raw(Box::new(Entry {
            key,
            namespace,
            hash,
            entry_version: version,
            state_version: version,
            next: tab[index],
            state,
        }));
        tab[index] = entry;
        match table {
            Table::Primary => self.primary_size += 1,
            Table::Rehash => self.rehash_size += 1,
        }
    }

    /// Starts an incremental rehash into an array of twice the capacity (`doubleCapacity`).
    fn double_capacity(&mut self) {
        debug_assert!(self.rehash.is_empty(), "one rehash at a time");
        let capacity = self.primary.len();
        if capacity == MAXIMUM_CAPACITY {
            return;
        }
        self.threshold = threshold_of(capacity * 2);
        self.rehash = vec![ptr::null_mut(); capacity * 2];
    }

    /// Moves at least [`MIN_TRANSFERRED_PER_INCREMENTAL_REHASH`] entries (whole buckets) into
    /// the new array, copying those a snapshot holds (`incrementalRehash`).
    fn incremental_rehash(&mut self) {
        let required = self.required();
        let old_capacity = self.primary.len();
        let new_mask = self.rehash.len() - 1;
        let mut index = self.rehash_index;
        let mut transferred = 0;
        while transferred < MIN_TRANSFERRED_PER_INCREMENTAL_REHASH {
            let mut e = self.primary[index];
            while !e.is_null() {
                // SAFETY: `e` is alive; a held entry is copied before its `next` is written.
                unsafe {
                    if (*e).entry_version < required {
                        e = self.copy_entry(e);
                    }
                    let next = (*e).next;
                    let position = (*e).hash as usize & new_mask;
                    (*e).next = self.rehash[position];
                    self.rehash[position] = e;
                    e = next;
                }
                transferred += 1;
            }
            self.primary[index] = ptr::null_mut();
            index += 1;
            if index == old_capacity {
                self.primary = std::mem::take(&mut self.rehash);
                self.primary_size += self.rehash_size;
                self.rehash_size = 0;
                self.rehash_index = 0;
                return;
            }
        }
        self.primary_size -= transferred;
        self.rehash_size += transferred;
        self.rehash_index = index;
    }

    /// `handleChainedEntryCopyOnWrite`: copies every entry a snapshot holds from the head of the
    /// chain at `index` up to `until`, relinking the copies; returns `until`'s copy (or `until`).
    ///
    /// # Safety
    /// `until` must be in the chain at `index` of `table`.
    unsafe fn copy_chain_until(
        &mut self,
        table: Table,
        index: usize,
        until: Link<S>,
        required: u32,
    ) -> Link<S> {
        let mut current = self.table(table)[index];
        let mut copy;
        if (*current).entry_version < required {
            copy = self.copy_entry(current);
            self.table(table)[index] = copy;
        } else {
            copy = current;
        }
        while current != until {
            current = (*current).next;
            if (*current).entry_version < required {
                let next_copy = self.copy_entry(current);
                (*copy).next = next_copy;
                copy = next_copy;
            } else {
                copy = current;
            }
        }
        copy
    }

    /// A copy of `e` at the current version, sharing its state (Flink's copy constructor); `e`
    /// itself is retired.
    ///
    /// # Safety
    /// `e` must be alive and leaving the map.
    unsafe fn copy_entry(&mut self, e: Link<S>) -> Link<S> {
        let old = &*e;
        let copy = Box::into_raw(Box::new(Entry {
            key: old.key,
            namespace: old.namespace,
            hash: old.hash,
            entry_version: self.version.get(),
            state_version: old.state_version,
            next: old.next,
            state: old.state.clone(),
        }));
        self.retired.push_back((self.version.get(), e));
        copy
    }

    /// Disposes of an entry taken out of the map: retired if a snapshot may read it, else freed.
    ///
    /// # Safety
    /// `e` must be alive and no longer reachable from the live arrays.
    unsafe fn discard(&mut self, e: Link<S>, required: u32) {
        if (*e).entry_version < required {
            self.retired.push_back((self.version.get(), e));
        } else {
            drop(Box::from_raw(e));
        }
    }

    /// Frees retired entries that no unreleased snapshot can read.
    #[cold]
    fn reclaim(&mut self) {
        let lowest = self.shared.lowest.load(Ordering::Acquire);
        while let Some(&(retired_at, e)) = self.retired.front() {
            // Snapshots that can read `e` were taken at or before `retired_at`.
            if retired_at >= lowest {
                break;
            }
            self.retired.pop_front();
            // SAFETY: retired entries are owned by the list, and no snapshot reads this one.
            drop(unsafe { Box::from_raw(e) });
        }
    }

    /// Flink's `stateSnapshot` / `snapshotMapArrays`: raises the version, registers the
    /// snapshot and copies the bucket arrays (both parts while rehashing). O(capacity).
    pub fn snapshot(&self) -> MapSnapshot<S> {
        let version = self
            .version
            .get()
            .checked_add(1)
            .expect("2^32 snapshots of one state map");
        self.version.set(version);
        {
            let mut versions = self.shared.lock();
            versions.insert(version);
            self.shared.publish(&versions);
        }
        let mut heads = Vec::with_capacity(self.primary.len() + self.rehash_index);
        if self.rehash.is_empty() {
            heads.extend_from_slice(&self.primary);
        } else {
            let half = self.rehash.len() / 2;
            heads.extend_from_slice(&self.primary[self.rehash_index..]);
            heads.extend_from_slice(&self.rehash[..self.rehash_index]);
            heads.extend_from_slice(&self.rehash[half..half + self.rehash_index]);
        }
        MapSnapshot {
            heads,
            len: self.len(),
            version: self.version.get(),
            shared: Arc::clone(&self.shared),
        }
    }

    /// Every mapping of the live map.
    pub fn iter(&self) -> Entries<'_, S> {
        Entries::new(&self.primary, &self.rehash)
    }

    /// Calls `visit` with the mappings of the chain at `position` (primary array, then the
    /// rehash array) and returns the position after it, passing at most `max_empty` empty
    /// buckets; None at the end. For TTL cleanup, which reads entries where they are
    /// (`StateIncrementalVisitor` over `StateEntryChainIterator` with a bound on traversed
    /// positions).
    pub fn visit_chain(
        &self,
        position: usize,
        max_empty: usize,
        mut visit: impl FnMut(u64, &Namespace, &S),
    ) -> Option<usize> {
        let buckets = self.primary.len() + self.rehash.len();
        let mut position = position;
        for _ in 0..=max_empty {
            if position >= buckets {
                return None;
            }
            let head = if position < self.primary.len() {
                self.primary[position]
            } else {
                self.rehash[position - self.primary.len()]
            };
            position += 1;
            if !head.is_null() {
                let mut e = head;
                while !e.is_null() {
                    // SAFETY: alive, only read.
                    let entry = unsafe { &*e };
                    visit(entry.key, &entry.namespace, &entry.state);
                    e = entry.next;
                }
                break;
            }
        }
        Some(position)
    }
}

/// `threshold`: 3/4 of the capacity, or never at the largest capacity.
fn threshold_of(capacity: usize) -> usize {
    if capacity < MAXIMUM_CAPACITY {
        (capacity >> 1) + (capacity >> 2)
    } else {
        usize::MAX
    }
}

impl<S> Drop for CowStateMap<S> {
    fn drop(&mut self) {
        let mut owned: Vec<Link<S>> = self.retired.drain(..).map(|(_, e)| e).collect();
        for &head in self.primary.iter().chain(&self.rehash) {
            let mut e = head;
            while !e.is_null() {
                owned.push(e);
                // SAFETY: alive until freed below.
                e = unsafe { (*e).next };
            }
        }
        if self.shared.lowest.load(Ordering::Acquire) == NO_LOWEST {
            for e in owned {
                // SAFETY: owned by this map (live or retired), freed once, no snapshot out.
                drop(unsafe { Box::from_raw(e) });
            }
        } else {
            // Snapshots are still reading: the last of them frees the entries.
            self.shared
                .orphans
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .extend(owned);
        }
    }
}

/// Where [`CowStateMap::put`] puts a state: an existing entry the map owns, or a new one.
pub struct PutSlot<'a, S> {
    map: &'a mut CowStateMap<S>,
    entry: Link<S>,
    key: u64,
    namespace: Namespace,
    hash: u32,
}

impl<S: CopyState> PutSlot<'_, S> {
    /// The current state, if there is one and no snapshot holds it: it may be overwritten in
    /// place instead of replaced (what a new state would be, without allocating one).
    pub fn reusable(&mut self) -> Option<&mut S> {
        if self.entry.is_null() {
            return None;
        }
        // SAFETY: `put` made the entry the map's own; the state is the map's own when its
        // version is not older than the newest unreleased snapshot.
        unsafe {
            let entry = &mut *self.entry;
            (entry.state_version >= self.map.required()).then(|| {
                entry.state_version = self.map.version.get();
                &mut entry.state
            })
        }
    }

    /// Puts `state` (Flink's `put`: `e.state = value; e.stateVersion = stateMapVersion`).
    pub fn set(self, state: S) {
        if self.entry.is_null() {
            self.map.insert(self.key, self.namespace, self.hash, state);
        } else {
            // SAFETY: `put` made the entry the map's own.
            let entry = unsafe { &mut *self.entry };
            entry.state = state;
            entry.state_version = self.map.version.get();
        }
    }
}

/// The mappings of a map's arrays, chain by chain.
pub struct Entries<'a, S> {
    heads: std::iter::Chain<std::slice::Iter<'a, Link<S>>, std::slice::Iter<'a, Link<S>>>,
    next: Link<S>,
}

impl<'a, S> Entries<'a, S> {
    fn new(first: &'a [Link<S>], second: &'a [Link<S>]) -> Entries<'a, S> {
        Entries {
            heads: first.iter().chain(second.iter()),
            next: ptr::null_mut(),
        }
    }
}

impl<'a, S: 'a> Iterator for Entries<'a, S> {
    type Item = (u64, &'a Namespace, &'a S);

    fn next(&mut self) -> Option<Self::Item> {
        while self.next.is_null() {
            self.next = *self.heads.next()?;
        }
        // SAFETY: entries reachable from the arrays iterated (live, or held by an unreleased
        // snapshot) are alive and unchanged for the iterator's lifetime.
        let entry = unsafe { &*self.next };
        self.next = entry.next;
        Some((entry.key, &entry.namespace, &entry.state))
    }
}

/// A snapshot of one map (`CopyOnWriteStateMapSnapshot`): the copied bucket arrays. Entries
/// reached through them are the map's as they were at the snapshot. Dropping it releases it.
pub struct MapSnapshot<S> {
    heads: Vec<Link<S>>,
    len: usize,
    version: u32,
    shared: Arc<Shared<S>>,
}

// SAFETY: a snapshot only reads entries the map no longer writes or frees while it is
// unreleased (or that it owns through `shared` once the map is gone).
unsafe impl<S: Send + Sync> Send for MapSnapshot<S> {}

impl<S> MapSnapshot<S> {
    /// Mappings in the snapshot (`numberOfEntriesInSnapshotData`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the snapshot holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every mapping in the snapshot.
    pub fn iter(&self) -> Entries<'_, S> {
        Entries::new(&self.heads, &[])
    }
}

impl<S> Drop for MapSnapshot<S> {
    fn drop(&mut self) {
        self.shared.release(self.version);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A state whose copies are told apart from shared clones.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Cell(Arc<u64>);

    impl CopyState for Cell {
        fn copy_state(&self) -> Self {
            Cell(Arc::new(*self.0))
        }
    }

    fn put(map: &mut CowStateMap<Cell>, key: u64, value: u64) {
        map.put(key, Namespace::Void).set(Cell(Arc::new(value)));
    }

    fn contents(entries: Entries<'_, Cell>) -> HashMap<u64, u64> {
        entries.map(|(k, _, s)| (k, *s.0)).collect()
    }

    #[test]
    fn hashes_are_flinks() {
        // Java: MathUtils.bitMix(Long.valueOf(42).hashCode() ^ VoidNamespace.INSTANCE.hashCode())
        assert_eq!(composite_hash(42, &Namespace::Void), bit_mix(42 ^ 99));
        // Java: "CLEANUP_LEFT".hashCode()
        assert_eq!(namespace_hash_code(&Namespace::CleanupLeft), 2_038_325_474);
    }

    #[test]
    fn a_model_and_snapshots_agree_through_rehashes() {
        let mut map: CowStateMap<Cell> = CowStateMap::new();
        let mut model = HashMap::new();
        let mut snapshots: Vec<(MapSnapshot<Cell>, HashMap<u64, u64>)> = Vec::new();
        let mut x = 1u64;
        for step in 0..60_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = x % 5_000;
            match x % 7 {
                0 | 1 => {
                    map.remove(key, &Namespace::Void);
                    model.remove(&key);
                }
                2 => {
                    let got = map.get(key, &Namespace::Void).map(|c| *c.0);
                    assert_eq!(got, model.get(&key).copied());
                    if let Some(c) = map.get(key, &Namespace::Void) {
                        // Changing a state in place must not reach a snapshot.
                        *Arc::make_mut(&mut c.0) += 1;
                        *model.get_mut(&key).unwrap() += 1;
                    }
                }
                3 => {
                    let mut slot = map.put(key, Namespace::Void);
                    match slot.reusable() {
                        Some(c) => *Arc::get_mut(&mut c.0).unwrap() = step,
                        None => slot.set(Cell(Arc::new(step))),
                    }
                    model.insert(key, step);
                }
                _ => {
                    put(&mut map, key, step);
                    model.insert(key, step);
                }
            }
            if step % 5_000 == 0 {
                snapshots.push((map.snapshot(), model.clone()));
            }
            if step % 7_000 == 0 && !snapshots.is_empty() {
                let (snapshot, expected) = snapshots.remove(0);
                assert_eq!(snapshot.len(), expected.len());
                assert_eq!(contents(snapshot.iter()), expected, "step {step}");
            }
        }
        assert_eq!(map.len(), model.len());
        assert_eq!(contents(map.iter()), model);
        for (snapshot, expected) in &snapshots {
            assert_eq!(contents(snapshot.iter()), *expected);
        }
        drop(snapshots);
        put(&mut map, 1, 1);
        assert!(
            map.retired.is_empty(),
            "released snapshots free retired entries"
        );
    }

    #[test]
    fn a_snapshot_read_on_another_thread_sees_its_moment() {
        let mut map: CowStateMap<Cell> = CowStateMap::new();
        for key in 0..20_000 {
            put(&mut map, key, key);
        }
        let snapshot = map.snapshot();
        let reader = std::thread::spawn(move || {
            let seen = contents(snapshot.iter());
            (seen.len(), seen.iter().all(|(k, v)| k == v))
        });
        for key in 0..40_000 {
            put(&mut map, key, key + 1);
            if key % 3 == 0 {
                map.remove(key, &Namespace::Void);
            }
        }
        assert_eq!(reader.join().unwrap(), (20_000, true));
        // The map goes while a snapshot is out: the snapshot frees what it still reads.
        let late = map.snapshot();
        let expected = contents(map.iter());
        drop(map);
        assert_eq!(contents(late.iter()), expected);
    }

    #[test]
    fn copying_stops_when_the_snapshot_is_released() {
        let mut map: CowStateMap<Cell> = CowStateMap::new();
        put(&mut map, 7, 1);
        let snapshot = map.snapshot();
        assert!(
            map.put(7, Namespace::Void).reusable().is_none(),
            "held, not overwritten"
        );
        let held = Arc::as_ptr(&snapshot.iter().next().unwrap().2 .0);
        let live = Arc::as_ptr(&map.get(7, &Namespace::Void).unwrap().0);
        assert_ne!(held, live, "get copies a state a snapshot holds");
        drop(snapshot);
        let first = Arc::as_ptr(&map.get(7, &Namespace::Void).unwrap().0);
        let second = Arc::as_ptr(&map.get(7, &Namespace::Void).unwrap().0);
        assert_eq!(first, second, "no copies without a snapshot");
        assert!(map.put(7, Namespace::Void).reusable().is_some());
    }
}
