//! Where a run's ops come from: generated from a workload file (`OpGenerator`), or replayed
//! from a trace (`trace::TraceReader`). The runner reads either through this one trait, so it
//! never knows which.

use anyhow::Result;

use super::op::StateOp;

/// Events gathered into one buffer, as the replay loop generates them a batch ahead: their ops
/// in order, where each event's ops end, and each event's time.
#[derive(Clone, Debug, Default)]
pub struct EventBatch {
    /// The ops of every event, in order.
    pub ops: Vec<StateOp>,
    /// Event e's ops are `ops[ends[e - 1]..ends[e]]` (from 0 for the first).
    pub ends: Vec<usize>,
    /// Each event's time, ms.
    pub times: Vec<i64>,
}

impl EventBatch {
    /// Empties it, keeping its memory.
    pub fn clear(&mut self) {
        self.ops.clear();
        self.ends.clear();
        self.times.clear();
    }

    /// Events held.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether it holds no event.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Closes the event whose ops were just appended: its end and its time.
    #[inline]
    pub fn end_event(&mut self, time: i64) {
        self.ends.push(self.ops.len());
        self.times.push(time);
    }
}

/// A stream of events, each a group of ops, with event times.
pub trait OpSource {
    /// Appends the ops of the next event to `out`; false (nothing appended) when the stream is
    /// over. The replay loop gathers a batch of events into one vector this way.
    fn append_event(&mut self, out: &mut Vec<StateOp>) -> Result<bool>;

    /// Appends up to `max_events` events to `batch`, stopping early once it holds `max_ops` ops
    /// or more; returns how many it appended (0: the stream is over). This default, compiled
    /// for each source, calls [`OpSource::append_event`] statically per event; the generator
    /// generates the whole stretch in one call to its model.
    fn append_events(
        &mut self,
        batch: &mut EventBatch,
        max_events: usize,
        max_ops: usize,
    ) -> Result<usize> {
        let mut appended = 0;
        while appended < max_events && batch.ops.len() < max_ops {
            if !self.append_event(&mut batch.ops)? {
                break;
            }
            batch.end_event(self.event_time());
            appended += 1;
        }
        Ok(appended)
    }

    /// Replaces `out` with the ops of the next event; false when the stream is over.
    fn next_event(&mut self, out: &mut Vec<StateOp>) -> Result<bool> {
        out.clear();
        self.append_event(out)
    }

    /// Events produced so far.
    fn position(&self) -> u64;

    /// Events in the whole stream.
    fn events(&self) -> u64;

    /// Event time of the last event produced, ms.
    fn event_time(&self) -> i64;

    /// Moves the end of the stream on to `events`, continuing the same stream, when the source
    /// can (a generated stream whose last event is not produced yet) and `events` is past the
    /// current end; false otherwise (a trace has the events it recorded, no more).
    fn extend_to(&mut self, events: u64) -> bool {
        let _ = events;
        false
    }
}
