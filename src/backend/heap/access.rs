//! One state access of the heap backend: a read or write of the object at one (key, namespace)
//! of a key group, with state TTL as Flink's TTL state wrappers apply it (expired values are
//! never returned and are removed when read; `OnReadAndWrite` reads refresh timestamps).
//!
//! Objects a snapshot still shares are copied (`Arc::make_mut`) only when they change.

use std::collections::HashMap;
use std::sync::Arc;

use super::table::{Group, Slot, Stamped, StateObject};
use crate::backend::api::Outcome;
use crate::workload::{OpKind, StateOp, TtlSpec, TtlUpdate};

/// The time an access happens at and the state TTL it honours.
#[derive(Clone, Copy, Debug)]
pub(super) struct AccessTime {
    now: i64,
    ttl: Option<TtlSpec>,
}

impl AccessTime {
    /// An access at `now` (ms) to a state with `ttl`, if any.
    pub(super) fn new(now: i64, ttl: Option<TtlSpec>) -> AccessTime {
        AccessTime { now, ttl }
    }

    /// Whether `value` has expired: never without TTL.
    fn expired(&self, value: &Stamped) -> bool {
        self.ttl.is_some_and(|t| t.expired(value.at, self.now))
    }

    /// Whether reads refresh timestamps (`OnReadAndWrite`).
    fn refreshes_on_read(&self) -> bool {
        self.ttl
            .is_some_and(|t| t.update_type == TtlUpdate::OnReadAndWrite)
    }

    /// Restamps a value just read, if reads refresh timestamps.
    fn refresh(&self, value: &mut Stamped) {
        if self.refreshes_on_read() {
            value.at = self.now;
        }
    }

    /// `bytes` as written now.
    fn stamp(&self, bytes: &[u8]) -> Stamped {
        Stamped {
            at: self.now,
            bytes: bytes.into(),
        }
    }
}

/// Applies `op` to its entry in `group`, the op's key group of its state; `value` holds the
/// bytes the op writes.
pub(super) fn access(group: &mut Group, op: &StateOp, value: &[u8], time: AccessTime) -> Outcome {
    let slot = (op.key, op.namespace);
    match op.kind {
        OpKind::ValueGet => visit(group, slot, |object| read_value(object, time)),
        OpKind::ValuePut(_) => replace(group, slot, StateObject::Value(time.stamp(value))),
        OpKind::ListGet => visit(group, slot, |object| read_list(object, time)),
        OpKind::ListAdd(_) => add_to_list(group, slot, time.stamp(value)),
        OpKind::ListUpdate(_) => replace(
            group,
            slot,
            StateObject::List(Arc::new(vec![time.stamp(value)])),
        ),
        OpKind::ValueClear | OpKind::ListClear | OpKind::MapClear => {
            group.remove(&slot);
            Outcome::default()
        }
        OpKind::MapGet(user_key) => visit(group, slot, |object| {
            read_map_entry(object, user_key, true, time)
        }),
        OpKind::MapContains(user_key) => visit(group, slot, |object| {
            read_map_entry(object, user_key, false, time)
        }),
        OpKind::MapPut(user_key, _) => put_map_entry(group, slot, user_key, time.stamp(value)),
        OpKind::MapRemove(user_key) => {
            visit(group, slot, |object| remove_map_entry(object, user_key))
        }
        OpKind::MapIterate => visit(group, slot, |object| iterate_map(object, time)),
        OpKind::TimerRegister(timestamp) => register_timer(group, slot, timestamp),
        OpKind::TimerDelete(timestamp) => {
            visit(group, slot, |object| delete_timer(object, timestamp))
        }
    }
}

/// What an access to an existing object found, and whether it left the object empty.
type Visit = (Outcome, bool);

/// Runs `f` on the object at `slot`, if there is one, and removes the entry when `f` left it
/// empty: Flink's heap state drops a (key, namespace) whose value expired or whose list, map or
/// timer set has nothing left.
fn visit(group: &mut Group, slot: Slot, f: impl FnOnce(&mut StateObject) -> Visit) -> Outcome {
    let Some(object) = group.get_mut(&slot) else {
        return Outcome::default();
    };
    let (outcome, emptied) = f(object);
    if emptied {
        group.remove(&slot);
    }
    outcome
}

/// Puts `object` at `slot`, replacing whatever was there (`ValueState.update`, `ListState.update`).
fn replace(group: &mut Group, slot: Slot, object: StateObject) -> Outcome {
    group.insert(slot, object);
    Outcome::default()
}

/// What a read found: `items` elements of `bytes` payload bytes.
fn found(items: usize, bytes: usize) -> Outcome {
    Outcome {
        found: true,
        items: items as u32,
        bytes: bytes as u64,
    }
}

