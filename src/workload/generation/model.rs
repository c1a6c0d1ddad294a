//! What an operator model is, and the event loop the models on the event-time stream share.
//!
//! The models (`models/`) implement these traits and the generator drives them; the traits live
//! below both so that neither imports the other's file.

use std::fmt::Debug;

use super::draws::Draws;
use super::stream::{Event, EventStream};
use crate::workload::op::StateOp;
use crate::workload::source::EventBatch;

/// An operator model: turns the workload's events into the state ops its Flink operator issues.
/// A model keeps only what the operator itself would know (its timers, its session mapping),
/// never the backend's state.
pub(crate) trait OperatorModel: Debug + Send {
    /// Appends the ops of the next event; `last` marks the end of a bounded input, where the
    /// final watermark fires whatever is pending.
    fn event(&mut self, draws: &mut Draws, last: bool, out: &mut Vec<StateOp>);

    /// Event time of the last event, ms.
    fn event_time(&self) -> i64;

    /// Appends up to `events` events to `batch` as [`OperatorModel::event`] makes them (the
    /// last of them `last` when `ends_input`), stopping early once it holds `max_ops` ops or
    /// more; returns how many it appended. Compiled for each model, so a batch costs one
    /// dynamic call instead of one per event.
    fn append_events(
        &mut self,
        draws: &mut Draws,
        events: usize,
        ends_input: bool,
        batch: &mut EventBatch,
        max_ops: usize,
    ) -> usize {
        let mut appended = 0;
        while appended < events && batch.ops.len() < max_ops {
            appended += 1;
            self.event(draws, ends_input && appended == events, &mut batch.ops);
            batch.end_event(self.event_time());
        }
        appended
    }

    /// Elements dropped as late so far.
    fn dropped_late(&self) -> u64;
}

/// A model of an operator on the event-time stream: it reacts to watermarks and to elements,
/// and [`EventTimeOperator`] feeds it both in Flink's order.
pub(crate) trait EventTimeModel: Debug + Send {
    /// Fires whatever the watermark makes due.
    fn on_watermark(&mut self, watermark: i64, draws: &mut Draws, out: &mut Vec<StateOp>);

    /// Handles one element.
    fn on_element(&mut self, event: &Event, draws: &mut Draws, out: &mut Vec<StateOp>);

    /// Elements dropped as late so far; a model that accepts late elements drops none.
    fn dropped_late(&self) -> u64 {
        0
    }
}

/// An [`EventTimeModel`] on its event-time stream: the event loop every such model shares.
#[derive(Debug)]
pub(crate) struct EventTimeOperator {
    stream: EventStream,
    model: Box<dyn EventTimeModel>,
    /// Timestamp of the last event, ms.
    time: i64,
}

impl EventTimeOperator {
    /// `model` fed by `stream`.
    pub(crate) fn new(model: Box<dyn EventTimeModel>, stream: EventStream) -> EventTimeOperator {
        EventTimeOperator {
            stream,
            model,
            time: 0,
        }
    }
}

impl OperatorModel for EventTimeOperator {
    /// The watermark due before the event first, then the element, then, at the end of a
    /// bounded input, the final watermark that fires everything pending.
    fn event(&mut self, draws: &mut Draws, last: bool, out: &mut Vec<StateOp>) {
        let (event, watermark) = self.stream.next(draws);
        self.time = event.timestamp;
        if let Some(watermark) = watermark {
            self.model.on_watermark(watermark, draws, out);
        }
        self.model.on_element(&event, draws, out);
        if last {
            self.model.on_watermark(i64::MAX, draws, out);
        }
    }

    fn event_time(&self) -> i64 {
        self.time
    }

    fn dropped_late(&self) -> u64 {
        self.model.dropped_late()
    }
}
