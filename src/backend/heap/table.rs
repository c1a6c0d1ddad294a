//! What the heap backend holds: per state, a [`CowStateMap`] per key group from (key, namespace)
//! to a state object that is not serialized (Flink's `CopyOnWriteStateTable` over its key-group
//! range; here the range is every key group, as at parallelism 1), or, for a timer service, a
//! [`TimerHeapSet`].

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{bail, Result};

use super::cow_map::{CopyState, CowStateMap};
use crate::backend::timer_set::TimerHeapSet;
use crate::workload::{Namespace, StateKind};

/// A value with the time it was last written (or, with `OnReadAndWrite`, read): Flink's
/// `TtlValue` under state TTL; without TTL it is 0, never read nor written out.
#[derive(Clone, Debug)]
pub struct Stamped {
    /// The time, ms, TTL is measured from.
    pub at: i64,
    /// The value's bytes (`byte[]`), shared by an entry and its copies until one changes.
    pub bytes: Arc<[u8]>,
}

impl Stamped {
    /// A copy sharing nothing (`BytePrimitiveArraySerializer.copy`).
    fn copy(&self) -> Stamped {
        Stamped {
            at: self.at,
            bytes: Arc::from(&self.bytes[..]),
        }
    }
}

/// A state object as the heap backend keeps it: not serialized. `Clone` shares it, as a Java
/// reference does; [`CopyState::copy_state`] copies it, as the state serializer's `copy` does.
#[derive(Clone, Debug)]
pub enum StateObject {
    /// A `ValueState` value.
    Value(Stamped),
    /// A `ListState` list (`ArrayList`), in insertion order.
    List(Arc<Vec<Stamped>>),
    /// A `MapState` map (`HashMap`), by user key.
    Map(Arc<HashMap<u64, Stamped>>),
}

impl CopyState for StateObject {
    fn copy_state(&self) -> StateObject {
        match self {
            StateObject::Value(v) => StateObject::Value(v.copy()),
            StateObject::List(l) => {
                StateObject::List(Arc::new(l.iter().map(Stamped::copy).collect()))
            }
            StateObject::Map(m) => {
                StateObject::Map(Arc::new(m.iter().map(|(k, v)| (*k, v.copy())).collect()))
            }
        }
    }
}

/// How a state's namespaces are serialized: Flink gives every state one namespace serializer,
/// and the heap snapshot, which frames nothing, needs it to read them back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NamespaceSerializer {
    /// `VoidNamespaceSerializer`.
    Void,
    /// `StringSerializer` (the interval join's cleanup timers).
    String,
    /// `TimeWindow.Serializer`.
    Window,
}

impl NamespaceSerializer {
    /// The serializer of `namespace`.
    #[inline]
    pub(super) fn of(namespace: &Namespace) -> NamespaceSerializer {
        match namespace {
            Namespace::Void => NamespaceSerializer::Void,
            Namespace::CleanupLeft | Namespace::CleanupRight => NamespaceSerializer::String,
            Namespace::Window { .. } => NamespaceSerializer::Window,
        }
    }
}

/// One state of the heap backend: a value, list or map state's map per key group, or a timer
/// service's queue; and the namespace serializer its writes fixed. A struct, not an enum of the
/// two: the ValueState fast path finds a table's map with the one bounds check it makes anyway
/// (a timer service has no maps), with no variant to test on every op.
pub(super) struct HeapState {
    /// Value, list or map state: a map per key group (none for a timer service).
    pub(super) maps: Vec<CowStateMap<StateObject>>,
    /// A timer service's queue (None for a value, list or map state).
    pub(super) timers: Option<TimerHeapSet>,
    /// How the state's namespaces are serialized, fixed by its first write.
    pub(super) namespace: StateNamespace,
}

impl HeapState {
    /// An empty state of `kind` over `max_parallelism` key groups.
    pub(super) fn new(kind: StateKind, max_parallelism: u32) -> HeapState {
        let (maps, timers) = match kind {
            StateKind::Timer => (Vec::new(), Some(TimerHeapSet::new(max_parallelism))),
            _ => (
                (0..max_parallelism).map(|_| CowStateMap::new()).collect(),
                None,
            ),
        };
        HeapState {
            maps,
            timers,
            namespace: StateNamespace::default(),
        }
    }

    /// (key, namespace) entries or timers held.
    pub(super) fn len(&self) -> usize {
        match &self.timers {
            Some(queue) => queue.len(),
            None => self.maps.iter().map(CowStateMap::len).sum(),
        }
    }
}

/// The namespace serializer of a state, fixed by its first write.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct StateNamespace(Option<NamespaceSerializer>);

impl StateNamespace {
    /// Admits a write in `namespace` to the state `name`: its namespace must be of the kind
    /// the state's earlier writes had.
    #[inline]
    pub(super) fn admit(&mut self, namespace: &Namespace, name: &str) -> Result<()> {
        let serializer = NamespaceSerializer::of(namespace);
        match self.0 {
            None => self.0 = Some(serializer),
            Some(s) if s == serializer => {}
            Some(s) => bail!(
                "state {name:?} written in a {serializer:?} namespace after {s:?} ones: Flink \
                 gives a state one namespace serializer"
            ),
        }
        Ok(())
    }

    /// Whether a write in `namespace` is admitted without changing anything: the state was
    /// written before in a namespace of its kind.
    #[inline]
    pub(super) fn admits(self, namespace: &Namespace) -> bool {
        self.0 == Some(NamespaceSerializer::of(namespace))
    }

    /// The serializer, None for a state never written.
    pub(super) fn serializer(self) -> Option<NamespaceSerializer> {
        self.0
    }

    /// Its code in a snapshot's header.
    pub(super) fn code(self) -> u8 {
        match self.0 {
            None => 0xFF,
            Some(NamespaceSerializer::Void) => 0,
            Some(NamespaceSerializer::String) => 1,
            Some(NamespaceSerializer::Window) => 2,
        }
    }

    /// What a header's code says, None for an unknown code.
    pub(super) fn from_code(code: u8) -> Option<StateNamespace> {
        Some(StateNamespace(match code {
            0xFF => None,
            0 => Some(NamespaceSerializer::Void),
            1 => Some(NamespaceSerializer::String),
            2 => Some(NamespaceSerializer::Window),
            _ => return None,
        }))
    }
}
