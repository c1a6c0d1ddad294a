//! The live state of a workload, tracked by size alone: what `workload describe` reports as
//! live state over time, without a state backend (no value bytes made, no copy-on-write maps,
//! no list copied to be read).
//!
//! It follows the heap backend's semantics op by op (`backend::heap::access`), so it counts what
//! [`crate::backend::heap::HeapBackend::live_size`] counts: unexpired values, non-empty lists (one
//! entry each, every unexpired element's bytes), map entries and timers; expired values, list
//! elements and map entries are dropped when read, and reads refresh timestamps under
//! `OnReadAndWrite`. A test replays workloads into both and compares them.

use std::collections::HashMap;

use super::FxBuild;
use crate::workload::{Namespace, OpKind, StateId, StateOp, TtlSpec, TtlUpdate};

/// A payload's length and when it was written (or last read, under `OnReadAndWrite`).
#[derive(Clone, Copy, Debug)]
struct Stamp {
    len: u32,
    at: i64,
}

/// What one (state, key, namespace) holds.
#[derive(Debug)]
enum Object {
    Value(Stamp),
    List(Vec<Stamp>),
    Map(HashMap<u64, Stamp, FxBuild>),
    /// Registered timestamps, sorted.
    Timers(Vec<i64>),
}

/// The sizes of a workload's state as its ops change it.
#[derive(Debug)]
pub(super) struct LiveState {
    ttl: Option<TtlSpec>,
    now: i64,
    objects: HashMap<(StateId, u64, Namespace), Object, FxBuild>,
}

impl LiveState {
    /// Empty state whose values expire by `ttl`, if any (timers never do).
    pub(super) fn new(ttl: Option<TtlSpec>) -> LiveState {
        LiveState {
            ttl,
            now: 0,
            objects: HashMap::default(),
        }
    }

    /// The time accesses happen at, ms (what TTL is measured against).
    pub(super) fn set_time(&mut self, now: i64) {
        self.now = now;
    }

    fn expired(&self, s: &Stamp) -> bool {
        self.ttl.is_some_and(|t| t.expired(s.at, self.now))
    }

    fn refreshes_on_read(&self) -> bool {
        self.ttl
            .is_some_and(|t| t.update_type == TtlUpdate::OnReadAndWrite)
    }

    /// Applies one op.
    pub(super) fn apply(&mut self, op: &StateOp) {
        let slot = (op.state, op.key, op.namespace);
        let now = self.now;
        let stamp = |len: u32| Stamp { len, at: now };
        let (ttl, refresh) = (self.ttl, self.refreshes_on_read());
        let expired = |s: &Stamp| ttl.is_some_and(|t| t.expired(s.at, now));
        match op.kind {
            OpKind::ValuePut(v) => {
                self.objects.insert(slot, Object::Value(stamp(v.len)));
            }
            OpKind::ListUpdate(v) => {
                self.objects.insert(slot, Object::List(vec![stamp(v.len)]));
            }
            OpKind::ValueClear | OpKind::ListClear | OpKind::MapClear => {
                self.objects.remove(&slot);
            }
            OpKind::ListAdd(v) => match self.objects.get_mut(&slot) {
                Some(Object::List(l)) => l.push(stamp(v.len)),
                _ => {
                    self.objects.insert(slot, Object::List(vec![stamp(v.len)]));
                }
            },
            OpKind::MapPut(user_key, v) => match self.objects.get_mut(&slot) {
                Some(Object::Map(m)) => {
                    m.insert(user_key, stamp(v.len));
                }
                _ => {
                    let mut m = HashMap::default();
                    m.insert(user_key, stamp(v.len));
                    self.objects.insert(slot, Object::Map(m));
                }
            },
            OpKind::TimerRegister(t) => match self.objects.get_mut(&slot) {
                Some(Object::Timers(timers)) => {
                    if let Err(at) = timers.binary_search(&t) {
                        timers.insert(at, t);
                    }
                }
                _ => {
                    self.objects.insert(slot, Object::Timers(vec![t]));
                }
            },
            _ => {
                let Some(object) = self.objects.get_mut(&slot) else {
                    return;
                };
                let emptied = match (op.kind, object) {
                    (OpKind::ValueGet, Object::Value(v)) => {
                        if refresh && !expired(v) {
                            v.at = now;
                        }
                        expired(v)
                    }
                    (OpKind::ListGet, Object::List(l)) => {
                        if ttl.is_some() {
                            l.retain(|e| !expired(e));
                            if refresh {
                                l.iter_mut().for_each(|e| e.at = now);
                            }
                        }
                        l.is_empty()
                    }
                    (OpKind::MapIterate, Object::Map(m)) => {
                        if ttl.is_some() {
                            m.retain(|_, e| !expired(e));
                            if refresh {
                                m.values_mut().for_each(|e| e.at = now);
                            }
                        }
                        m.is_empty()
                    }
                    (OpKind::MapGet(uk) | OpKind::MapContains(uk), Object::Map(m)) => {
                        match m.get_mut(&uk) {
                            Some(e) if expired(e) => {
                                m.remove(&uk);
                                m.is_empty()
                            }
                            Some(e) => {
                                if refresh {
                                    e.at = now;
                                }
                                false
                            }
                            None => false,
                        }
                    }
                    (OpKind::MapRemove(uk), Object::Map(m)) => {
                        m.remove(&uk);
                        m.is_empty()
                    }
                    (OpKind::TimerDelete(t), Object::Timers(timers)) => {
                        if let Ok(at) = timers.binary_search(&t) {
                            timers.remove(at);
                        }
                        timers.is_empty()
                    }
                    _ => false,
                };
                if emptied {
                    self.objects.remove(&slot);
                }
            }
        }
    }

