//! Flink's `IntervalJoinOperator`: each side buffered in `MapState<Long, List<BufferEntry>>` by
//! timestamp (get + put of the bucket), every element scanning the other side's buffer, and a
//! cleanup timer per element that removes its bucket once the watermark passes the interval.

use rand::RngExt;

use crate::workload::generation::stream::{Event, EventStream, EventTimeModel};
use crate::workload::generation::timers::TimerQueue;
use crate::workload::generator::Draws;
use crate::workload::op::{Namespace, OpKind, StateId, StateOp};

const LEFT_BUFFER: StateId = 0;
const RIGHT_BUFFER: StateId = 1;
const TIMERS: StateId = 2;

/// Which input an element came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Left,
    Right,
}

/// An interval join of two inputs sharing one key space and one event-time stream.
#[derive(Clone, Debug)]
pub(crate) struct IntervalJoin {
    stream: EventStream,
    lower: i64,
    upper: i64,
    left_fraction: f64,
    watermark: i64,
    timers: TimerQueue<(u64, Side)>,
    dropped_late: u64,
    time: i64,
}

impl IntervalJoin {
    pub(crate) fn new(
        lower: i64,
        upper: i64,
        left_fraction: f64,
        stream: EventStream,
    ) -> IntervalJoin {
        IntervalJoin {
            stream,
            lower,
            upper,
            left_fraction,
            watermark: i64::MIN,
            timers: TimerQueue::new(),
            dropped_late: 0,
            time: 0,
        }
    }

    fn advance_watermark(&mut self, watermark: i64, out: &mut Vec<StateOp>) {
        self.watermark = self.watermark.max(watermark);
        while let Some((t, (key, side))) = self.timers.pop_due(self.watermark) {
            let (namespace, buffer, bucket) = match side {
                Side::Left => (
                    Namespace::CleanupLeft,
                    LEFT_BUFFER,
                    if self.upper <= 0 { t } else { t - self.upper },
                ),
                Side::Right => (
                    Namespace::CleanupRight,
                    RIGHT_BUFFER,
                    if self.lower <= 0 { t + self.lower } else { t },
                ),
            };
            out.push(StateOp {
                state: TIMERS,
                key,
                namespace,
                kind: OpKind::TimerDelete(t),
            });
            out.push(StateOp {
                state: buffer,
                key,
                namespace: Namespace::Void,
                kind: OpKind::MapRemove(bucket as u64),
            });
        }
    }
}

impl EventTimeModel for IntervalJoin {
    fn stream(&mut self) -> &mut EventStream {
        &mut self.stream
    }

    fn on_watermark(&mut self, watermark: i64, _draws: &mut Draws, out: &mut Vec<StateOp>) {
        self.advance_watermark(watermark, out);
    }

    fn on_element(&mut self, event: &Event, draws: &mut Draws, out: &mut Vec<StateOp>) {
        let side = if draws.rng.random_bool(self.left_fraction) {
            Side::Left
        } else {
            Side::Right
        };
        let ts = event.timestamp;
        if ts < self.watermark {
            self.dropped_late += 1; // isLate
        } else {
            let (own, other, relative_upper, namespace) = match side {
                Side::Left => (
                    LEFT_BUFFER,
                    RIGHT_BUFFER,
                    self.upper,
                    Namespace::CleanupLeft,
                ),
                Side::Right => (
                    RIGHT_BUFFER,
                    LEFT_BUFFER,
                    -self.lower,
                    Namespace::CleanupRight,
                ),
            };
            let op = |state, namespace, kind| StateOp {
                state,
                key: event.key,
                namespace,
                kind,
            };
            // addToBuffer: the bucket of this timestamp is read, appended to, written back.
            out.push(op(own, Namespace::Void, OpKind::MapGet(ts as u64)));
            out.push(op(
                own,
                Namespace::Void,
                OpKind::MapPut(ts as u64, event.value),
            ));
            // Probe every bucket of the other side.
            out.push(op(other, Namespace::Void, OpKind::MapIterate));
            let cleanup = if relative_upper > 0 {
                ts + relative_upper
            } else {
                ts
            };
            out.push(op(TIMERS, namespace, OpKind::TimerRegister(cleanup)));
            self.timers.insert(cleanup, (event.key, side));
        }
    }

    fn set_time(&mut self, timestamp: i64) {
        self.time = timestamp;
    }

    fn time(&self) -> i64 {
        self.time
    }

    fn dropped(&self) -> u64 {
        self.dropped_late
    }
}
