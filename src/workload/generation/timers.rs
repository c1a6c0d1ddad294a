//! The timers a model registered, in firing order: the model's own copy of what its timer
//! service holds, so it knows which ops a watermark causes.

use std::collections::BTreeSet;

/// Timers ordered by timestamp, then payload; a timer registered twice is held once, as
/// Flink's timer queues deduplicate.
#[derive(Clone, Debug)]
pub(crate) struct TimerQueue<T: Ord + Copy> {
    timers: BTreeSet<(i64, T)>,
}

impl<T: Ord + Copy> TimerQueue<T> {
    /// An empty queue.
    pub(crate) fn new() -> TimerQueue<T> {
        TimerQueue {
            timers: BTreeSet::new(),
        }
    }

    /// Registers a timer.
    pub(crate) fn insert(&mut self, timestamp: i64, payload: T) {
        self.timers.insert((timestamp, payload));
    }

    /// Deletes a timer, if registered.
    pub(crate) fn remove(&mut self, timestamp: i64, payload: T) {
        self.timers.remove(&(timestamp, payload));
    }

    /// Takes the earliest timer at or before `watermark`.
    pub(crate) fn pop_due(&mut self, watermark: i64) -> Option<(i64, T)> {
        match self.timers.first() {
            Some(&(ts, _)) if ts <= watermark => self.timers.pop_first(),
            _ => None,
        }
    }
}
