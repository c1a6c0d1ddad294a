//! `--find-max-rate --p99 DURATION`: the highest arrival rate a cell sustains with its events'
//! p99 latency, measured from each event's intended start, within a target: a job's real
//! question ("can this setting carry 50k events/s with p99 under 100 ms?").
//!
//! Each probe is a short open-loop run on a fresh backend with the cell's settings and
//! checkpoints: the workload's warm-up replayed closed, then events at the for the probe's length ([`RateSearch::probe`], 2 s by default; fewer when the workload
//! ends first). The search starts at half the cell's own
//! throughput, doubles while probes pass (halves while they fail), then bisects (geometric
//! mean) between the highest pass and the lowest failure until they are within
//! [`PRECISION`] of each other, or [`MAX_PROBES`] were run. A rate passes when its corrected
//! p99 is within the target: an operator that falls behind sees its backlog in every later
//! event's latency, so a rate it cannot carry fails.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::cell::{Cell, OpInput};
use super::coordinator::Coordinator;
use super::replay::{Pacing, Replay};
use super::workdir::{claim_cell_dir, remove_cell_dir};
use crate::backend::StateLayout;
use crate::checkpoint::CheckpointStore;
use crate::measure::Clock;
use crate::results::{MaxRate, RateProbe};

/// Events in a probe at least (at low rates a probe lasts longer than asked).
const MIN_PROBE_EVENTS: u64 = 20;
/// The search stops when the lowest failing rate is within this factor of the highest passing.
const PRECISION: f64 = 1.05;
/// Probes at most.
const MAX_PROBES: usize = 12;

/// What `--find-max-rate` searches for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateSearch {
    /// The corrected event p99 a rate must stay within (`--p99`).
    pub p99: Duration,
    /// How long each probe runs at its rate.
    pub probe: Duration,
}

impl RateSearch {
    /// A search for `p99` with probes of the default length (2 s: long enough for a backlog to
    /// show in the p99, short enough for a dozen probes per cell).
    pub fn new(p99: Duration) -> RateSearch {
        RateSearch {
            p99,
            probe: Duration::from_secs(2),
        }
    }
}

/// Searches the highest rate `cell` sustains as `search` asks, starting from its throughput
/// `throughput` (events per second), probing in directories under `work`.
pub(super) fn find_max_rate(
    input: &OpInput,
    cell: &Cell,
    work: &Path,
    throughput: f64,
    search: RateSearch,
) -> Result<MaxRate> {
    let mut result = MaxRate {
        p99_target_ms: search.p99.as_secs_f64() * 1e3,
        ..MaxRate::default()
    };
    let mut rate = (throughput / 2.0).max(1.0);
    for n in 0..MAX_PROBES {
        let probe = probe(input, cell, &work.join(format!("probe-{n}")), rate, search)
            .with_context(|| format!("cell {}: probing {rate:.0} events/s", cell.id()))?;
        let passed = probe.passed;
        result.probes.push(probe);
        if passed {
            result.rate_per_s = Some(rate);
        } else {
            result.failed_at_per_s = Some(rate);
        }
        rate = match (result.rate_per_s, result.failed_at_per_s) {
            (Some(pass), Some(fail)) if fail <= pass * PRECISION => break,
            (Some(pass), Some(fail)) => (pass * fail).sqrt(),
            (Some(pass), None) => pass * 2.0,
            (None, Some(fail)) if fail <= 1.0 => break,
            (None, Some(fail)) => (fail / 2.0).max(1.0),
            (None, None) => unreachable!("a probe either passed or failed"),
        };
    }
    Ok(result)
}

/// One probe: `cell` on a fresh backend in `dir`, warm-up closed, then events at `rate`.
fn probe(
    input: &OpInput,
    cell: &Cell,
    dir: &Path,
    rate: f64,
    search: RateSearch,
) -> Result<RateProbe> {
    let spec = input.spec();
    let events = ((rate * search.probe.as_secs_f64()).ceil() as u64)
        .max(MIN_PROBE_EVENTS)
        .min(spec.events - spec.warmup_events);
    claim_cell_dir(dir)?;
    let layout = StateLayout::of(spec);
    let mut backend = cell.backend.open(&layout, &dir.join("db"))?;
    // The probe checkpoints into its scratch directory, whatever storage the cell names.
    let store = CheckpointStore::new(&dir.join("checkpoints"))?;
    let mut coordinator = Coordinator::new(cell.checkpoint, store, None)?;
    let replayed = Replay::new(&cell.id(), backend.as_mut(), &mut coordinator)
        .paced(Pacing::Rate(rate))
        .limited(spec.warmup_events + events)
        .run(input, &mut |_, _| {})?;
    drop(coordinator);
    drop(backend);
    remove_cell_dir(dir)?;
    let measurement = replayed
        .measurement
        .context("the workload has no events after warm-up")?;
    let elapsed = Clock::get().instant(replayed.end) - measurement.start;
    let measured = measurement.events;
    let recorded = measurement.recorder.finish(replayed.end);
    let latencies = recorded
        .events
        .context("an open-loop replay records event latencies")?;
    let p99_ns = latencies.corrected.p99_ns;
    Ok(RateProbe {
        rate_per_s: rate,
        events: measured,
        achieved_per_s: measured as f64 / elapsed.as_secs_f64().max(1e-9),
        p99_ms: p99_ns as f64 / 1e6,
        uncorrected_p99_ms: latencies.uncorrected.p99_ns as f64 / 1e6,
        passed: u128::from(p99_ns) <= search.p99.as_nanos(),
    })
}
