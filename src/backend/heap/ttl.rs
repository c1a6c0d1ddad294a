//! Flink's incremental TTL cleanup for heap state (`TtlIncrementalCleanup` over the state
//! table's `StateIncrementalVisitor`): every access to a state also inspects the next chains of
//! its maps, at least [`CLEANUP_SIZE`] entries, resuming where the last access stopped, and
//! removes what has expired (or puts back what is left of a list or map).

use std::collections::HashMap;

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
    /// What to do to the entries of the chain just read.
    chain: Vec<(u64, Namespace, Pruned)>,
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
            let chain = &mut self.chain;
            let mut seen = 0;
            let next = map.visit_chain(self.position, CLEANUP_SIZE, |key, namespace, object| {
                seen += 1;
                if let Some(pruned) = prune(object, ttl, now) {
                    chain.push((key, *namespace, pruned));
                }
            });
            match next {
                None => {
                    self.group += 1;
                    self.position = 0;
                }
                Some(next) => {
                    self.position = next;
                    if seen == 0 {
                        return;
                    }
                    inspected += seen;
                    for (key, namespace, pruned) in self.chain.drain(..) {
                        match pruned {
                            Pruned::Remove => {
                                map.remove(key, &namespace);
                            }
                            Pruned::Replace(object) => map.put(key, namespace).set(object),
                        }
                    }
                }
            }
        }
    }
}

/// What cleanup does to an entry.
#[derive(Clone, Debug)]
enum Pruned {
    Remove,
    Replace(StateObject),
}

/// What is left of a state at `now` (`getUnexpiredOrNull`): all of it (None), nothing, or the
/// unexpired part of a list or map, to be put back (the visitor's `update`).
fn prune(object: &StateObject, ttl: &TtlSpec, now: i64) -> Option<Pruned> {
    let expired = |at: i64| ttl.expired(at, now);
    match object {
        StateObject::Value(v) if expired(v.at) => Some(Pruned::Remove),
        StateObject::List(l) if l.iter().any(|e| expired(e.at)) => {
            let left: Vec<_> = l.iter().filter(|e| !expired(e.at)).cloned().collect();
            Some(if left.is_empty() {
                Pruned::Remove
            } else {
                Pruned::Replace(StateObject::List(left.into()))
            })
        }
        StateObject::Map(m) if m.values().any(|v| expired(v.at)) => {
            let left: HashMap<_, _> = m
                .iter()
                .filter(|(_, v)| !expired(v.at))
                .map(|(k, v)| (*k, v.clone()))
                .collect();
            Some(if left.is_empty() {
                Pruned::Remove
            } else {
                Pruned::Replace(StateObject::Map(left.into()))
            })
        }
        _ => None,
    }
}
