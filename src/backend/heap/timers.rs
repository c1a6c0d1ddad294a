//! Flink's `HeapPriorityQueueSet`, the heap backend's timer queue: one array-based binary heap
//! over all of a timer service's timers, ordered by timestamp (the head at index 1, as
//! `HeapPriorityQueue` keeps it), and per key group a deduplication map from timer to element,
//! so a timer registered twice is held once and a timer is deleted by looking it up. Elements
//! know their index in the heap (`HeapPriorityQueueElement.getInternalIndex`), so deleting one
//! is O(log n).
//!
//! A snapshot copies the queue in the synchronous phase (`toArray`, what
//! `HeapPriorityQueueSnapshotRestoreWrapper.stateSnapshot` does): the heap array and the element
//! store, each in one sequential copy; the asynchronous phase partitions the copy by key group.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::cow_map::namespace_hash_code;
use crate::backend::keygroup::key_group;
use crate::workload::Namespace;

/// Index of the head in the heap array (`QUEUE_HEAD_INDEX`).
const QUEUE_HEAD_INDEX: usize = 1;

/// One timer as Flink's `TimerHeapInternalTimer` holds it (without its heap index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Timer {
    /// When it fires, ms.
    pub(super) timestamp: i64,
    /// Its key.
    pub(super) key: u64,
    /// Its namespace.
    pub(super) namespace: Namespace,
}

impl Hash for Timer {
    /// `TimerHeapInternalTimer.hashCode`: 31-polynomial over timestamp, key and namespace hash.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let timestamp = self.timestamp as u64;
        let timestamp = (timestamp ^ (timestamp >> 32)) as u32;
        let key = (self.key ^ (self.key >> 32)) as u32;
        let namespace = namespace_hash_code(&self.namespace);
        let h = timestamp
            .wrapping_mul(31)
            .wrapping_add(key)
            .wrapping_mul(31)
            .wrapping_add(namespace);
        state.write_u32(h);
    }
}

/// Spreads a Java-style 32-bit hash code over 64 bits (hashbrown reads the top bits).
#[derive(Default)]
struct SpreadHasher(u64);

