//! The live state of a workload, tracked by size alone, and when each of its entries was last
//! touched: what `workload describe` reports as live state over time and as reuse distance,
//! without a state backend (no value bytes made, no copy-on-write maps, no list copied to be
//! read).
//!
//! It follows the heap backend's semantics op by op (`backend::heap::access`), so it counts what
//! [`crate::backend::heap::HeapBackend::live_size`] counts: unexpired values, non-empty lists (one
//! entry each, every unexpired element's bytes), map entries and timers; expired values, list
//! elements and map entries are dropped when read, and reads refresh timestamps under
//! `OnReadAndWrite`. A test replays workloads into both and compares them.
//!
//! Both figures live in one table, keyed by (state, key, namespace), so an op costs one lookup:
//! the entry an op touches is the slot itself (values, lists, a whole map) or one of its map
//! user keys or timers, and a slot stays in the table while it holds state or an entry touched
//! since it was last cleared. A second test checks the reuse figures against a plain map from
//! every entry ever touched to its last access.
//!
//! Without TTL nothing expires, so the state's size changes only with the ops: it is kept as
//! running totals, each op adding what it changed; under TTL it is summed over the slots.

use std::collections::HashMap;

use super::slots::{SlotKey, SlotTable};
use crate::fxhash::FxBuild;
use crate::workload::{OpKind, StateOp, TtlSpec, TtlUpdate};

/// `last` of an entry not touched since it was created or cleared.
const UNTOUCHED: u64 = u64::MAX;

/// Map user keys kept in a vector, searched linearly, before the map moves to a hash table:
/// most maps hold a few user keys (YCSB's fields), where a scan beats hashing and a table per
/// key would cost its allocation.
const SMALL_MAP: usize = 16;

/// A payload's length and when it was written (or last read, under `OnReadAndWrite`).
#[derive(Clone, Copy, Debug)]
struct Stamp {
    len: u32,
    at: i64,
}

/// The time accesses happen at and the TTL they honour.
#[derive(Clone, Copy, Debug)]
struct Clock {
    now: i64,
    ttl: Option<TtlSpec>,
}

impl Clock {
    fn stamp(&self, len: u32) -> Stamp {
        Stamp { len, at: self.now }
    }

    fn expired(&self, s: &Stamp) -> bool {
        self.ttl.is_some_and(|t| t.expired(s.at, self.now))
    }

    fn refreshes_on_read(&self) -> bool {
        self.ttl
            .is_some_and(|t| t.update_type == TtlUpdate::OnReadAndWrite)
    }
}

/// The previous access of an entry touched at `index` (None: first touch), `last` updated.
fn touch(last: &mut u64, index: u64) -> Option<u64> {
    let previous = std::mem::replace(last, index);
    (previous != UNTOUCHED).then_some(previous)
}

/// A list's elements: without TTL only their count and bytes matter (nothing expires), with
/// TTL each element's stamp.
#[derive(Debug)]
enum List {
    Summed { elements: u64, bytes: u64 },
    Stamped(Vec<Stamp>),
}

impl List {
    fn one(stamp: Stamp, clock: &Clock) -> List {
        match clock.ttl {
            None => List::Summed {
                elements: 1,
                bytes: u64::from(stamp.len),
            },
            Some(_) => List::Stamped(vec![stamp]),
        }
    }

    fn push(&mut self, stamp: Stamp) {
        match self {
            List::Summed { elements, bytes } => {
                *elements += 1;
                *bytes += u64::from(stamp.len);
            }
            List::Stamped(l) => l.push(stamp),
        }
    }

    /// `ListState.get()`: expired elements dropped, the rest refreshed under `OnReadAndWrite`;
    /// whether the list is left empty.
    fn read(&mut self, clock: &Clock) -> bool {
        match self {
            List::Summed { elements, .. } => *elements == 0,
            List::Stamped(l) => {
                l.retain(|e| !clock.expired(e));
                if clock.refreshes_on_read() {
                    l.iter_mut().for_each(|e| e.at = clock.now);
                }
                l.is_empty()
            }
        }
    }

