//! Flink's incremental TTL cleanup for heap state (`TtlIncrementalCleanup`): every access to a
//! state also inspects the next few entries of that state, resuming where the last access stopped,
//! and removes what has expired.

use std::ops::Bound;
use std::sync::Arc;

use super::table::{Group, Slot, StateObject, StateTable};
use crate::workload::TtlSpec;

/// Entries inspected per state access (`IncrementalCleanupStrategy` cleanupSize default 5).
const CLEANUP_SIZE: usize = 5;

/// Where the cleanup of one state resumes.
#[derive(Clone, Debug, Default)]
pub(super) struct Cleanup {
    group: usize,
    after: Option<Slot>,
}

impl Cleanup {
    /// Inspects up to [`CLEANUP_SIZE`] entries after the cursor (moving on to the next key group
    /// at most once) and removes what has expired at `now`.
    pub(super) fn step(&mut self, table: &mut StateTable, ttl: &TtlSpec, now: i64) {
        if table.is_empty() {
            return;
        }
        for _ in 0..CLEANUP_SIZE {
            let group = &mut table[self.group];
            let next = match &self.after {
                Some(after) => group
                    .range((Bound::Excluded(*after), Bound::Unbounded))
                    .next()
                    .map(|(k, _)| *k),
                None => group.get_min().map(|(k, _)| *k),
            };
            match next {
                Some(slot) => {
                    self.after = Some(slot);
                    prune(group, slot, ttl, now);
                }
                None => {
                    self.group = (self.group + 1) % table.len();
                    self.after = None;
                    return;
                }
            }
        }
    }
}

/// Removes the expired parts of one entry, and the entry if nothing is left.
fn prune(group: &mut Group, slot: Slot, ttl: &TtlSpec, now: i64) {
    let expired = |at: i64| ttl.expired(at, now);
    let empty = match group.get_mut(&slot) {
        Some(StateObject::Value(v)) => expired(v.at),
        Some(StateObject::List(l)) => {
            if l.iter().any(|e| expired(e.at)) {
                Arc::make_mut(l).retain(|e| !expired(e.at));
            }
            l.is_empty()
        }
        Some(StateObject::Map(m)) => {
            if m.values().any(|v| expired(v.at)) {
                Arc::make_mut(m).retain(|_, v| !expired(v.at));
            }
            m.is_empty()
        }
        Some(StateObject::Timers(_)) | None => false,
    };
    if empty {
        group.remove(&slot);
    }
}
