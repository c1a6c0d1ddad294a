//! Where a run's ops come from: generated from a workload file (`OpGenerator`), or replayed
//! from a trace (`trace::TraceReader`). The runner reads either through this one trait, so it
//! never knows which.

use anyhow::Result;

use super::op::StateOp;

/// A stream of events, each a group of ops, with event times.
pub trait OpSource {
    /// Appends the ops of the next event to `out`; false (nothing appended) when the stream is
    /// over. The replay loop gathers a batch of events into one vector this way.
    fn append_event(&mut self, out: &mut Vec<StateOp>) -> Result<bool>;

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