    /// Entries (0 or 1) and bytes alive now.
    fn size(&self, clock: &Clock) -> (u64, u64) {
        let (elements, bytes) = match self {
            List::Summed { elements, bytes } => (*elements, *bytes),
            List::Stamped(l) => l
                .iter()
                .filter(|e| !clock.expired(e))
                .fold((0, 0), |(n, b), e| (n + 1, b + u64::from(e.len))),
        };
        (u64::from(elements > 0), bytes)
    }
}

/// One map user key: its value, if the map holds one, and its last access (every field was
/// touched: a map op on a user key creates it, a removal or the map's clear drops it).
#[derive(Clone, Copy, Debug)]
struct Field {
    value: Option<Stamp>,
    last: u64,
}

impl Field {
    const NEW: Field = Field {
        value: None,
        last: UNTOUCHED,
    };
}

/// A map's user keys: a short vector, or a hash table past [`SMALL_MAP`].
#[derive(Debug)]
enum Fields {
    Small(Vec<(u64, Field)>),
    Large(HashMap<u64, Field, FxBuild>),
}

impl Fields {
    fn field(&mut self, user_key: u64) -> &mut Field {
        if let Fields::Small(v) = self {
            if v.len() == SMALL_MAP && v.iter().all(|(k, _)| *k != user_key) {
                *self = Fields::Large(v.drain(..).collect());
            }
        }
        match self {
            Fields::Small(v) => {
                let at = match v.iter().position(|(k, _)| *k == user_key) {
                    Some(at) => at,
                    None => {
                        v.push((user_key, Field::NEW));
                        v.len() - 1
                    }
                };
                &mut v[at].1
            }
            Fields::Large(m) => m.entry(user_key).or_insert(Field::NEW),
        }
    }

    /// The value `user_key` holds (as entries and bytes), without creating the user key.
    fn value_size(&self, user_key: u64) -> (u64, u64) {
        let field = match self {
            Fields::Small(v) => v.iter().find(|(k, _)| *k == user_key).map(|(_, f)| f),
            Fields::Large(m) => m.get(&user_key),
        };
        match field.and_then(|f| f.value) {
            Some(e) => (1, u64::from(e.len)),
            None => (0, 0),
        }
    }

    fn remove(&mut self, user_key: u64) -> Option<Field> {
        match self {
            Fields::Small(v) => {
                let at = v.iter().position(|(k, _)| *k == user_key)?;
                Some(v.swap_remove(at).1)
            }
            Fields::Large(m) => m.remove(&user_key),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Fields::Small(v) => v.is_empty(),
            Fields::Large(m) => m.is_empty(),
        }
    }

    /// The values the map holds now, and their bytes.
    fn size(&self, clock: &Clock) -> (u64, u64) {
        let live = |f: &Field| f.value.filter(|e| !clock.expired(e));
        let add = |(n, b): (u64, u64), e: Stamp| (n + 1, b + u64::from(e.len));
        match self {
            Fields::Small(v) => v.iter().filter_map(|(_, f)| live(f)).fold((0, 0), add),
            Fields::Large(m) => m.values().filter_map(live).fold((0, 0), add),
        }
    }

    /// `MapState.entries()` under TTL: expired values dropped, the rest refreshed under
    /// `OnReadAndWrite` (the user keys stay, touched).
    fn read_all(&mut self, clock: &Clock) {
        let read = |f: &mut Field| match &mut f.value {
            Some(e) if clock.expired(e) => f.value = None,
            Some(e) if clock.refreshes_on_read() => e.at = clock.now,
            _ => {}
        };
        match self {
            Fields::Small(v) => v.iter_mut().for_each(|(_, f)| read(f)),
            Fields::Large(m) => m.values_mut().for_each(read),
        }
    }
}

/// The timers of one (key, namespace), sorted by timestamp, each with its last access: held
/// inline up to two (a window's firing and cleanup timers), so the common case costs no
/// allocation and no second cache miss.
#[derive(Debug)]
enum Timers {
    Inline(usize, [(i64, u64); 2]),
    Spilled(Vec<(i64, u64)>),
}

