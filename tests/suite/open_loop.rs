//! Open loop (`--rate`) and `--find-max-rate`: events paced at a fixed rate, latency from each
//! event's intended start (corrected) beside its actual start (uncorrected), and the search for
//! the highest rate within a p99. The assertions are consequences of the schedule, not timings:
//! an event cannot start before its time, and one that waits behind a stall of d has a
//! corrected latency of at least d minus the time between its intended start and the stall's.

use std::time::Duration;

use statebench::backend::rocksdb::{PredefinedProfile, RocksDbConfig};
use statebench::backend::{BackendConfig, ScriptedBackend};
use statebench::checkpoint::{CheckpointMode, CheckpointSetting};
use statebench::results::OpLatency;
use statebench::run::{replay_only, run_cell, Cell, OpInput, Pacing, RateSearch};

use crate::common;

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Every percentile of the corrected latency is at least the uncorrected one's: an event's
/// intended start is never after its actual start.
fn corrected_at_least_uncorrected(corrected: &OpLatency, uncorrected: &OpLatency) {
    assert_eq!(corrected.count, uncorrected.count);
    for (c, u) in [
        (corrected.p50_ns, uncorrected.p50_ns),
        (corrected.p99_ns, uncorrected.p99_ns),
        (corrected.max_ns, uncorrected.max_ns),
    ] {
        // Each is counted in a bucket 1/1024 wide before HdrHistogram's own.
        assert!(
            c as f64 >= u as f64 * 0.998,
            "corrected {c} < uncorrected {u}"
        );
    }
}

/// A stall inside an op delays the events scheduled behind it: the p99 from the intended start
/// holds them, the p99 from the actual start does not.
#[test]
fn a_stall_shows_in_the_corrected_percentiles() {
    let rate = 4_000.0;
    let spec = common::mixed_spec(2_200, 50);
    let measured = spec.events - spec.warmup_events;
    let input = OpInput::Generated(spec.clone());
    // Stalls a quarter into the measured part (the mixed workload has 3 ops per event).
    let mut backend = ScriptedBackend::stalling(
        (spec.warmup_events + measured / 4) * 3,
        Duration::from_millis(30),
    );
    let dir = tempfile::tempdir().unwrap();
    let replayed =
        replay_only(&input, &mut backend, Pacing::Rate(rate), false, dir.path()).unwrap();
    let stall = backend.stalled.expect("the stall happened").as_secs_f64() * 1e3;
    let events = replayed.recorded.events.expect("open loop records events");
    corrected_at_least_uncorrected(&events.corrected, &events.uncorrected);
    assert_eq!(events.corrected.count, measured);
    let period = 1e3 / rate;
    // The stalled event and the 20 after it (1 % of 2000) were meant to start at most 20
    // periods before the stall ended.
    let bound = 0.99 * stall - 21.0 * period;
    assert!(
        ms(events.corrected.p99_ns) >= bound,
        "corrected p99 {} ms, stall {stall} ms",
        ms(events.corrected.p99_ns)
    );
    assert!(ms(events.corrected.max_ns) >= 0.99 * stall - period);
}

