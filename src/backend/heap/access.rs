//! One state access of the heap backend: what Flink's `HeapValueState`, `HeapListState` and
//! `HeapMapState` do with the key group's [`CowStateMap`], with state TTL as Flink's TTL state
//! wrappers apply it (expired values are never returned and are removed when read;
//! `OnReadAndWrite` reads refresh timestamps).
//!
//! Reads go through the map's `get`, which copies a state a snapshot still holds (lists and maps
//! are then changed in place, as Flink's `ArrayList`/`HashMap` are); `ValueState.update` and
//! `ListState.update` put a new state. A value whose state no snapshot holds is overwritten in
//! place when the new one has its length, instead of allocating another (Flink would store the
//! caller's new `byte[]`; the bytes the map then holds are the same).

use std::collections::HashMap;
use std::sync::Arc;

use super::cow_map::CowStateMap;
use super::table::{Stamped, StateObject};
use crate::backend::api::Outcome;
use crate::workload::{Namespace, OpKind, StateOp, TtlSpec, TtlUpdate};

/// The time an access happens at and the state TTL it honours.
#[derive(Clone, Copy, Debug)]
pub(super) struct AccessTime {
    now: i64,
    ttl: Option<TtlSpec>,
}

impl AccessTime {
    /// An access at `now` (ms) to a state with `ttl`, if any. Without TTL no timestamp is ever
    /// read or written out, so values are stamped 0 whatever the time (and the fast path
    /// carries no time).
    #[inline]
    pub(super) fn new(now: i64, ttl: Option<TtlSpec>) -> AccessTime {
        match ttl {
            Some(_) => AccessTime { now, ttl },
            None => AccessTime { now: 0, ttl },
        }
    }

    /// Whether `value` has expired: never without TTL.
    #[inline]
    fn expired(&self, value: &Stamped) -> bool {
        self.ttl.is_some_and(|t| t.expired(value.at, self.now))
    }

    /// Whether reads refresh timestamps (`OnReadAndWrite`).
    #[inline]
    fn refreshes_on_read(&self) -> bool {
        self.ttl
            .is_some_and(|t| t.update_type == TtlUpdate::OnReadAndWrite)
    }

    /// Restamps a value just read, if reads refresh timestamps.
    #[inline]
    fn refresh(&self, value: &mut Stamped) {
        if self.refreshes_on_read() {
            value.at = self.now;
        }
    }

    /// `bytes` as written now.
    #[inline]
    fn stamp(&self, bytes: &[u8]) -> Stamped {
        Stamped {
            at: self.now,
            bytes: bytes.into(),
        }
    }
}

type Map = CowStateMap<StateObject>;

/// Applies a value, list or map op to its entry in `map`, the op's key group of its state;
/// `value` holds the bytes the op writes. Timer ops are not for maps (None). The backend calls
/// [`get_value`] and [`put_value`] directly, this only for other ops.
pub(super) fn access(
    map: &mut Map,
    op: &StateOp,
    value: &[u8],
    time: AccessTime,
) -> Option<Outcome> {
    let (key, namespace) = (op.key, op.namespace);
    Some(match op.kind {
        OpKind::ValueGet => get_value(map, key, &namespace, time),
        OpKind::ValuePut(_) => put_value(map, key, namespace, value, time),
        OpKind::ListGet => visit(map, key, namespace, |o| read_list(o, time)),
        OpKind::ListAdd(_) => add_to_list(map, key, namespace, time.stamp(value)),
        OpKind::ListUpdate(_) => {
            let list = StateObject::List(Arc::new(vec![time.stamp(value)]));
            map.put(key, namespace).set(list);
            Outcome::default()
        }
        OpKind::ValueClear | OpKind::ListClear | OpKind::MapClear => {
            map.remove(key, &namespace);
            Outcome::default()
        }
        OpKind::MapGet(user_key) => visit(map, key, namespace, |o| {
            read_map_entry(o, user_key, true, time)
        }),
        OpKind::MapContains(user_key) => visit(map, key, namespace, |o| {
            read_map_entry(o, user_key, false, time)
        }),
        OpKind::MapPut(user_key, _) => {
            put_map_entry(map, key, namespace, user_key, time.stamp(value))
        }
        OpKind::MapRemove(user_key) => {
            visit(map, key, namespace, |o| remove_map_entry(o, user_key))
        }
        OpKind::MapIterate => visit(map, key, namespace, |o| iterate_map(o, time)),
        OpKind::TimerRegister(_) | OpKind::TimerDelete(_) => return None,
    })
}