/// What a read of every element of a list or map found: nothing when it has none.
fn found_all<'a>(elements: impl ExactSizeIterator<Item = &'a Stamped>) -> Outcome {
    match elements.len() {
        0 => Outcome::default(),
        n => found(n, elements.map(|e| e.bytes.len()).sum()),
    }
}

/// `ValueState.value`: an expired value is a miss and goes.
fn read_value(object: &mut StateObject, time: AccessTime) -> Visit {
    match object {
        StateObject::Value(v) if time.expired(v) => (Outcome::default(), true),
        StateObject::Value(v) => {
            time.refresh(v);
            (found(1, v.bytes.len()), false)
        }
        _ => (Outcome::default(), false),
    }
}

/// `ListState.get`: expired elements are dropped (a copy is made only when something changes).
fn read_list(object: &mut StateObject, time: AccessTime) -> Visit {
    let StateObject::List(l) = object else {
        return (Outcome::default(), false);
    };
    if l.iter().any(|e| time.expired(e)) || time.refreshes_on_read() {
        let list = Arc::make_mut(l);
        list.retain(|e| !time.expired(e));
        list.iter_mut().for_each(|e| time.refresh(e));
    }
    (found_all(l.iter()), l.is_empty())
}

/// `ListState.add`: appends, starting a list where there is none.
fn add_to_list(group: &mut Group, slot: Slot, element: Stamped) -> Outcome {
    match group.get_mut(&slot) {
        Some(StateObject::List(l)) => Arc::make_mut(l).push(element),
        _ => {
            group.insert(slot, StateObject::List(Arc::new(vec![element])));
        }
    }
    Outcome::default()
}

/// `MapState.get` (`with_bytes`) or `MapState.contains`: an expired entry is a miss and goes.
fn read_map_entry(
    object: &mut StateObject,
    user_key: u64,
    with_bytes: bool,
    time: AccessTime,
) -> Visit {
    let StateObject::Map(m) = object else {
        return (Outcome::default(), false);
    };
    let bytes = match m.get(&user_key) {
        None => return (Outcome::default(), false),
        Some(v) if time.expired(v) => {
            let map = Arc::make_mut(m);
            map.remove(&user_key);
            return (Outcome::default(), map.is_empty());
        }
        Some(v) if with_bytes => v.bytes.len(),
        Some(_) => 0,
    };
    if time.refreshes_on_read() {
        if let Some(v) = Arc::make_mut(m).get_mut(&user_key) {
            time.refresh(v);
        }
    }
    (found(1, bytes), false)
}

/// `MapState.put`: starts a map where there is none.
fn put_map_entry(group: &mut Group, slot: Slot, user_key: u64, value: Stamped) -> Outcome {
    match group.get_mut(&slot) {
        Some(StateObject::Map(m)) => {
            Arc::make_mut(m).insert(user_key, value);
        }
        _ => {
            let map = HashMap::from([(user_key, value)]);
            group.insert(slot, StateObject::Map(Arc::new(map)));
        }
    }
    Outcome::default()
}

/// `MapState.remove`; Flink's heap MapState removes the (key, namespace) entry when its map is
/// empty.
fn remove_map_entry(object: &mut StateObject, user_key: u64) -> Visit {
    let StateObject::Map(m) = object else {
        return (Outcome::default(), false);
    };
    let map = Arc::make_mut(m);
    map.remove(&user_key);
    (Outcome::default(), map.is_empty())
}

/// `MapState.entries()` iterated: expired entries are dropped (a copy is made only when
/// something changes).
fn iterate_map(object: &mut StateObject, time: AccessTime) -> Visit {
    let StateObject::Map(m) = object else {
        return (Outcome::default(), false);
    };
    if m.values().any(|v| time.expired(v)) || time.refreshes_on_read() {
        let map = Arc::make_mut(m);
        map.retain(|_, v| !time.expired(v));
        map.values_mut().for_each(|v| time.refresh(v));
    }
    (found_all(m.values()), m.is_empty())
}

/// Registers a timer in the (key, namespace)'s sorted set; registering it twice keeps one.
fn register_timer(group: &mut Group, slot: Slot, timestamp: i64) -> Outcome {
    match group.get_mut(&slot) {
        Some(StateObject::Timers(t)) => {
            if let Err(at) = t.binary_search(&timestamp) {
                Arc::make_mut(t).insert(at, timestamp);
            }
        }
        _ => {
            group.insert(slot, StateObject::Timers(Arc::new(vec![timestamp])));
        }
    }
    Outcome::default()
}

/// Deletes a timer, if registered.
fn delete_timer(object: &mut StateObject, timestamp: i64) -> Visit {
    let StateObject::Timers(t) = object else {
        return (Outcome::default(), false);
    };
    if let Ok(at) = t.binary_search(&timestamp) {
        Arc::make_mut(t).remove(at);
    }
    (Outcome::default(), t.is_empty())
}
