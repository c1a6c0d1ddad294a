//! What every window operator keeps (tumbling and sliding windows, the window join, session
//! windows): the contents of each window in its namespace, and the trigger's timers. The ops on
//! the contents depend only on how the window aggregates, so the window models share them here.

use crate::workload::op::{Namespace, OpKind, StateId, StateOp, ValueRef};
use crate::workload::spec::Aggregation;

/// The window contents (`window-contents`), first in a window operator's layout.
pub(crate) const CONTENTS: StateId = 0;
/// The trigger's event-time timers (`_timer_state/event_window-timers`), second.
pub(crate) const TIMERS: StateId = 1;

/// What a window timer fires for: a key's window `[start, end)`. Timers of one timestamp fire in
/// the order of key, then start, then end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct WindowTimer {
    /// The key whose window it is.
    pub key: u64,
    /// Inclusive start of the window, ms.
    pub start: i64,
    /// Exclusive end of the window, ms.
    pub end: i64,
}

impl WindowTimer {
    /// The window's namespace.
    pub(crate) fn namespace(&self) -> Namespace {
        Namespace::Window {
            start: self.start,
            end: self.end,
        }
    }
}

/// Appends the ops that add `value` to a window's contents, each made by `op` from its kind:
/// the accumulator read and written back (incremental), or the value appended (holistic).
pub(crate) fn add_to_contents(
    aggregation: Aggregation,
    value: ValueRef,
    out: &mut Vec<StateOp>,
    op: impl Fn(OpKind) -> StateOp,
) {
    match aggregation {
        Aggregation::Incremental => {
            out.push(op(OpKind::ValueGet));
            out.push(op(OpKind::ValuePut(value)));
        }
        Aggregation::Holistic => out.push(op(OpKind::ListAdd(value))),
    }
}

/// The op that reads a window's contents when it fires.
pub(crate) fn read_contents(aggregation: Aggregation) -> OpKind {
    match aggregation {
        Aggregation::Incremental => OpKind::ValueGet,
        Aggregation::Holistic => OpKind::ListGet,
    }
}

/// The op that clears a window's contents when it is purged.
pub(crate) fn clear_contents(aggregation: Aggregation) -> OpKind {
    match aggregation {
        Aggregation::Incremental => OpKind::ValueClear,
        Aggregation::Holistic => OpKind::ListClear,
    }
}
