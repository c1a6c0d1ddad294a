//! A backend that keeps no state and does what it is told per op: nothing, a spin of a fixed
//! time, one long sleep at a given op, or a failure at a given op. A replay into it measures the
//! replay loop alone (the overhead bench's harness cost) and puts op costs and failures under a
//! test's control (the latency stride, open-loop stalls, error reports); it takes no checkpoints.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::api::{AsyncPhase, Backend, Outcome, StateView, StatsSnapshot};
use super::digest::Digest;
use crate::checkpoint::{CheckpointMode, CheckpointTarget};
use crate::workload::StateOp;

/// A backend without state whose ops cost what it is told (see the module).
#[derive(Debug, Default)]
pub struct ScriptedBackend {
    /// Ops applied so far.
    pub applied: u64,
    /// Each op spins this long (zero: returns at once).
    pub per_op: Duration,
    /// Op number `stall_at` (from 1) sleeps `stall` (0: none does).
    pub stall_at: u64,
    /// How long that op sleeps.
    pub stall: Duration,
    /// How long it really took, once it happened.
    pub stalled: Option<Duration>,
    /// Op number `fail_at` (from 1) fails (0: none does).
    pub fail_at: u64,
    /// Says it reads no time (as the heap backend without TTL does), so that
    /// [`Backend::apply_events`] takes its one-pass path.
    pub timeless: bool,
    /// The time last set.
    pub time: i64,
}

impl ScriptedBackend {
    /// Every op does nothing: what is left of a replay is the harness.
    pub fn noop() -> ScriptedBackend {
        ScriptedBackend::default()
    }

    /// Every op spins for `per_op`.
    pub fn busy(per_op: Duration) -> ScriptedBackend {
        ScriptedBackend {
            per_op,
            ..ScriptedBackend::default()
        }
    }

    /// Op number `fail_at` (from 1) fails; the others do nothing.
    pub fn failing(fail_at: u64) -> ScriptedBackend {
        ScriptedBackend {
            fail_at,
            ..ScriptedBackend::default()
        }
    }

    /// Op number `stall_at` (from 1) sleeps for `stall`; the others do nothing.
    pub fn stalling(stall_at: u64, stall: Duration) -> ScriptedBackend {
        ScriptedBackend {
            stall_at,
            stall,
            ..ScriptedBackend::default()
        }
    }
}

impl ScriptedBackend {
    /// What the op just applied costs beside nothing: its spin, or the stall.
    #[cold]
    #[inline(never)]
    fn take_time(&mut self) {
        if !self.per_op.is_zero() {
            let start = Instant::now();
            while start.elapsed() < self.per_op {
                std::hint::spin_loop();
            }
        }
        if self.applied == self.stall_at {
            let start = Instant::now();
            std::thread::sleep(self.stall);
            self.stalled = Some(start.elapsed());
        }
    }
}

impl Backend for ScriptedBackend {
    #[inline]
    fn apply(&mut self, op: &StateOp, value: &[u8]) -> Result<Outcome> {
        std::hint::black_box((op, value));
        self.applied += 1;
        if !self.per_op.is_zero() || self.applied == self.stall_at {
            self.take_time();
        }
        if self.applied == self.fail_at {
            bail!("scripted failure of op {}", self.applied);
        }
        Ok(Outcome::default())
    }

    fn set_time(&mut self, now_ms: i64) {
        self.time = now_ms;
    }

    fn reads_time(&self) -> bool {
        !self.timeless
    }

    fn snapshot(&mut self, _: CheckpointMode, _: &CheckpointTarget) -> Result<AsyncPhase> {
        bail!("the scripted backend takes no checkpoints")
    }

    fn savepoint(&mut self) -> Result<AsyncPhase> {
        bail!("the scripted backend takes no savepoints")
    }

    fn view(&self) -> Result<Box<dyn StateView>> {
        bail!("the scripted backend has no state to view")
    }

    fn digest(&self) -> Result<Digest> {
        Ok(Digest::default())
    }

    fn options_file(&self) -> Option<PathBuf> {
        None
    }

    fn stats(&self) -> Result<Option<StatsSnapshot>> {
        Ok(None)
    }
}