impl Timers {
    const EMPTY: Timers = Timers::Inline(0, [(0, 0); 2]);

    fn as_mut_slice(&mut self) -> &mut [(i64, u64)] {
        match self {
            Timers::Inline(len, items) => &mut items[..*len],
            Timers::Spilled(v) => v,
        }
    }

    fn len(&self) -> usize {
        match self {
            Timers::Inline(len, _) => *len,
            Timers::Spilled(v) => v.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert(&mut self, at: usize, timer: (i64, u64)) {
        match self {
            Timers::Inline(len, items) if *len < items.len() => {
                items.copy_within(at..*len, at + 1);
                items[at] = timer;
                *len += 1;
            }
            Timers::Inline(_, items) => {
                let mut v = Vec::with_capacity(2 * items.len());
                v.extend_from_slice(items);
                v.insert(at, timer);
                *self = Timers::Spilled(v);
            }
            Timers::Spilled(v) => v.insert(at, timer),
        }
    }

    fn remove(&mut self, at: usize) -> (i64, u64) {
        match self {
            Timers::Inline(len, items) => {
                let timer = items[at];
                items.copy_within(at + 1..*len, at);
                *len -= 1;
                timer
            }
            Timers::Spilled(v) => v.remove(at),
        }
    }
}

/// What one (state, key, namespace) holds.
#[derive(Debug)]
enum Object {
    /// No state (a slot kept for its last access alone).
    Vacant,
    Value(Stamp),
    List(List),
    Map(Fields),
    /// Registered timestamps, sorted, with each timer's last access.
    Timers(Timers),
}

/// One (state, key, namespace): its state, when the slot itself was last touched (by a value
/// or list op, a map iteration or clear), and whether it was given an element (value put or
/// list add) since it entered the table.
#[derive(Debug)]
struct Slot {
    last: u64,
    object: Object,
    given: bool,
}

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            last: UNTOUCHED,
            object: Object::Vacant,
            given: false,
        }
    }
}

impl Slot {
    fn is_vacant(&self) -> bool {
        self.last == UNTOUCHED && matches!(self.object, Object::Vacant)
    }

    /// An op on the slot itself (value, list, map iteration or clear).
    fn whole(&mut self, kind: OpKind, index: u64, clock: &Clock) -> Option<u64> {
        let previous = touch(&mut self.last, index);
        match kind {
            OpKind::ValuePut(v) => self.object = Object::Value(clock.stamp(v.len)),
            OpKind::ListUpdate(v) => {
                self.object = Object::List(List::one(clock.stamp(v.len), clock))
            }
            // A cleared entry is gone from the state: the next access creates it afresh.
            OpKind::ValueClear | OpKind::ListClear | OpKind::MapClear => {
                self.object = Object::Vacant;
                self.last = UNTOUCHED;
            }
            OpKind::ListAdd(v) => match &mut self.object {
                Object::List(l) => l.push(clock.stamp(v.len)),
                _ => self.object = Object::List(List::one(clock.stamp(v.len), clock)),
            },
            OpKind::ValueGet => {
                if let Object::Value(v) = &mut self.object {
                    if clock.expired(v) {
                        self.object = Object::Vacant;
                    } else if clock.refreshes_on_read() {
                        v.at = clock.now;
                    }
                }
            }
            OpKind::ListGet => {
                if let Object::List(l) = &mut self.object {
                    if l.read(clock) {
                        self.object = Object::Vacant;
                    }
                }
            }
            OpKind::MapIterate => {
                if let (Object::Map(m), Some(_)) = (&mut self.object, clock.ttl) {
                    m.read_all(clock);
                }
            }
            _ => {}
        }
        previous
    }

