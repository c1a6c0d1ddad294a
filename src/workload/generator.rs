//! Turns a workload spec into its op stream, event by event: picks the operator model the spec
//! names and drives it with the workload's draws. This is the one place that knows every model,
//! so the models never import one another or this file.

use anyhow::{bail, Result};

use super::generation::{Draws, EventStream, EventTimeModel, EventTimeOperator, OperatorModel};
use super::models::{
    ContinuousAggregation, Dedup, FixedWindows, IntervalJoin, KeyedMix, SessionWindows,
    WindowOperator, Ycsb,
};
use super::op::StateOp;
use super::source::{EventBatch, OpSource};
use super::spec::{OperatorSpec, WorkloadSpec, WINDOW_JOIN_AGGREGATION};

/// Generates the ops of a workload, one event at a time.
#[derive(Debug)]
pub struct OpGenerator {
    draws: Draws,
    model: Box<dyn OperatorModel>,
    events: u64,
    next_event: u64,
}

impl OpGenerator {
    /// A generator positioned before the first event of `spec`.
    pub fn new(spec: &WorkloadSpec) -> Result<OpGenerator> {
        Ok(OpGenerator {
            draws: Draws::new(spec)?,
            model: model(spec)?,
            events: spec.events,
            next_event: 0,
        })
    }

    /// Index of the next event to be generated (= events generated so far).
    pub fn position(&self) -> u64 {
        self.next_event
    }

    /// Total number of events in the stream.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Replaces `out` with the ops of the next event; false when the stream is over. The last
    /// event also carries what the end of input causes (windows firing on the final watermark).
    pub fn next_event(&mut self, out: &mut Vec<StateOp>) -> bool {
        out.clear();
        self.append_event(out)
    }

    /// Appends the ops of the next event to `out`, as [`OpGenerator::next_event`] makes them.
    pub fn append_event(&mut self, out: &mut Vec<StateOp>) -> bool {
        if self.next_event >= self.events {
            return false;
        }
        self.next_event += 1;
        let last = self.next_event == self.events;
        self.model.event(&mut self.draws, last, out);
        true
    }

    /// Appends up to `max_events` events to `batch` (see [`OpSource::append_events`]), the
    /// model generating them in one call; returns how many.
    pub fn append_events(
        &mut self,
        batch: &mut EventBatch,
        max_events: usize,
        max_ops: usize,
    ) -> usize {
        let left = self.events - self.next_event;
        let events = (max_events as u64).min(left) as usize;
        let ends_input = events as u64 == left;
        let appended =
            self.model
                .append_events(&mut self.draws, events, ends_input, batch, max_ops);
        self.next_event += appended as u64;
        appended
    }

    /// Moves the end of the stream on to `events`: the events past the workload's `events` are
    /// the same deterministic stream continued (the draws do not depend on where it ends), and
    /// what the end of input causes moves to the new last event. False, and nothing changes,
    /// when the last event was already generated or `events` is not past the end.
    pub fn extend_to(&mut self, events: u64) -> bool {
        if self.next_event >= self.events || events <= self.events {
            return false;
        }
        self.events = events;
        true
    }

    /// Event time of the last event generated, ms: its timestamp for models on an event-time
    /// stream, its position for the plain keyed model (one event per millisecond).
    pub fn event_time(&self) -> i64 {
        self.model.event_time()
    }

    /// Events the operator dropped as too late so far (window models).
    pub fn dropped_late(&self) -> u64 {
        self.model.dropped_late()
    }
}

impl OpSource for OpGenerator {
    fn append_event(&mut self, out: &mut Vec<StateOp>) -> Result<bool> {
        Ok(OpGenerator::append_event(self, out))
    }

    fn append_events(
        &mut self,
        batch: &mut EventBatch,
        max_events: usize,
        max_ops: usize,
    ) -> Result<usize> {
        Ok(OpGenerator::append_events(self, batch, max_events, max_ops))
    }

    fn position(&self) -> u64 {
        OpGenerator::position(self)
    }

    fn events(&self) -> u64 {
        OpGenerator::events(self)
    }

    fn event_time(&self) -> i64 {
        OpGenerator::event_time(self)
    }

    fn extend_to(&mut self, events: u64) -> bool {
        OpGenerator::extend_to(self, events)
    }
}

/// The model of the operator `spec` names: the plain keyed model without an operator, else the
/// operator's model on the spec's event-time stream.
fn model(spec: &WorkloadSpec) -> Result<Box<dyn OperatorModel>> {
    let Some(operator) = &spec.operator else {
        return Ok(Box::new(KeyedMix::new(&spec.states)));
    };
    let Some(stream) = &spec.stream else {
        bail!("an operator model needs an event-time `stream`");
    };
    let model: Box<dyn EventTimeModel> = match *operator {
        OperatorSpec::TumblingWindow {
            size_ms,
            aggregation,
            allowed_lateness_ms,
        } => Box::new(WindowOperator::new(FixedWindows::tumbling(
            size_ms,
            aggregation,
            allowed_lateness_ms,
        ))),
        OperatorSpec::SlidingWindow {
            size_ms,
            slide_ms,
            aggregation,
            allowed_lateness_ms,
        } => Box::new(WindowOperator::new(FixedWindows {
            size_ms,
            slide_ms,
            aggregation,
            allowed_lateness_ms,
        })),
        OperatorSpec::WindowJoin { size_ms } => Box::new(WindowOperator::new(
            FixedWindows::tumbling(size_ms, WINDOW_JOIN_AGGREGATION, 0),
        )),
        OperatorSpec::SessionWindow {
            gap_ms,
            aggregation,
            allowed_lateness_ms,
        } => Box::new(SessionWindows::new(
            gap_ms,
            aggregation,
            allowed_lateness_ms,
        )),
        OperatorSpec::ContinuousAggregation => Box::new(ContinuousAggregation),
        OperatorSpec::IntervalJoin {
            lower_bound_ms,
            upper_bound_ms,
            left_fraction,
        } => Box::new(IntervalJoin::new(
            lower_bound_ms,
            upper_bound_ms,
            left_fraction,
        )),
        OperatorSpec::Dedup {
            state,
            ref users,
            period_ms,
        } => Box::new(Dedup::new(state, users, period_ms)?),
        OperatorSpec::Ycsb {
            workload,
            fields,
            max_scan_length,
        } => Box::new(Ycsb::new(
            workload,
            fields,
            max_scan_length,
            spec.keys.count,
        )),
    };
    Ok(Box::new(EventTimeOperator::new(
        model,
        EventStream::new(stream),
    )))
}
