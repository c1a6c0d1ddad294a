//! Flink's incremental TTL cleanup for heap state (`TtlIncrementalCleanup` over the state
//! table's `StateIncrementalVisitor`): every access to a state also inspects the next chains of
//! its maps, at least [`CLEANUP_SIZE`] entries, resuming where the last access stopped, and
//! removes what has expired (or puts back what is left of a list or map).

use super::cow_map::CowStateMap;
use super::table::StateObject;
use crate::workload::{Namespace, TtlSpec};

/// Entries inspected per state access (`IncrementalCleanupStrategy` cleanupSize default 5), and
/// empty buckets passed over at most while looking for a chain.
const CLEANUP_SIZE: usize = 5;

/// Where the cleanup of one state resumes: a key group's map and a bucket position in it.
#[derive(Clone, Debug, Default)]
pub(super) struct Cleanup {
    group: usize,
    position: usize,
    chain: Vec<(u64, Namespace)>,
}

impl Cleanup {
    /// Inspects the chains after the cursor until [`CLEANUP_SIZE`] entries were seen, a run of
    /// empty buckets ends the step, or the last map ends (the next step starts over).
    pub(super) fn step(&mut self, maps: &mut [CowStateMap<StateObject>], ttl: &TtlSpec, now: i64) {
        let mut inspected = 0;
        while inspected < CLEANUP_SIZE {
            let Some(map) = maps.get_mut(self.group) else {
                self.group = 0;
                return;
            };
            self.chain.clear();
            match map.chain_at(self.position, CLEANUP_SIZE, &mut self.chain) {
                None => {
                    self.group += 1;
                    self.position = 0;
                }
                Some(next) => {
                    self.position = next;
                    if self.chain.is_empty() {
                        return;
                    }
                    inspected += self.chain.len();
                    for (key, namespace) in self.chain.drain(..) {
                        prune(map, key, namespace, ttl, now);
                    }
                }
            }
        }
    }
}

/// What cleanup does to an entry.
enum Pruned {
    Keep,
    Remove,
    Replace(StateObject),
}

/// Removes the expired parts of one entry, and the entry if nothing is left
/// (`getUnexpiredOrNull`, then the visitor's `remove` or `update`).
fn prune(
    map: &mut CowStateMap<StateObject>,
    key: u64,
    namespace: Namespace,
    ttl: &TtlSpec,
    now: i64,
) {
    let expired = |at: i64| ttl.expired(at, now);
    let pruned = match map.peek(key, &namespace) {
        None => Pruned::Keep,
        Some(StateObject::Value(v)) if expired(v.at) => Pruned::Remove,
        Some(StateObject::Value(_)) => Pruned::Keep,
        Some(StateObject::List(l)) if l.iter().any(|e| expired(e.at)) => {
            let left: Vec<_> = l.iter().filter(|e| !expired(e.at)).cloned().collect();
            if left.is_empty() {
                Pruned::Remove
            } else {
                Pruned::Replace(StateObject::List(left.into()))
            }
        }
        Some(StateObject::Map(m)) if m.values().any(|v| expired(v.at)) => {
            let left: std::collections::HashMap<_, _> = m
                .iter()
                .filter(|(_, v)| !expired(v.at))
                .map(|(k, v)| (*k, v.clone()))
                .collect();
            if left.is_empty() {
                Pruned::Remove
            } else {
                Pruned::Replace(StateObject::Map(left.into()))
            }
        }
        Some(_) => Pruned::Keep,
    };
    match pruned {
        Pruned::Keep => {}
        Pruned::Remove => {
            map.remove(key, &namespace);
        }
        Pruned::Replace(object) => map.put(key, namespace).set(object),
    }
}