impl Hasher for SpreadHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u32(b as u32);
        }
    }

    fn write_u32(&mut self, code: u32) {
        self.0 = (self.0 ^ code as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type DedupMap = HashMap<Timer, u32, BuildHasherDefault<SpreadHasher>>;

/// An element of the queue: a timer and its index in the heap array.
#[derive(Clone, Copy, Debug)]
struct Element {
    timer: Timer,
    heap_index: u32,
}

/// The timers of a heap array, in its order.
fn in_heap_order<'a>(heap: &'a [u32], elements: &'a [Element]) -> impl Iterator<Item = &'a Timer> {
    heap[QUEUE_HEAD_INDEX..]
        .iter()
        .map(move |&id| &elements[id as usize].timer)
}

/// A timer queue as a snapshot's synchronous phase copied it.
pub(super) struct QueueSnapshot {
    heap: Vec<u32>,
    elements: Vec<Element>,
}

impl QueueSnapshot {
    /// The timers, in the queue's heap-array order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Timer> {
        in_heap_order(&self.heap, &self.elements)
    }
}

/// One timer service's queue (`HeapPriorityQueueSet`).
#[derive(Debug)]
pub(super) struct TimerQueue {
    /// The heap array of element ids; index 0 unused.
    heap: Vec<u32>,
    /// Elements by id (what the JVM heap holds for Flink), with free ids for reuse.
    elements: Vec<Element>,
    free: Vec<u32>,
    /// Per key group: timer → element id (`deduplicationMapsByKeyGroup`).
    dedup: Vec<DedupMap>,
    max_parallelism: u32,
}

impl TimerQueue {
    /// An empty queue over `max_parallelism` key groups.
    pub(super) fn new(max_parallelism: u32) -> TimerQueue {
        TimerQueue {
            heap: vec![u32::MAX],
            elements: Vec::new(),
            free: Vec::new(),
            dedup: (0..max_parallelism).map(|_| DedupMap::default()).collect(),
            max_parallelism,
        }
    }

    /// Timers held.
    pub(super) fn len(&self) -> usize {
        self.heap.len() - QUEUE_HEAD_INDEX
    }

    /// `add`: registers a timer unless it is registered already.
    pub(super) fn add(&mut self, timer: Timer) {
        let kg = key_group(timer.key, self.max_parallelism) as usize;
        if self.dedup[kg].contains_key(&timer) {
            return;
        }
        let index = self.heap.len();
        let element = Element {
            timer,
            heap_index: index as u32,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.elements[id as usize] = element;
                id
            }
            None => {
                self.elements.push(element);
                (self.elements.len() - 1) as u32
            }
        };
        self.dedup[kg].insert(timer, id);
        self.heap.push(id);
        self.sift_up(index);
    }

    /// `remove`: deletes a timer; false if it was not registered.
    pub(super) fn remove(&mut self, timer: &Timer) -> bool {
        let kg = key_group(timer.key, self.max_parallelism) as usize;
        let Some(id) = self.dedup[kg].remove(timer) else {
            return false;
        };
        let index = self.elements[id as usize].heap_index as usize;
        let last = self.heap.pop().expect("a registered timer is in the heap");
        if index < self.heap.len() {
            self.place(last, index);
            self.sift_down(index);
            if self.heap[index] == last {
                self.sift_up(index);
            }
        }
        self.free.push(id);
        true
    }

    /// The timers in heap-array order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Timer> {
        in_heap_order(&self.heap, &self.elements)
    }

    /// The synchronous phase's copy of the queue (`toArray`): the heap array and the elements
    /// it points into, each copied whole.
    pub(super) fn snapshot(&self) -> QueueSnapshot {
        QueueSnapshot {
            heap: self.heap.clone(),
            elements: self.elements.clone(),
        }
    }

    fn place(&mut self, id: u32, index: usize) {
        self.heap[index] = id;
        self.elements[id as usize].heap_index = index as u32;
    }

    fn timestamp_at(&self, index: usize) -> i64 {
        self.elements[self.heap[index] as usize].timer.timestamp
    }

    fn sift_up(&mut self, mut index: usize) {
        let id = self.heap[index];
        let timestamp = self.elements[id as usize].timer.timestamp;
        let mut parent = index >> 1;
        while parent >= QUEUE_HEAD_INDEX && timestamp < self.timestamp_at(parent) {
            self.place(self.heap[parent], index);
            index = parent;
            parent >>= 1;
        }
        self.place(id, index);
    }

    fn sift_down(&mut self, mut index: usize) {
        let size = self.heap.len() - 1;
        let id = self.heap[index];
        let timestamp = self.elements[id as usize].timer.timestamp;
        loop {
            let mut child = index << 1;
            if child > size {
                break;
            }
            if child < size && self.timestamp_at(child + 1) < self.timestamp_at(child) {
                child += 1;
            }
            if self.timestamp_at(child) >= timestamp {
                break;
            }
            self.place(self.heap[child], index);
            index = child;
        }
        self.place(id, index);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_head_is_the_earliest_and_sets_deduplicate() {
        let mut queue = TimerQueue::new(128);
        let mut model = BTreeSet::new();
        let mut x = 7u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let timer = Timer {
                timestamp: (x % 500) as i64,
                key: (x >> 20) % 50,
                namespace: Namespace::Void,
            };
            if x.is_multiple_of(3) {
                assert_eq!(
                    queue.remove(&timer),
                    model.remove(&(timer.timestamp, timer.key))
                );
            } else {
                queue.add(timer);
                model.insert((timer.timestamp, timer.key));
            }
            assert_eq!(queue.len(), model.len());
            let head = queue.heap.get(QUEUE_HEAD_INDEX);
            assert_eq!(
                head.map(|&id| queue.elements[id as usize].timer.timestamp),
                model.first().map(|(ts, _)| *ts)
            );
        }
        let mut held: Vec<_> = queue.iter().map(|t| (t.timestamp, t.key)).collect();
        held.sort();
        assert_eq!(held, model.into_iter().collect::<Vec<_>>());
    }
}