/// What a read found: `items` elements of `bytes` payload bytes.
#[inline]
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

/// What an access to an existing state found, and whether it left the state empty.
type Visit = (Outcome, bool);

/// Runs `f` on the state of (key, namespace) (through the map's `get`, which copies a state a
/// snapshot holds), if there is one, and removes the entry when `f` left it empty: Flink's heap
/// state drops a (key, namespace) whose value expired or whose list or map has nothing left.
fn visit(
    map: &mut Map,
    key: u64,
    namespace: Namespace,
    f: impl FnOnce(&mut StateObject) -> Visit,
) -> Outcome {
    let Some(object) = map.get(key, &namespace) else {
        return Outcome::default();
    };
    let (outcome, emptied) = f(object);
    if emptied {
        map.remove(key, &namespace);
    }
    outcome
}

/// `ValueState.value`: an expired value is a miss and goes. Every value read takes this path,
/// so it is kept as short as the map's own `get` allows: no closure, and without TTL nothing
/// but the lookup (what the backend adds to a heap read shows in every heap figure).
#[inline(always)]
pub(super) fn get_value(
    map: &mut Map,
    key: u64,
    namespace: &Namespace,
    time: AccessTime,
) -> Outcome {
    let Some(StateObject::Value(v)) = map.get(key, namespace) else {
        return Outcome::default();
    };
    if time.ttl.is_some() {
        if time.expired(v) {
            map.remove(key, namespace);
            return Outcome::default();
        }
        time.refresh(v);
    }
    found(1, v.bytes.len())
}

/// `ValueState.update`.
#[inline(always)]
pub(super) fn put_value(
    map: &mut Map,
    key: u64,
    namespace: Namespace,
    value: &[u8],
    time: AccessTime,
) -> Outcome {
    let mut slot = map.put(key, namespace);
    if let Some(StateObject::Value(old)) = slot.reusable() {
        if let Some(bytes) = Arc::get_mut(&mut old.bytes).filter(|b| b.len() == value.len()) {
            bytes.copy_from_slice(value);
            old.at = time.now;
            return Outcome::default();
        }
    }
    slot.set(StateObject::Value(time.stamp(value)));
    Outcome::default()
}

/// `ListState.get`: expired elements are dropped.
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
fn add_to_list(map: &mut Map, key: u64, namespace: Namespace, element: Stamped) -> Outcome {
    match map.get(key, &namespace) {
        Some(StateObject::List(l)) => Arc::make_mut(l).push(element),
        _ => map
            .put(key, namespace)
            .set(StateObject::List(Arc::new(vec![element]))),
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
            let user_map = Arc::make_mut(m);
            user_map.remove(&user_key);
            return (Outcome::default(), user_map.is_empty());
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
fn put_map_entry(
    map: &mut Map,
    key: u64,
    namespace: Namespace,
    user_key: u64,
    value: Stamped,
) -> Outcome {
    match map.get(key, &namespace) {
        Some(StateObject::Map(m)) => {
            Arc::make_mut(m).insert(user_key, value);
        }
        _ => map
            .put(key, namespace)
            .set(StateObject::Map(Arc::new(HashMap::from([(
                user_key, value,
            )])))),
    }
    Outcome::default()
}

/// `MapState.remove`; Flink's heap MapState removes the (key, namespace) entry when its map is
/// empty.
fn remove_map_entry(object: &mut StateObject, user_key: u64) -> Visit {
    let StateObject::Map(m) = object else {
        return (Outcome::default(), false);
    };
    let user_map = Arc::make_mut(m);
    user_map.remove(&user_key);
    (Outcome::default(), user_map.is_empty())
}

/// `MapState.entries()` iterated: expired entries are dropped.
fn iterate_map(object: &mut StateObject, time: AccessTime) -> Visit {
    let StateObject::Map(m) = object else {
        return (Outcome::default(), false);
    };
    if m.values().any(|v| time.expired(v)) || time.refreshes_on_read() {
        let user_map = Arc::make_mut(m);
        user_map.retain(|_, v| !time.expired(v));
        user_map.values_mut().for_each(|v| time.refresh(v));
    }
    (found_all(m.values()), m.is_empty())
}
