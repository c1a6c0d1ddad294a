//! Flink's `HeapPriorityQueue`: a binary heap in an array from index 1 whose elements know their
//! own index (`HeapPriorityQueueElement.getInternalIndex`), so an element is removed or re-placed
//! in O(log n) without a search. Elements here are small handles (`u32`); the caller keeps what
//! they stand for and their indices, and orders them ([`HeapOrder`]).
//!
//! Timer queues build on it: the heap timer set (`HeapPriorityQueueSet`) and the heap of key-group
//! queues over RocksDB's cached timer queues (`KeyGroupPartitionedPriorityQueue`).

/// What the heap asks of its elements' owner.
pub trait HeapOrder {
    /// Whether `a` has strictly higher priority (comes out first) than `b`.
    fn less(&mut self, a: u32, b: u32) -> bool;

    /// Records that `element` now sits at `index` of the heap array.
    fn set_index(&mut self, element: u32, index: usize);
}

/// The first element's index, as Flink's `QUEUE_HEAD_INDEX`.
pub const HEAD_INDEX: usize = 1;

/// The heap array: `queue[0]` is unused, the head is `queue[1]`.
#[derive(Clone, Debug)]
pub struct IndexedHeap {
    queue: Vec<u32>,
}

impl Default for IndexedHeap {
    fn default() -> Self {
        IndexedHeap { queue: vec![0] }
    }
}

impl IndexedHeap {
    /// Elements held.
    pub fn len(&self) -> usize {
        self.queue.len() - 1
    }

    /// Whether the heap is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The head, if any.
    pub fn peek(&self) -> Option<u32> {
        self.queue.get(HEAD_INDEX).copied()
    }

    /// The elements in array order (the order Flink's `toArray` copies them in).
    pub fn elements(&self) -> &[u32] {
        &self.queue[HEAD_INDEX..]
    }

    /// Adds `element` at the end and sifts it up.
    pub fn add(&mut self, element: u32, order: &mut impl HeapOrder) {
        self.queue.push(element);
        let index = self.queue.len() - 1;
        order.set_index(element, index);
        self.sift_up(index, order);
    }

    /// Removes the element at `index` (`removeInternal`): the last element takes its place and
    /// is re-placed. Returns the removed element.
    pub fn remove_at(&mut self, index: usize, order: &mut impl HeapOrder) -> u32 {
        let last = self.queue.len() - 1;
        let removed = self.queue[index];
        if index != last {
            let moved = self.queue[last];
            self.move_to(moved, index, order);
            self.queue.pop();
            self.adjust(index, order);
        } else {
            self.queue.pop();
        }
        removed
    }

    /// Re-places the element at `index` after its priority changed (`adjustElementAtIndex`):
    /// down first, then up if it did not move.
    pub fn adjust(&mut self, index: usize, order: &mut impl HeapOrder) {
        let element = self.queue[index];
        self.sift_down(index, order);
        if self.queue[index] == element {
            self.sift_up(index, order);
        }
    }

    fn move_to(&mut self, element: u32, index: usize, order: &mut impl HeapOrder) {
        self.queue[index] = element;
        order.set_index(element, index);
    }

    fn sift_up(&mut self, mut index: usize, order: &mut impl HeapOrder) {
        let element = self.queue[index];
        let mut parent = index >> 1;
        while parent >= HEAD_INDEX && order.less(element, self.queue[parent]) {
            self.move_to(self.queue[parent], index, order);
            index = parent;
            parent = index >> 1;
        }
        self.move_to(element, index, order);
    }

    fn sift_down(&mut self, mut index: usize, order: &mut impl HeapOrder) {
        let element = self.queue[index];
        let mut child = self.higher_child(index, order);
        while child < self.queue.len() && order.less(self.queue[child], element) {
            self.move_to(self.queue[child], index, order);
            index = child;
            child = self.higher_child(index, order);
        }
        self.move_to(element, index, order);
    }

    /// The child of `index` with the higher priority (the first when they tie or there is one).
    fn higher_child(&self, index: usize, order: &mut impl HeapOrder) -> usize {
        let first = index << 1;
        let second = first + 1;
        if second < self.queue.len() && order.less(self.queue[second], self.queue[first]) {
            second
        } else {
            first
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Priorities by handle, and where each handle sits.
    struct Table {
        priority: Vec<i64>,
        index: Vec<usize>,
    }

    impl HeapOrder for Table {
        fn less(&mut self, a: u32, b: u32) -> bool {
            self.priority[a as usize] < self.priority[b as usize]
        }
        fn set_index(&mut self, element: u32, index: usize) {
            self.index[element as usize] = index;
        }
    }

    #[test]
    fn removes_in_priority_order_and_by_index() {
        let priority: Vec<i64> = (0..200).map(|i| (i * 7919) % 211).collect();
        let mut table = Table {
            index: vec![0; priority.len()],
            priority,
        };
        let mut heap = IndexedHeap::default();
        for e in 0..200u32 {
            heap.add(e, &mut table);
        }
        // Remove every third element through its recorded index.
        for e in (0..200u32).step_by(3) {
            let at = table.index[e as usize];
            assert_eq!(heap.remove_at(at, &mut table), e);
        }
        let mut out = Vec::new();
        while let Some(head) = heap.peek() {
            assert_eq!(table.index[head as usize], HEAD_INDEX);
            let removed = heap.remove_at(HEAD_INDEX, &mut table);
            out.push(table.priority[removed as usize]);
        }
        let mut expected: Vec<i64> = (0..200u32)
            .filter(|e| e % 3 != 0)
            .map(|e| table.priority[e as usize])
            .collect();
        expected.sort();
        assert_eq!(out, expected);
    }
}