/// The arrival rate holds on average: never faster than asked (an event does not start before
/// its time), and with a backend that keeps up, not much slower.
#[test]
fn rate_pacing_holds_the_mean_rate() {
    let rate = 5_000.0;
    let spec = common::mixed_spec(2_750, 50);
    let input = OpInput::Generated(spec.clone());
    let mut backend = ScriptedBackend::stalling(u64::MAX, Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let replayed =
        replay_only(&input, &mut backend, Pacing::Rate(rate), false, dir.path()).unwrap();
    let achieved = replayed.events as f64 / replayed.elapsed.as_secs_f64();
    let events = replayed.events as f64;
    // The last of n events is meant to start (n − 1) / rate after the first.
    assert!(
        achieved <= rate * events / (events - 1.0) * 1.001,
        "{achieved}"
    );
    assert!(achieved >= rate * 0.9, "{achieved} events/s at {rate}");
    let latencies = replayed.recorded.events.unwrap();
    corrected_at_least_uncorrected(&latencies.corrected, &latencies.uncorrected);
}

/// A RocksDB cell with full checkpoints at a fixed rate: each checkpoint's synchronous phase
/// (a flush and a native checkpoint on the operator thread) delays the events scheduled during
/// it, and the corrected latency shows the longest one; results carry both histograms.
#[test]
fn checkpoint_sync_phases_show_in_the_corrected_latency() {
    let rate = 10_000.0;
    let spec = common::mixed_spec(8_000, 200);
    let dir = tempfile::tempdir().unwrap();
    let backend = BackendConfig::RocksDb(RocksDbConfig::new(PredefinedProfile::Default));
    let mut cell = Cell::new(
        backend,
        CheckpointSetting::new(CheckpointMode::Full, Duration::from_millis(50)),
    );
    cell.options.savepoint = false;
    cell.options.pacing = Pacing::Rate(rate);
    let input = OpInput::Generated(spec);
    let result = run_cell(
        &input,
        &cell,
        &common::cell_paths(dir.path()),
        &mut |_, _| {},
    )
    .unwrap();
    let open = result
        .open_loop
        .clone()
        .expect("an open-loop cell records its event latencies");
    assert_eq!(open.rate_per_s, rate);
    corrected_at_least_uncorrected(&open.corrected, &open.uncorrected);
    let longest_sync = result
        .checkpoints
        .iter()
        .filter(|c| c.triggered_s >= 0.0 && !c.is_final)
        .map(|c| c.sync_ms)
        .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))))
        .expect("checkpoints during the measured part");
    assert!(
        ms(open.corrected.max_ns) >= 0.99 * longest_sync - 1e3 / rate,
        "corrected max {} ms, longest sync phase {longest_sync} ms",
        ms(open.corrected.max_ns)
    );
    let json = serde_json::to_string(&result).unwrap();
    assert!(json.contains("\"open_loop\"") && json.contains("\"uncorrected\""));
}

/// The search ends within its probe limit: the rates that passed lie below the reported
/// maximum, those that failed above the reported failure, and when both exist they are
/// within 5 % of each other.
#[test]
fn find_max_rate_converges_on_a_tiny_workload() {
    let spec = common::mixed_spec(20_000, 100);
    let dir = tempfile::tempdir().unwrap();
    let mut cell = Cell::new(
        BackendConfig::HashMap,
        CheckpointSetting::new(CheckpointMode::None, Duration::from_secs(1)),
    );
    cell.options.savepoint = false;
    let target = Duration::from_millis(20);
    cell.options.find_max_rate = Some(RateSearch {
        p99: target,
        probe: Duration::from_millis(100),
    });
    let input = OpInput::Generated(spec);
    let result = run_cell(
        &input,
        &cell,
        &common::cell_paths(dir.path()),
        &mut |_, _| {},
    )
    .unwrap();
    let search = result.max_rate.expect("the search ran");
    assert_eq!(search.p99_target_ms, 20.0);
    assert!(!search.probes.is_empty() && search.probes.len() <= 12);
    for probe in &search.probes {
        assert_eq!(probe.passed, probe.p99_ms <= 20.0, "{probe:?}");
        assert!(probe.events > 0 && probe.p99_ms >= probe.uncorrected_p99_ms * 0.998);
        match probe.passed {
            true => assert!(probe.rate_per_s <= search.rate_per_s.unwrap()),
            false => assert!(probe.rate_per_s >= search.failed_at_per_s.unwrap()),
        }
    }
    if search.probes.len() < 12 {
        let (pass, fail) = (search.rate_per_s.unwrap(), search.failed_at_per_s.unwrap());
        assert!(
            pass < fail && fail <= pass * 1.05 + 1e-9,
            "{pass} .. {fail}"
        );
    }
    // Nothing of the probes is left behind.
    assert!(!dir.path().join("work").join(&result.id).exists());
}
