//! How the heap backend holds state: per state, one ordered map per key group from
//! (key, namespace) to a state object that is not serialized, as Flink's `StateTable` holds them.
//! The maps and the list, map and timer objects are shared with snapshots and copied on write.

use std::collections::HashMap;
use std::sync::Arc;

use crate::workload::Namespace;

/// Where an entry lives inside a key group.
pub(super) type Slot = (u64, Namespace);
/// One key group's entries of one state, ordered (so cleanup can resume where it stopped).
pub(super) type Group = imbl::OrdMap<Slot, StateObject>;
/// One state: a map per key group.
pub(super) type StateTable = Vec<Group>;

/// A value with the time it was last written (or, with `OnReadAndWrite`, read).
#[derive(Clone, Debug)]
pub(super) struct Stamped {
    /// The time, ms, TTL is measured from.
    pub(super) at: i64,
    /// The value's bytes, shared with snapshots.
    pub(super) bytes: Arc<[u8]>,
}

/// A state object as the heap backend keeps it: not serialized.
#[derive(Clone, Debug)]
pub(super) enum StateObject {
    /// A `ValueState` value.
    Value(Stamped),
    /// A `ListState` list, in insertion order.
    List(Arc<Vec<Stamped>>),
    /// A `MapState` map, by user key.
    Map(Arc<HashMap<u64, Stamped>>),
    /// Timer timestamps of one (key, namespace), sorted (a heap priority queue set's elements).
    Timers(Arc<Vec<i64>>),
}
