//! Keyed event-time windows as Flink's `WindowOperator` with the `EventTimeTrigger` drives state:
//! window contents in the window's namespace (a reduce/aggregate accumulator, or a list buffer),
//! one event-time timer per window at its max timestamp (and a cleanup timer when lateness is
//! allowed), firing when the watermark passes, late elements dropped.

use crate::workload::generation::stream::{Event, EventStream, EventTimeModel};
use crate::workload::generation::timers::TimerQueue;
use crate::workload::generator::Draws;
use crate::workload::op::{Namespace, OpKind, StateId, StateOp};
use crate::workload::spec::Aggregation;

const CONTENTS: StateId = 0;
const TIMERS: StateId = 1;

/// A window operator over an event stream.
#[derive(Clone, Debug)]
pub(crate) struct WindowOperator {
    stream: EventStream,
    size: i64,
    slide: i64,
    aggregation: Aggregation,
    allowed_lateness: i64,
    watermark: i64,
    /// Registered timers: timestamp → (key, window start, window end).
    timers: TimerQueue<(u64, i64, i64)>,
    dropped_late: u64,
    last_timestamp: i64,
}

impl WindowOperator {
    /// A window operator of `(size, slide, aggregation, allowed lateness)` over `stream`.
    pub(crate) fn new(
        (size, slide, aggregation, lateness): (u64, u64, Aggregation, u64),
        stream: EventStream,
    ) -> WindowOperator {
        WindowOperator {
            stream,
            size: size as i64,
            slide: slide as i64,
            aggregation,
            allowed_lateness: lateness as i64,
            watermark: i64::MIN,
            timers: TimerQueue::new(),
            dropped_late: 0,
            last_timestamp: 0,
        }
    }

    fn element(&mut self, event: &Event, out: &mut Vec<StateOp>) {
        let ts = event.timestamp;
        // TimeWindow.getWindowStartWithOffset, then every window of `size` containing ts.
        let last_start = ts - ts.rem_euclid(self.slide);
        let mut start = last_start;
        let mut any_window = false;
        while start > ts - self.size {
            let window = (start, start + self.size);
            start -= self.slide;
            let max_ts = window.1 - 1;
            let cleanup = max_ts.saturating_add(self.allowed_lateness);
            if cleanup <= self.watermark {
                continue; // isWindowLate
            }
            any_window = true;
            let op = |state, kind| StateOp {
                state,
                key: event.key,
                namespace: Namespace::Window {
                    start: window.0,
                    end: window.1,
                },
                kind,
            };
            match self.aggregation {
                Aggregation::Incremental => {
                    out.push(op(CONTENTS, OpKind::ValueGet));
                    out.push(op(CONTENTS, OpKind::ValuePut(event.value)));
                }
                Aggregation::Holistic => out.push(op(CONTENTS, OpKind::ListAdd(event.value))),
            }
            if max_ts <= self.watermark {
                // EventTimeTrigger.onElement: the watermark is past the window: fire at once.
                out.push(op(CONTENTS, self.aggregation.read_and_clear().0));
            } else {
                out.push(op(TIMERS, OpKind::TimerRegister(max_ts)));
                self.timers.insert(max_ts, (event.key, window.0, window.1));
            }
            if cleanup != max_ts {
                out.push(op(TIMERS, OpKind::TimerRegister(cleanup)));
                self.timers.insert(cleanup, (event.key, window.0, window.1));
            }
        }
        if !any_window {
            self.dropped_late += 1;
        }
    }

    /// Fires every timer at or before `watermark`, in timestamp order.
    fn advance_watermark(&mut self, watermark: i64, out: &mut Vec<StateOp>) {
        self.watermark = self.watermark.max(watermark);
        let (get, clear) = self.aggregation.read_and_clear();
        while let Some((ts, (key, start, end))) = self.timers.pop_due(self.watermark) {
            let op = |state, kind| StateOp {
                state,
                key,
                namespace: Namespace::Window { start, end },
                kind,
            };
            // The timer service polls the timer off its queue.
            out.push(op(TIMERS, OpKind::TimerDelete(ts)));
            let max_ts = end - 1;
            if ts == max_ts {
                out.push(op(CONTENTS, get));
            }
            if ts == max_ts.saturating_add(self.allowed_lateness) {
                // clearAllState: contents, then the trigger's own timer.
                out.push(op(CONTENTS, clear));
                out.push(op(TIMERS, OpKind::TimerDelete(max_ts)));
            }
        }
    }
}

impl EventTimeModel for WindowOperator {
    fn stream(&mut self) -> &mut EventStream {
        &mut self.stream
    }

    fn on_watermark(&mut self, watermark: i64, _draws: &mut Draws, out: &mut Vec<StateOp>) {
        self.advance_watermark(watermark, out);
    }

    fn on_element(&mut self, event: &Event, _draws: &mut Draws, out: &mut Vec<StateOp>) {
        self.element(event, out);
    }

    fn set_time(&mut self, timestamp: i64) {
        self.last_timestamp = timestamp;
    }

    fn time(&self) -> i64 {
        self.last_timestamp
    }

    /// Flink's `numLateRecordsDropped`.
    fn dropped(&self) -> u64 {
        self.dropped_late
    }
}
