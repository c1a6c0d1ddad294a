//! Flink's `HeapPriorityQueueSet` of timers (`TimerHeapInternalTimer`): one binary heap over every
//! key group of the backend, ordered by timestamp, and one deduplication map per key group, so a
//! timer registered twice is held once and a timer is found (and removed) by value. Each timer
//! knows its index in the heap, as Flink's elements do, so removal is O(log n).

use std::collections::HashMap;

use super::keygroup::key_group;
use super::priority_queue::{HeapOrder, IndexedHeap, HEAD_INDEX};
use crate::workload::Namespace;

/// One timer: `TimerHeapInternalTimer(timestamp, key, namespace)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timer {
    /// Event time it fires at, ms.
    pub timestamp: i64,
    /// The key it belongs to.
    pub key: u64,
    /// Its namespace (a window, a join side, or `VoidNamespace`).
    pub namespace: Namespace,
}

/// A timer in the heap with its index there (`HeapPriorityQueueElement.getInternalIndex`).
#[derive(Clone, Debug)]
struct Slot {
    timer: Timer,
    index: usize,
}

/// The slots as the heap sees them: ordered by timestamp (`comparePriorityTo`).
struct Slots<'a>(&'a mut Vec<Slot>);

impl HeapOrder for Slots<'_> {
    fn less(&mut self, a: u32, b: u32) -> bool {
        self.0[a as usize].timer.timestamp < self.0[b as usize].timer.timestamp
    }

    fn set_index(&mut self, element: u32, index: usize) {
        self.0[element as usize].index = index;
    }
}

/// `HeapPriorityQueueSet` over the key groups `0..max_parallelism`.
#[derive(Clone, Debug)]
pub struct TimerHeapSet {
    slots: Vec<Slot>,
    free: Vec<u32>,
    heap: IndexedHeap,
    /// Per key group: timer → its slot.
    dedup: Vec<HashMap<Timer, u32>>,
    max_parallelism: u32,
}

impl TimerHeapSet {
    /// An empty set for `max_parallelism` key groups.
    pub fn new(max_parallelism: u32) -> TimerHeapSet {
        TimerHeapSet {
            slots: Vec::new(),
            free: Vec::new(),
            heap: IndexedHeap::default(),
            dedup: (0..max_parallelism).map(|_| HashMap::new()).collect(),
            max_parallelism,
        }
    }

    /// Timers held.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no timer is held.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The timer that fires first.
    pub fn peek(&self) -> Option<Timer> {
        self.heap.peek().map(|s| self.slots[s as usize].timer)
    }

    /// Adds a timer unless it is held already; true if it is the new head.
    pub fn add(&mut self, timer: Timer) -> bool {
        let kg = key_group(timer.key, self.max_parallelism) as usize;
        if self.dedup[kg].contains_key(&timer) {
            return false;
        }
        let slot = Slot { timer, index: 0 };
        let handle = match self.free.pop() {
            Some(h) => {
                self.slots[h as usize] = slot;
                h
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.dedup[kg].insert(timer, handle);
        self.heap.add(handle, &mut Slots(&mut self.slots));
        self.slots[handle as usize].index == HEAD_INDEX
    }

    /// Removes a timer if held; true if it was the head.
    pub fn remove(&mut self, timer: &Timer) -> bool {
        let kg = key_group(timer.key, self.max_parallelism) as usize;
        let Some(handle) = self.dedup[kg].remove(timer) else {
            return false;
        };
        let index = self.slots[handle as usize].index;
        self.heap.remove_at(index, &mut Slots(&mut self.slots));
        self.free.push(handle);
        index == HEAD_INDEX
    }

    /// The timers of key group `kg` (`getSubsetForKeyGroup`), in no particular order.
    pub fn key_group(&self, kg: u32) -> impl Iterator<Item = &Timer> {
        self.dedup[kg as usize].keys()
    }

    /// A copy of every timer in heap-array order: what Flink's snapshot of a heap queue copies
    /// in the synchronous phase (`toArray`).
    pub fn to_vec(&self) -> Vec<Timer> {
        self.heap
            .elements()
            .iter()
            .map(|&s| self.slots[s as usize].timer)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer(timestamp: i64, key: u64) -> Timer {
        Timer {
            timestamp,
            key,
            namespace: Namespace::Void,
        }
    }

    #[test]
    fn deduplicates_removes_by_value_and_polls_in_time_order() {
        let mut set = TimerHeapSet::new(128);
        assert!(set.add(timer(50, 1)));
        assert!(!set.add(timer(50, 1)), "held once");
        assert!(set.add(timer(10, 2)), "new head");
        assert!(!set.add(timer(30, 3)));
        for k in 0..100 {
            set.add(timer(100 + (k as i64 * 37) % 61, k));
        }
        assert_eq!(set.len(), 103);
        assert!(!set.remove(&timer(30, 3)));
        assert!(!set.remove(&timer(30, 3)), "gone already");
        assert!(set.remove(&timer(10, 2)), "was the head");
        let in_groups: usize = (0..128).map(|kg| set.key_group(kg).count()).sum();
        assert_eq!(in_groups, 101);
        let mut last = i64::MIN;
        while let Some(head) = set.peek() {
            assert!(head.timestamp >= last);
            last = head.timestamp;
            assert!(set.remove(&head));
        }
        assert!(set.is_empty());
    }
}
