//! Keyed event-time windows as Flink's `WindowOperator` with the `EventTimeTrigger` drives state:
//! window contents in the window's namespace (a reduce/aggregate accumulator, or a list buffer),
//! one event-time timer per window at its max timestamp (and a cleanup timer when lateness is
//! allowed), firing when the watermark passes, late elements dropped.

use super::window_state::{
    add_to_contents, clear_contents, read_contents, WindowTimer, CONTENTS, TIMERS,
};
use crate::workload::generation::{Draws, Event, EventTimeModel, TimerQueue};
use crate::workload::op::{OpKind, StateOp};
use crate::workload::spec::Aggregation;

/// The windows of a non-merging window operator: tumbling (slide = size), sliding, and the
/// window join's tumbling windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FixedWindows {
    /// Window size, ms.
    pub size_ms: u64,
    /// Distance between window starts, ms; divides the size.
    pub slide_ms: u64,
    /// How a window keeps its contents.
    pub aggregation: Aggregation,
    /// `allowedLateness`, ms.
    pub allowed_lateness_ms: u64,
}

impl FixedWindows {
    /// Tumbling windows: each as long as the distance between them.
    pub(crate) fn tumbling(
        size_ms: u64,
        aggregation: Aggregation,
        allowed_lateness_ms: u64,
    ) -> FixedWindows {
        FixedWindows {
            size_ms,
            slide_ms: size_ms,
            aggregation,
            allowed_lateness_ms,
        }
    }
}

/// A window operator over fixed windows.
#[derive(Clone, Debug)]
pub(crate) struct WindowOperator {
    size: i64,
    slide: i64,
    aggregation: Aggregation,
    allowed_lateness: i64,
    watermark: i64,
    timers: TimerQueue<WindowTimer>,
    dropped_late: u64,
}

impl WindowOperator {
    /// A window operator over `windows`, before any element.
    pub(crate) fn new(windows: FixedWindows) -> WindowOperator {
        WindowOperator {
            size: windows.size_ms as i64,
            slide: windows.slide_ms as i64,
            aggregation: windows.aggregation,
            allowed_lateness: windows.allowed_lateness_ms as i64,
            watermark: i64::MIN,
            timers: TimerQueue::new(),
            dropped_late: 0,
        }
    }
}

impl EventTimeModel for WindowOperator {
    /// Fires every timer at or before `watermark`, in timestamp order.
    fn on_watermark(&mut self, watermark: i64, _draws: &mut Draws, out: &mut Vec<StateOp>) {
        self.watermark = self.watermark.max(watermark);
        while let Some((ts, timer)) = self.timers.pop_due(self.watermark) {
            let op = |state, kind| StateOp {
                state,
                key: timer.key,
                namespace: timer.namespace(),
                kind,
            };
            // The timer service polls the timer off its queue.
            out.push(op(TIMERS, OpKind::TimerDelete(ts)));
            let max_ts = timer.end - 1;
            if ts == max_ts {
                out.push(op(CONTENTS, read_contents(self.aggregation)));
            }
            if ts == max_ts.saturating_add(self.allowed_lateness) {
                // clearAllState: contents, then the trigger's own timer.
                out.push(op(CONTENTS, clear_contents(self.aggregation)));
                out.push(op(TIMERS, OpKind::TimerDelete(max_ts)));
            }
        }
    }

    /// Adds the element to every window it falls in that is not late, registering each
    /// window's timers; an element no window takes is dropped as late.
    fn on_element(&mut self, event: &Event, _draws: &mut Draws, out: &mut Vec<StateOp>) {
        let ts = event.timestamp;
        // TimeWindow.getWindowStartWithOffset, then every window of `size` containing ts.
        let last_start = ts - ts.rem_euclid(self.slide);
        let mut start = last_start;
        let mut any_window = false;
        while start > ts - self.size {
            let timer = WindowTimer {
                key: event.key,
                start,
                end: start + self.size,
            };
            start -= self.slide;
            let max_ts = timer.end - 1;
            let cleanup = max_ts.saturating_add(self.allowed_lateness);
            if cleanup <= self.watermark {
                continue; // isWindowLate
            }
            any_window = true;
            let op = |state, kind| StateOp {
                state,
                key: event.key,
                namespace: timer.namespace(),
                kind,
            };
            add_to_contents(self.aggregation, event.value, out, |kind| {
                op(CONTENTS, kind)
            });
            if max_ts <= self.watermark {
                // EventTimeTrigger.onElement: the watermark is past the window: fire at once.
                out.push(op(CONTENTS, read_contents(self.aggregation)));
            } else {
                out.push(op(TIMERS, OpKind::TimerRegister(max_ts)));
                self.timers.insert(max_ts, timer);
            }
            if cleanup != max_ts {
                out.push(op(TIMERS, OpKind::TimerRegister(cleanup)));
                self.timers.insert(cleanup, timer);
            }
        }
        if !any_window {
            self.dropped_late += 1;
        }
    }

    /// Flink's `numLateRecordsDropped`.
    fn dropped_late(&self) -> u64 {
        self.dropped_late
    }
}
