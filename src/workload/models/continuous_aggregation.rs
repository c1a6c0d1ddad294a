//! A keyed aggregate that is never cleared (`keyBy().reduce()` outside windows): the simplest
//! operator on the event-time stream, one value per key read and written back per event.

use crate::workload::generation::{Draws, Event, EventTimeModel};
use crate::workload::op::{Namespace, OpKind, StateId, StateOp};

/// The aggregate (`aggregate`), the operator's only state.
const AGGREGATE: StateId = 0;

/// A keyed aggregate never cleared: get + put of one value per event.
#[derive(Clone, Debug)]
pub(crate) struct ContinuousAggregation;

impl EventTimeModel for ContinuousAggregation {
    /// The aggregate has no timers: watermarks change nothing.
    fn on_watermark(&mut self, _watermark: i64, _draws: &mut Draws, _out: &mut Vec<StateOp>) {}

    /// Reads the key's aggregate and writes it back.
    fn on_element(&mut self, event: &Event, _draws: &mut Draws, out: &mut Vec<StateOp>) {
        let op = |kind| StateOp {
            state: AGGREGATE,
            key: event.key,
            namespace: Namespace::Void,
            kind,
        };
        out.push(op(OpKind::ValueGet));
        out.push(op(OpKind::ValuePut(event.value)));
    }
}
