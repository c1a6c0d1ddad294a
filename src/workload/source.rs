//! Where a run's ops come from: generated from a workload file, or replayed from a trace.

use anyhow::Result;

use super::{OpGenerator, StateOp};

/// A stream of events, each a group of ops, with event times.
pub trait OpSource {
    /// Replaces `out` with the ops of the next event; false when the stream is over.
    fn next_event(&mut self, out: &mut Vec<StateOp>) -> Result<bool>;

    /// Events produced so far.
    fn position(&self) -> u64;

    /// Events in the whole stream.
    fn events(&self) -> u64;

    /// Event time of the last event produced, ms.
    fn event_time(&self) -> i64;
}

impl OpSource for OpGenerator {
    fn next_event(&mut self, out: &mut Vec<StateOp>) -> Result<bool> {
        Ok(OpGenerator::next_event(self, out))
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
}
