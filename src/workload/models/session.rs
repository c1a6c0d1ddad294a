//! Event-time session windows as Flink's `WindowOperator` runs a merging window assigner:
//! the `MergingWindowSet` (window → state window) read from and persisted to list state
//! "merging-window-set" on every element, sessions merged when an element bridges them
//! (`mergeNamespaces` moves the merged sessions' contents into one state window and their trigger
//! timers are deleted), and a session fired and cleared when the watermark passes its end.

use std::collections::HashMap;

use super::window_state::{
    add_to_contents, clear_contents, read_contents, WindowTimer, CONTENTS, TIMERS,
};
use crate::workload::generation::{Draws, Event, EventTimeModel, TimerQueue};
use crate::workload::op::{Namespace, OpKind, StateId, StateOp};
use crate::workload::spec::Aggregation;

/// The merging window set (`merging-window-set`), after the contents and the timers.
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
    /// The last timestamp in the session's window.
    fn max_timestamp(&self) -> i64 {
        self.end - 1
    }

    /// The timer of `key`'s session window.
    fn timer(&self, key: u64) -> WindowTimer {
        WindowTimer {
            key,
            start: self.start,
            end: self.end,
        }
    }

    /// `TimeWindow.intersects`: touching windows merge too.
    fn intersects(&self, start: i64, end: i64) -> bool {
        self.start <= end && self.end >= start
    }
}

/// Session windows with a gap.
#[derive(Clone, Debug)]
pub(crate) struct SessionWindows {
    gap: i64,
    aggregation: Aggregation,
    allowed_lateness: i64,
    watermark: i64,
    sessions: HashMap<u64, Vec<Session>>,
    timers: TimerQueue<WindowTimer>,
    dropped_late: u64,
}

impl SessionWindows {
    /// Session windows closed after `gap_ms` without elements, before any element.
    pub(crate) fn new(
        gap_ms: u64,
        aggregation: Aggregation,
        allowed_lateness_ms: u64,
    ) -> SessionWindows {
        SessionWindows {
            gap: gap_ms as i64,
            aggregation,
            allowed_lateness: allowed_lateness_ms as i64,
            watermark: i64::MIN,
            sessions: HashMap::new(),
            timers: TimerQueue::new(),
            dropped_late: 0,
        }
    }

    /// When a session's state is purged: its end plus the allowed lateness.
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
}

impl EventTimeModel for SessionWindows {
    /// Fires and purges the sessions whose timers the watermark passed, each time reading the
    /// merging window set and writing it back when a session is gone.
    fn on_watermark(&mut self, watermark: i64, draws: &mut Draws, out: &mut Vec<StateOp>) {
        self.watermark = self.watermark.max(watermark);
        while let Some((t, timer)) = self.timers.pop_due(self.watermark) {
            let key = timer.key;
            let op = |state, namespace, kind| StateOp {
                state,
                key,
                namespace,
                kind,
            };
            let ns = timer.namespace();
            out.push(op(TIMERS, ns, OpKind::TimerDelete(t)));
            out.push(op(MERGING_SET, Namespace::Void, OpKind::ListGet));
            let Some(session) = self
                .sessions
                .get(&key)
                .and_then(|v| v.iter().copied().find(|s| s.timer(key) == timer))
            else {
                continue;
            };
            let state_ns = Namespace::Window {
                start: session.state_start,
                end: session.state_end,
            };
            if t == session.max_timestamp() {
                out.push(op(CONTENTS, state_ns, read_contents(self.aggregation)));
            }
            if t == self.cleanup_time(&session) {
                out.push(op(CONTENTS, state_ns, clear_contents(self.aggregation)));
                out.push(op(TIMERS, ns, OpKind::TimerDelete(session.max_timestamp())));
                if let Some(v) = self.sessions.get_mut(&key) {
                    v.retain(|s| s.timer(key) != timer);
                    if v.is_empty() {
                        self.sessions.remove(&key);
                    }
                }
                self.persist(key, draws, out);
            }
        }
    }

    /// Reads the merging window set, merges the sessions the element bridges, adds the element
    /// to its session's contents and writes the set back if it changed.
    fn on_element(&mut self, event: &Event, draws: &mut Draws, out: &mut Vec<StateOp>) {
        let (key, ts, value_len) = (event.key, event.timestamp, event.value.len);
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
                        self.timers.remove(m.max_timestamp(), m.timer(key));
                        self.timers.remove(self.cleanup_time(m), m.timer(key));
                    }
                    // mergeNamespaces: the other sessions' contents move into the first's.
                    let target = window(first.state_start, first.state_end);
                    if !rest.is_empty() {
                        for s in rest {
                            let ns = window(s.state_start, s.state_end);
                            out.push(op(CONTENTS, ns, read_contents(self.aggregation)));
                            out.push(op(CONTENTS, ns, clear_contents(self.aggregation)));
                        }
                        let moved: u32 = rest.iter().map(|s| s.bytes).sum();
                        // The accumulator is written whole; a buffer gets the moved elements.
                        let written = match self.aggregation {
                            Aggregation::Incremental => first.bytes.max(moved),
                            Aggregation::Holistic => moved,
                        };
                        let value = draws.value_of_len(written);
                        add_to_contents(self.aggregation, value, out, |kind| {
                            op(CONTENTS, target, kind)
                        });
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
        add_to_contents(self.aggregation, value, out, |kind| {
            op(CONTENTS, state_ns, kind)
        });
        actual.bytes = match self.aggregation {
            Aggregation::Incremental => actual.bytes.max(value_len),
            Aggregation::Holistic => actual.bytes + value_len,
        };
        let ns = window(actual.start, actual.end);
        if actual.max_timestamp() <= self.watermark {
            out.push(op(CONTENTS, state_ns, read_contents(self.aggregation)));
        } else {
            out.push(op(
                TIMERS,
                ns,
                OpKind::TimerRegister(actual.max_timestamp()),
            ));
            self.timers
                .insert(actual.max_timestamp(), actual.timer(key));
        }
        let cleanup = self.cleanup_time(&actual);
        if cleanup != actual.max_timestamp() {
            out.push(op(TIMERS, ns, OpKind::TimerRegister(cleanup)));
            self.timers.insert(cleanup, actual.timer(key));
        }
        self.sessions.entry(key).or_default().push(actual);
        if changed {
            self.persist(key, draws, out);
        }
    }

    fn dropped_late(&self) -> u64 {
        self.dropped_late
    }
}
