//! The timers a model registered, in firing order: the model's own copy of what its timer
//! service holds, so it knows which ops a watermark causes.
//!
//! Timers are bucketed by timestamp. Window ends and period ends are shared by thousands to
//! millions of timers (a sliding window registers each of its timers once per element), so a
//! bucket is a hash set, deduplicated in one lookup, and sorted once, when its timestamp comes
//! due; the ordered map above the buckets holds only the distinct timestamps. A bucket of one
//! timer (session windows' timestamps rarely repeat) is held without a set.

use std::collections::{BTreeMap, HashSet};
use std::hash::Hash;

use crate::fxhash::FxBuild;

/// The timers of one timestamp.
#[derive(Clone, Debug)]
enum Bucket<T> {
    One(T),
    Set(HashSet<T, FxBuild>),
    /// Firing: sorted, the next to fire last.
    Due(Vec<T>),
}

/// Timers ordered by timestamp, then payload; a timer registered twice is held once, as
/// Flink's timer queues deduplicate.
#[derive(Clone, Debug)]
pub(crate) struct TimerQueue<T: Ord + Hash + Copy> {
    buckets: BTreeMap<i64, Bucket<T>>,
}

impl<T: Ord + Hash + Copy> TimerQueue<T> {
    /// An empty queue.
    pub(crate) fn new() -> TimerQueue<T> {
        TimerQueue {
            buckets: BTreeMap::new(),
        }
    }

    /// Registers a timer.
    pub(crate) fn insert(&mut self, timestamp: i64, payload: T) {
        let Some(bucket) = self.buckets.get_mut(&timestamp) else {
            self.buckets.insert(timestamp, Bucket::One(payload));
            return;
        };
        match bucket {
            Bucket::One(held) if *held == payload => {}
            Bucket::One(held) => *bucket = Bucket::Set([*held, payload].into_iter().collect()),
            Bucket::Set(set) => {
                set.insert(payload);
            }
            Bucket::Due(due) => {
                if let Err(at) = due.binary_search_by(|held| payload.cmp(held)) {
                    due.insert(at, payload);
                }
            }
        }
    }

    /// Deletes a timer, if registered.
    pub(crate) fn remove(&mut self, timestamp: i64, payload: T) {
        let Some(bucket) = self.buckets.get_mut(&timestamp) else {
            return;
        };
        let emptied = match bucket {
            Bucket::One(held) => *held == payload,
            Bucket::Set(set) => set.remove(&payload) && set.is_empty(),
            Bucket::Due(due) => match due.binary_search_by(|held| payload.cmp(held)) {
                Ok(at) => {
                    due.remove(at);
                    due.is_empty()
                }
                Err(_) => false,
            },
        };
        if emptied {
            self.buckets.remove(&timestamp);
        }
    }

    /// Takes the earliest timer at or before `watermark`.
    pub(crate) fn pop_due(&mut self, watermark: i64) -> Option<(i64, T)> {
        let mut first = self.buckets.first_entry()?;
        let timestamp = *first.key();
        if timestamp > watermark {
            return None;
        }
        let bucket = first.get_mut();
        let payload = match bucket {
            Bucket::One(held) => Some(*held),
            Bucket::Set(set) => {
                let mut due: Vec<T> = set.drain().collect();
                due.sort_unstable_by(|a, b| b.cmp(a));
                let next = due.pop();
                *bucket = Bucket::Due(due);
                next
            }
            Bucket::Due(due) => due.pop(),
        };
        if matches!(bucket, Bucket::One(_)) || matches!(bucket, Bucket::Due(due) if due.is_empty())
        {
            first.remove();
        }
        payload.map(|payload| (timestamp, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Registrations, deletions and firings in a pseudo-random order (a few timestamps shared by
    /// many timers, others by one; timers registered while their timestamp fires) against an
    /// ordered set of (timestamp, payload): the same timers fire, in the same order.
    #[test]
    fn fires_as_an_ordered_set_of_timestamp_and_payload() {
        let mut queue = TimerQueue::new();
        let mut reference = BTreeSet::new();
        let mut x = 7u64;
        let mut fired = 0;
        for i in 0..200_000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let timestamp = match x % 4 {
                0 => i / 1000 * 1000 + 1000,
                _ => i + (x % 2_000) as i64,
            };
            let payload = (x >> 8) % 300;
            match (x >> 20) % 8 {
                0 => {
                    queue.remove(timestamp, payload);
                    reference.remove(&(timestamp, payload));
                }
                1 => {
                    let watermark = i - (x % 50) as i64;
                    for _ in 0..(x >> 24) % 64 {
                        let expected = match reference.first() {
                            Some(&(t, _)) if t <= watermark => reference.pop_first(),
                            _ => None,
                        };
                        assert_eq!(queue.pop_due(watermark), expected, "op {i}");
                        fired += u64::from(expected.is_some());
                        // A timer registered at a timestamp that is firing.
                        if let Some((t, p)) = expected {
                            queue.insert(t, p ^ 1);
                            reference.insert((t, p ^ 1));
                        }
                    }
                }
                _ => {
                    queue.insert(timestamp, payload);
                    reference.insert((timestamp, payload));
                }
            }
        }
        while let Some(expected) = reference.pop_first() {
            assert_eq!(queue.pop_due(i64::MAX), Some(expected));
        }
        assert_eq!(queue.pop_due(i64::MAX), None);
        assert!(fired > 10_000, "{fired} fired");
    }
}