    /// A map op on one user key.
    fn map_entry(&mut self, kind: OpKind, user_key: u64, index: u64, clock: &Clock) -> Option<u64> {
        if let Object::Vacant = self.object {
            self.object = Object::Map(Fields::Small(Vec::new()));
        }
        // A state holds one kind of object: a map op on another kind does not occur.
        let Object::Map(m) = &mut self.object else {
            return None;
        };
        let previous = match kind {
            OpKind::MapPut(_, v) => {
                let field = m.field(user_key);
                field.value = Some(clock.stamp(v.len));
                touch(&mut field.last, index)
            }
            // Touched, then gone: the next access is a first touch.
            OpKind::MapRemove(_) => m.remove(user_key).map(|f| f.last),
            _ => {
                let field = m.field(user_key);
                match &mut field.value {
                    Some(e) if clock.expired(e) => field.value = None,
                    Some(e) if clock.refreshes_on_read() => e.at = clock.now,
                    _ => {}
                }
                touch(&mut field.last, index)
            }
        };
        if m.is_empty() {
            self.object = Object::Vacant;
        }
        previous
    }

    /// A timer registered or deleted.
    fn timer(&mut self, kind: OpKind, at: i64, index: u64) -> Option<u64> {
        if let Object::Vacant = self.object {
            self.object = Object::Timers(Timers::EMPTY);
        }
        let Object::Timers(timers) = &mut self.object else {
            return None;
        };
        let found = timers.as_mut_slice().binary_search_by_key(&at, |(t, _)| *t);
        let previous = match (kind, found) {
            (OpKind::TimerRegister(_), Ok(i)) => touch(&mut timers.as_mut_slice()[i].1, index),
            (OpKind::TimerRegister(_), Err(i)) => {
                timers.insert(i, (at, index));
                None
            }
            (_, Ok(i)) => Some(timers.remove(i).1),
            (_, Err(_)) => None,
        };
        if timers.is_empty() {
            self.object = Object::Vacant;
        }
        previous
    }

    /// Without TTL (nothing expires), the part of the slot's size `kind` can change: one user
    /// key's value for a map op on it (a whole map's would cost a pass over the map per op),
    /// nothing for a map's iteration, the whole slot otherwise.
    fn size_changed_by(&self, kind: OpKind, clock: &Clock) -> (u64, u64) {
        match (kind, &self.object) {
            (
                OpKind::MapGet(uk)
                | OpKind::MapPut(uk, _)
                | OpKind::MapContains(uk)
                | OpKind::MapRemove(uk),
                Object::Map(m),
            ) => m.value_size(uk),
            (OpKind::MapIterate, _) => (0, 0),
            _ => self.size(clock),
        }
    }

    /// Unexpired logical entries and their payload bytes now.
    fn size(&self, clock: &Clock) -> (u64, u64) {
        match &self.object {
            Object::Vacant => (0, 0),
            Object::Value(v) => match clock.expired(v) {
                true => (0, 0),
                false => (1, u64::from(v.len)),
            },
            Object::List(l) => l.size(clock),
            Object::Map(m) => m.size(clock),
            Object::Timers(timers) => (timers.len() as u64, 0),
        }
    }
}

/// What applying an op found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Applied {
    /// The index of the previous access to the entry the op touches; None if the entry was not
    /// touched before (or not since it was cleared, removed or deleted).
    pub(super) previous: Option<u64>,
    /// A value put or list add to a (state, key, namespace) not given one since it was last
    /// dropped from the state (or ever): where describe looks up whether a window is new,
    /// instead of on every element.
    pub(super) first_element: bool,
}

/// The sizes of a workload's state as its ops change it, and when its entries were last touched.
#[derive(Debug)]
pub(super) struct LiveState {
    clock: Clock,
    slots: SlotTable<SlotKey, Slot>,
    /// Without TTL, the size (entries, bytes) of the whole state, changed op by op: nothing
    /// expires, so only ops change it, and a pass over millions of slots per sample is saved.
    totals: (u64, u64),
}

impl LiveState {
    /// Empty state whose values expire by `ttl`, if any (timers never do).
    pub(super) fn new(ttl: Option<TtlSpec>) -> LiveState {
        LiveState {
            clock: Clock { now: 0, ttl },
            slots: SlotTable::new(),
            totals: (0, 0),
        }
    }

    /// The time accesses happen at, ms (what TTL is measured against).
    pub(super) fn set_time(&mut self, now: i64) {
        self.clock.now = now;
    }

