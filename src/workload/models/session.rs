//! Event-time session windows as Flink's `WindowOperator` runs a merging window assigner:
//! the `MergingWindowSet` (window → state window) read from and persisted to list state
//! "merging-window-set" on every element, sessions merged when an element bridges them
//! (`mergeNamespaces` moves the merged sessions' contents into one state window and their trigger
//! timers are deleted), and a session fired and cleared when the watermark passes its end.

use std::collections::HashMap;

use crate::workload::generation::stream::{Event, EventStream, EventTimeModel};
use crate::workload::generation::timers::TimerQueue;
use crate::workload::generator::Draws;
use crate::workload::op::{Namespace, OpKind, StateId, StateOp};
use crate::workload::spec::Aggregation;

const CONTENTS: StateId = 0;
const TIMERS: StateId = 1;
const MERGING_SET: StateId = 2;
/// A serialized `Tuple2<TimeWindow, TimeWindow>` mapping entry.
const MAPPING_ENTRY_BYTES: u32 = 32;

/// One session of a key: its window and the window its state lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Session {
    start: i64,
    end: i64,
    state_start: i64,
    state_end: i64,
    /// Bytes of contents held (holistic) or the accumulator size (incremental).
    bytes: u32,
}

impl Session {
    fn max_timestamp(&self) -> i64 {
        self.end - 1
    }

    /// `TimeWindow.intersects`: touching windows merge too.
    fn intersects(&self, start: i64, end: i64) -> bool {
        self.start <= end && self.end >= start
    }
}

/// Session windows with a gap.
#[derive(Clone, Debug)]
pub(crate) struct SessionWindows {
    stream: EventStream,
    gap: i64,
    aggregation: Aggregation,
    allowed_lateness: i64,
    watermark: i64,
    sessions: HashMap<u64, Vec<Session>>,
    timers: TimerQueue<(u64, i64, i64)>,
    dropped_late: u64,
    time: i64,
}

impl SessionWindows {
    pub(crate) fn new(
        gap: u64,
        aggregation: Aggregation,
        allowed_lateness: u64,
        stream: EventStream,
    ) -> SessionWindows {
        SessionWindows {
            stream,
            gap: gap as i64,
            aggregation,
            allowed_lateness: allowed_lateness as i64,
            watermark: i64::MIN,
            sessions: HashMap::new(),
            timers: TimerQueue::new(),
            dropped_late: 0,
            time: 0,
        }
    }

    fn cleanup_time(&self, s: &Session) -> i64 {
        s.max_timestamp().saturating_add(self.allowed_lateness)
    }

    /// `MergingWindowSet.persist`: the mapping written back when it changed.
    fn persist(&self, key: u64, draws: &mut Draws, out: &mut Vec<StateOp>) {
        let n = self.sessions.get(&key).map_or(0, Vec::len) as u32;
        let kind = if n == 0 {
            OpKind::ListClear
        } else {
            OpKind::ListUpdate(draws.value_of_len(n * MAPPING_ENTRY_BYTES))
        };
        out.push(StateOp {
            state: MERGING_SET,
            key,
            namespace: Namespace::Void,
            kind,
        });
    }

