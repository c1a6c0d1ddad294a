//! Flink's `IntervalJoinOperator`: each side buffered in `MapState<Long, List<BufferEntry>>` by
//! timestamp (get + put of the bucket), every element scanning the other side's buffer, and a
//! cleanup timer per element that removes its bucket once the watermark passes the interval.

use rand::RngExt;

use crate::workload::generation::{Draws, Event, EventTimeModel, TimerQueue};
use crate::workload::op::{Namespace, OpKind, StateId, StateOp};

/// The left input's buffer (`LEFT_BUFFER`).
const LEFT_BUFFER: StateId = 0;
/// The right input's buffer (`RIGHT_BUFFER`).
const RIGHT_BUFFER: StateId = 1;
/// The cleanup timers (`_timer_state/event_CLEANUP_TIMER`).
const TIMERS: StateId = 2;

/// Which input an element came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Side {
    /// The first input (`a` in `a.intervalJoin(b)`).
    Left,
    /// The second input.
    Right,
}

impl Side {
    /// The buffer this side's elements wait in.
    fn buffer(self) -> StateId {
        match self {
            Side::Left => LEFT_BUFFER,
            Side::Right => RIGHT_BUFFER,
        }
    }

    /// The buffer this side's elements probe.
    fn other_buffer(self) -> StateId {
        match self {
            Side::Left => RIGHT_BUFFER,
            Side::Right => LEFT_BUFFER,
        }
    }

    /// The namespace of this side's cleanup timers.
    fn timer_namespace(self) -> Namespace {
        match self {
            Side::Left => Namespace::CleanupLeft,
            Side::Right => Namespace::CleanupRight,
        }
    }
}

/// What a cleanup timer removes: a bucket of one side's buffer of a key. Timers of one timestamp
/// fire in the order of key, then side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct CleanupTimer {
    /// The key whose bucket it is.
    key: u64,
    /// The side whose buffer holds the bucket.
    side: Side,
}

/// An interval join of two inputs sharing one key space and one event-time stream.
#[derive(Clone, Debug)]
pub(crate) struct IntervalJoin {
    lower: i64,
    upper: i64,
    left_fraction: f64,
    watermark: i64,
    timers: TimerQueue<CleanupTimer>,
    dropped_late: u64,
}

impl IntervalJoin {
    /// A join of each left element with the right elements from `lower_bound_ms` to
    /// `upper_bound_ms` after it; `left_fraction` of the elements come from the left.
    pub(crate) fn new(
        lower_bound_ms: i64,
        upper_bound_ms: i64,
        left_fraction: f64,
    ) -> IntervalJoin {
        IntervalJoin {
            lower: lower_bound_ms,
            upper: upper_bound_ms,
            left_fraction,
            watermark: i64::MIN,
            timers: TimerQueue::new(),
            dropped_late: 0,
        }
    }

    /// How long after its timestamp an element of `side` may still join: the upper bound for the
    /// left, minus the lower bound for the right (Flink's `relativeUpperBound`).
    fn relative_upper_bound(&self, side: Side) -> i64 {
        match side {
            Side::Left => self.upper,
            Side::Right => -self.lower,
        }
    }
}

impl EventTimeModel for IntervalJoin {
    /// Fires the cleanup timers the watermark passed, each removing its bucket.
    fn on_watermark(&mut self, watermark: i64, _draws: &mut Draws, out: &mut Vec<StateOp>) {
        self.watermark = self.watermark.max(watermark);
        while let Some((t, CleanupTimer { key, side })) = self.timers.pop_due(self.watermark) {
            let relative_upper = self.relative_upper_bound(side);
            let bucket = if relative_upper > 0 {
                t - relative_upper
            } else {
                t
            };
            out.push(StateOp {
                state: TIMERS,
                key,
                namespace: side.timer_namespace(),
                kind: OpKind::TimerDelete(t),
            });
            out.push(StateOp {
                state: side.buffer(),
                key,
                namespace: Namespace::Void,
                kind: OpKind::MapRemove(bucket as u64),
            });
        }
    }

    /// Buffers the element, probes the other side's buffer and registers the element's cleanup.
    fn on_element(&mut self, event: &Event, draws: &mut Draws, out: &mut Vec<StateOp>) {
        let side = if draws.rng.random_bool(self.left_fraction) {
            Side::Left
        } else {
            Side::Right
        };
        let ts = event.timestamp;
        if ts < self.watermark {
            self.dropped_late += 1; // isLate
            return;
        }
        let op = |state, namespace, kind| StateOp {
            state,
            key: event.key,
            namespace,
            kind,
        };
        // addToBuffer: the bucket of this timestamp is read, appended to, written back.
        let own = side.buffer();
        out.push(op(own, Namespace::Void, OpKind::MapGet(ts as u64)));
        out.push(op(
            own,
            Namespace::Void,
            OpKind::MapPut(ts as u64, event.value),
        ));
        // Probe every bucket of the other side.
        out.push(op(side.other_buffer(), Namespace::Void, OpKind::MapIterate));
        let relative_upper = self.relative_upper_bound(side);
        let cleanup = if relative_upper > 0 {
            ts + relative_upper
        } else {
            ts
        };
        out.push(op(
            TIMERS,
            side.timer_namespace(),
            OpKind::TimerRegister(cleanup),
        ));
        self.timers.insert(
            cleanup,
            CleanupTimer {
                key: event.key,
                side,
            },
        );
    }

    fn dropped_late(&self) -> u64 {
        self.dropped_late
    }
}