    /// Starts loading what applying `op` will look at: called a few dozen ops ahead, it turns
    /// the table's cache misses from one after another into overlapping ones.
    pub(super) fn prefetch(&self, op: &StateOp) {
        self.slots.prefetch(&SlotKey::of(op));
    }

    /// Applies op number `index` of the stream.
    pub(super) fn apply(&mut self, op: &StateOp, index: u64) -> Applied {
        let at = self.slots.bucket_of(SlotKey::of(op));
        let slot = self.slots.at(at);
        let first_element = matches!(op.kind, OpKind::ValuePut(_) | OpKind::ListAdd(_))
            && !std::mem::replace(&mut slot.given, true);
        let totalled = self.clock.ttl.is_none();
        let before = match totalled {
            true => slot.size_changed_by(op.kind, &self.clock),
            false => (0, 0),
        };
        let previous = match op.kind {
            OpKind::MapGet(uk)
            | OpKind::MapPut(uk, _)
            | OpKind::MapContains(uk)
            | OpKind::MapRemove(uk) => slot.map_entry(op.kind, uk, index, &self.clock),
            OpKind::TimerRegister(t) | OpKind::TimerDelete(t) => slot.timer(op.kind, t, index),
            kind => slot.whole(kind, index, &self.clock),
        };
        if totalled {
            let after = slot.size_changed_by(op.kind, &self.clock);
            self.totals.0 = self.totals.0 - before.0 + after.0;
            self.totals.1 = self.totals.1 - before.1 + after.1;
        }
        if slot.is_vacant() {
            self.slots.remove_at(at);
        }
        Applied {
            previous,
            first_element,
        }
    }

    /// Unexpired logical entries and their payload bytes now.
    pub(super) fn size(&self) -> (u64, u64) {
        match self.clock.ttl {
            None => self.totals,
            Some(_) => self.summed_size(),
        }
    }