    fn element(
        &mut self,
        key: u64,
        ts: i64,
        value_len: u32,
        draws: &mut Draws,
        out: &mut Vec<StateOp>,
    ) {
        let window = |start, end| Namespace::Window { start, end };
        let op = |state, namespace, kind| StateOp {
            state,
            key,
            namespace,
            kind,
        };
        out.push(op(MERGING_SET, Namespace::Void, OpKind::ListGet));
        let (start, end) = (ts, ts + self.gap);
        let sessions = self.sessions.entry(key).or_default();
        let merged: Vec<Session> = sessions
            .iter()
            .copied()
            .filter(|s| s.intersects(start, end))
            .collect();
        sessions.retain(|s| !s.intersects(start, end));
        let mut changed = true;
        let actual = match merged.split_first() {
            None => Session {
                start,
                end,
                state_start: start,
                state_end: end,
                bytes: 0,
            },
            Some((first, rest)) => {
                let cover_start = merged
                    .iter()
                    .map(|s| s.start)
                    .min()
                    .unwrap_or(start)
                    .min(start);
                let cover_end = merged.iter().map(|s| s.end).max().unwrap_or(end).max(end);
                let result = Session {
                    start: cover_start,
                    end: cover_end,
                    state_start: first.state_start,
                    state_end: first.state_end,
                    bytes: merged.iter().map(|s| s.bytes).sum(),
                };
                if rest.is_empty() && (first.start, first.end) == (cover_start, cover_end) {
                    changed = false;
                } else {
                    // Trigger.onMerge registers the merged window's timer; each merged window's
                    // trigger is cleared and its cleanup timer deleted.
                    if result.max_timestamp() > self.watermark {
                        out.push(op(
                            TIMERS,
                            window(result.start, result.end),
                            OpKind::TimerRegister(result.max_timestamp()),
                        ));
                    }
                    for m in &merged {
                        let ns = window(m.start, m.end);
                        out.push(op(TIMERS, ns, OpKind::TimerDelete(m.max_timestamp())));
                        out.push(op(TIMERS, ns, OpKind::TimerDelete(self.cleanup_time(m))));
                        self.timers.remove(m.max_timestamp(), (key, m.start, m.end));
                        self.timers
                            .remove(self.cleanup_time(m), (key, m.start, m.end));
                    }
                    // mergeNamespaces: the other sessions' contents move into the first's.
                    let target = window(first.state_start, first.state_end);
                    if !rest.is_empty() {
                        for s in rest {
                            let ns = window(s.state_start, s.state_end);
                            let (get, clear) = self.aggregation.read_and_clear();
                            out.push(op(CONTENTS, ns, get));
                            out.push(op(CONTENTS, ns, clear));
                        }
                        let moved: u32 = rest.iter().map(|s| s.bytes).sum();
                        match self.aggregation {
                            Aggregation::Incremental => {
                                out.push(op(CONTENTS, target, OpKind::ValueGet));
                                out.push(op(
                                    CONTENTS,
                                    target,
                                    OpKind::ValuePut(draws.value_of_len(first.bytes.max(moved))),
                                ));
                            }
                            Aggregation::Holistic => {
                                out.push(op(
                                    CONTENTS,
                                    target,
                                    OpKind::ListAdd(draws.value_of_len(moved)),
                                ));
                            }
                        }
                    }
                }
                result
            }
        };
        if self.cleanup_time(&actual) <= self.watermark {
            // isWindowLate: the (merged) session is retired without the element.
            // A late element only ever opens a session of its own (a merge result ends no
            // earlier than the live sessions it merged), so the mapping is as it was.
            self.dropped_late += 1;
            return;
        }
        let mut actual = actual;
        let state_ns = window(actual.state_start, actual.state_end);
        let value = draws.value_of_len(value_len);
        match self.aggregation {
            Aggregation::Incremental => {
                out.push(op(CONTENTS, state_ns, OpKind::ValueGet));
                out.push(op(CONTENTS, state_ns, OpKind::ValuePut(value)));
                actual.bytes = actual.bytes.max(value_len);
            }
            Aggregation::Holistic => {
                out.push(op(CONTENTS, state_ns, OpKind::ListAdd(value)));
                actual.bytes += value_len;
            }
        }
        let ns = window(actual.start, actual.end);
        if actual.max_timestamp() <= self.watermark {
            out.push(op(CONTENTS, state_ns, self.aggregation.read_and_clear().0));
        } else {
            out.push(op(
                TIMERS,
                ns,
                OpKind::TimerRegister(actual.max_timestamp()),
            ));
            self.timers
                .insert(actual.max_timestamp(), (key, actual.start, actual.end));
        }
        let cleanup = self.cleanup_time(&actual);
        if cleanup != actual.max_timestamp() {
            out.push(op(TIMERS, ns, OpKind::TimerRegister(cleanup)));
            self.timers.insert(cleanup, (key, actual.start, actual.end));
        }
        self.sessions.entry(key).or_default().push(actual);
        if changed {
            self.persist(key, draws, out);
        }
    }

    fn advance_watermark(&mut self, watermark: i64, draws: &mut Draws, out: &mut Vec<StateOp>) {
        self.watermark = self.watermark.max(watermark);
        while let Some((t, (key, start, end))) = self.timers.pop_due(self.watermark) {
            let op = |state, namespace, kind| StateOp {
                state,
                key,
                namespace,
                kind,
            };
            let ns = Namespace::Window { start, end };
            out.push(op(TIMERS, ns, OpKind::TimerDelete(t)));
            out.push(op(MERGING_SET, Namespace::Void, OpKind::ListGet));
            let Some(session) = self
                .sessions
                .get(&key)
                .and_then(|v| v.iter().copied().find(|s| (s.start, s.end) == (start, end)))
            else {
                continue;
            };
            let state_ns = Namespace::Window {
                start: session.state_start,
                end: session.state_end,
            };
            let (get, clear) = self.aggregation.read_and_clear();
            if t == session.max_timestamp() {
                out.push(op(CONTENTS, state_ns, get));
            }
            if t == self.cleanup_time(&session) {
                out.push(op(CONTENTS, state_ns, clear));
                out.push(op(TIMERS, ns, OpKind::TimerDelete(session.max_timestamp())));
                if let Some(v) = self.sessions.get_mut(&key) {
                    v.retain(|s| (s.start, s.end) != (start, end));
                    if v.is_empty() {
                        self.sessions.remove(&key);
                    }
                }
                self.persist(key, draws, out);
            }
        }
    }
}

impl EventTimeModel for SessionWindows {
    fn stream(&mut self) -> &mut EventStream {
        &mut self.stream
    }

    fn on_watermark(&mut self, watermark: i64, draws: &mut Draws, out: &mut Vec<StateOp>) {
        self.advance_watermark(watermark, draws, out);
    }

    fn on_element(&mut self, event: &Event, draws: &mut Draws, out: &mut Vec<StateOp>) {
        self.element(event.key, event.timestamp, event.value.len, draws, out);
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