    /// Unexpired logical entries and their payload bytes now.
    pub(super) fn size(&self) -> (u64, u64) {
        let (mut entries, mut bytes) = (0u64, 0u64);
        for object in self.objects.values() {
            match object {
                Object::Value(v) => {
                    if !self.expired(v) {
                        entries += 1;
                        bytes += u64::from(v.len);
                    }
                }
                Object::List(l) => {
                    let mut live = l.iter().filter(|e| !self.expired(e)).peekable();
                    if live.peek().is_some() {
                        entries += 1;
                        bytes += live.map(|e| u64::from(e.len)).sum::<u64>();
                    }
                }
                Object::Map(m) => {
                    for e in m.values().filter(|e| !self.expired(e)) {
                        entries += 1;
                        bytes += u64::from(e.len);
                    }
                }
                Object::Timers(timers) => entries += timers.len() as u64,
            }
        }
        (entries, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::heap::HeapBackend;
    use crate::backend::{Backend, StateLayout};
    use crate::workload::{fill_value, OpGenerator, WorkloadSpec};

    /// Replays the first events of a workload into the tracker and the heap backend and
    /// compares their sizes every few hundred events.
    fn agrees_with_the_heap_backend(file: &str, events: u64, ttl: Option<TtlSpec>) {
        let path = format!("{}/workloads/{file}", env!("CARGO_MANIFEST_DIR"));
        let mut spec = WorkloadSpec::load(std::path::Path::new(&path)).unwrap();
        spec.ttl = ttl.or(spec.ttl);
        spec.events = events;
        spec.warmup_events = 0;
        let mut generator = OpGenerator::new(&spec).unwrap();
        let mut heap = HeapBackend::new(&StateLayout::of(&spec));
        let mut live = LiveState::new(spec.ttl);
        let (mut ops, mut value) = (Vec::new(), Vec::new());
        let mut compared = 0;
        while generator.next_event(&mut ops) {
            heap.set_time(generator.event_time());
            live.set_time(generator.event_time());
            for op in &ops {
                match op.kind.value() {
                    Some(v) => fill_value(v, &mut value),
                    None => value.clear(),
                }
                heap.apply(op, &value).unwrap();
                live.apply(op);
            }
            if generator.position().is_multiple_of(500) {
                assert_eq!(
                    live.size(),
                    heap.live_size(),
                    "{file}, event {}",
                    generator.position()
                );
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
}