    /// [`LiveState::size`] summed over the slots: what expiry makes necessary under TTL.
    fn summed_size(&self) -> (u64, u64) {
        self.slots
            .values()
            .map(|s| s.size(&self.clock))
            .fold((0, 0), |(n, b), (sn, sb)| (n + sn, b + sb))
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::heap::HeapBackend;
    use crate::backend::{Backend, StateLayout};
    use crate::workload::{fill_value, Namespace, OpGenerator, StateId, WorkloadSpec};

    fn spec(file: &str, events: u64, ttl: Option<TtlSpec>) -> WorkloadSpec {
        let path = format!("{}/workloads/{file}", env!("CARGO_MANIFEST_DIR"));
        let mut spec = WorkloadSpec::load(std::path::Path::new(&path)).unwrap();
        spec.ttl = ttl.or(spec.ttl);
        spec.events = events;
        spec.warmup_events = 0;
        spec
    }

    /// Replays the first events of a workload into the tracker and the heap backend and
    /// compares their sizes every few hundred events.
    fn agrees_with_the_heap_backend(file: &str, events: u64, ttl: Option<TtlSpec>) {
        let spec = spec(file, events, ttl);
        let mut generator = OpGenerator::new(&spec).unwrap();
        let mut heap = HeapBackend::new(&StateLayout::of(&spec));
        let mut live = LiveState::new(spec.ttl);
        let (mut ops, mut value) = (Vec::new(), Vec::new());
        let (mut compared, mut index) = (0, 0);
        while generator.next_event(&mut ops) {
            heap.set_time(generator.event_time());
            live.set_time(generator.event_time());
            for op in &ops {
                match op.kind.value() {
                    Some(v) => fill_value(v, &mut value),
                    None => value.clear(),
                }
                heap.apply(op, &value).unwrap();
                live.apply(op, index);
                index += 1;
            }
            if generator.position().is_multiple_of(500) {
                assert_eq!(
                    live.size(),
                    heap.live_size(),
                    "{file}, event {}",
                    generator.position()
                );
                assert_eq!(live.size(), live.summed_size(), "{file}");
                compared += 1;
            }
        }
        assert!(compared > 0);
    }

    #[test]
    fn sizes_agree_with_the_heap_backend_on_every_kind_of_state() {
        for (file, events) in [
            ("ttl-cache.json", 5_000),
            ("map.json", 5_000),
            ("list-append.json", 5_000),
            ("session-window.json", 5_000),
            ("interval-join.json", 5_000),
            ("sliding-holistic.json", 5_000),
            ("uv-dedup.json", 5_000),
        ] {
            agrees_with_the_heap_backend(file, events, None);
        }
    }

    /// With a TTL short enough to expire within the events, under both update types.
    #[test]
    fn sizes_agree_with_the_heap_backend_as_values_expire() {
        for update_type in [TtlUpdate::OnCreateAndWrite, TtlUpdate::OnReadAndWrite] {
            let ttl = Some(TtlSpec {
                ttl_ms: 300,
                update_type,
            });
            for file in ["ttl-cache.json", "map.json", "list-append.json"] {
                agrees_with_the_heap_backend(file, 5_000, ttl);
            }
        }
    }

    /// The reuse figures against the plain computation: a map from every entry (state, key,
    /// namespace, user key or timer) to its last access, an entry dropped when cleared, removed or
    /// deleted (a map's clear drops every user key of the map).
    #[test]
    fn previous_accesses_agree_with_a_map_of_every_entry() {
        let short_ttl = Some(TtlSpec {
            ttl_ms: 300,
            update_type: TtlUpdate::OnReadAndWrite,
        });
        let mut classes = std::collections::HashSet::new();
        for (file, ttl) in [
            ("quickstart.json", None),
            ("map.json", short_ttl),
            ("ttl-cache.json", None),
            ("session-window.json", None),
            ("interval-join.json", None),
            ("sliding-holistic.json", None),
            ("uv-dedup.json", None),
            ("ycsb-e.json", None),
        ] {
            let mut spec = spec(file, 5_000, ttl);
            // Few keys: YCSB loads every record first, reuse comes after.
            spec.keys.count = spec.keys.count.min(1_000);
            let mut generator = OpGenerator::new(&spec).unwrap();
            let mut live = LiveState::new(spec.ttl);
            let mut last: HashMap<(StateId, u64, Namespace, u64), u64> = HashMap::new();
            let (mut ops, mut index, mut reuses) = (Vec::new(), 0, 0);
            while generator.next_event(&mut ops) {
                live.set_time(generator.event_time());
                for op in &ops {
                    let user_key = match op.kind {
                        OpKind::MapGet(uk)
                        | OpKind::MapPut(uk, _)
                        | OpKind::MapContains(uk)
                        | OpKind::MapRemove(uk) => uk,
                        OpKind::TimerRegister(t) | OpKind::TimerDelete(t) => t as u64,
                        _ => u64::MAX,
                    };
                    let entry = (op.state, op.key, op.namespace, user_key);
                    let expected = last.insert(entry, index);
                    match op.kind {
                        OpKind::MapClear => {
                            last.retain(|e, _| (e.0, e.1, e.2) != (op.state, op.key, op.namespace))
                        }
                        OpKind::ValueClear
                        | OpKind::ListClear
                        | OpKind::MapRemove(_)
                        | OpKind::TimerDelete(_) => {
                            last.remove(&entry);
                        }
                        _ => {}
                    }
                    classes.insert(op.kind.class());
                    assert_eq!(
                        live.apply(op, index).previous,
                        expected,
                        "{file}, op {index}: {op:?}"
                    );
                    reuses += u64::from(expected.is_some());
                    index += 1;
                }
            }
            assert!(reuses > 0 && reuses < index, "{file}: {reuses} of {index}");
        }
        let clears = [
            OpKind::ValueClear,
            OpKind::ListClear,
            OpKind::MapClear,
            OpKind::MapRemove(0),
            OpKind::MapIterate,
            OpKind::TimerDelete(0),
        ];
        for kind in clears {
            assert!(classes.contains(&kind.class()), "no {kind:?} replayed");
        }
    }
}
