//! What HEAP timers add to a RocksDB checkpoint's synchronous phase (issue 9). With
//! `timer-service.factory: HEAP`, Flink writes every timer into the operator's raw keyed state
//! during the sync phase (`requiresLegacySynchronousTimerSnapshots`); with ROCKSDB timers they are
//! rows that the native checkpoint's memtable flush carries.
//!
//! The timer-heavy `workloads/sliding-holistic.json` (60 s windows sliding every 10 s, allowed
//! lateness) is applied to two RocksDB backends, one per factory. Then, over [`ROUNDS`]
//! interleaved rounds, the same slice of the held-back rest of the op stream is applied to both
//! (so each checkpoint has a memtable to flush, as in a run) and a full checkpoint is taken of
//! each; only `Backend::snapshot` (the sync phase) is timed, and, apart, the HEAP timers' write
//! alone (`RocksDbBackend::write_heap_timers`). Medians and quartiles are printed.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use statebench::backend::rocksdb::{
    PredefinedProfile, RocksDbBackend, RocksDbConfig, TimerFactory,
};
use statebench::backend::{Backend, StateLayout};
use statebench::checkpoint::{CheckpointMode, CheckpointStore};
use statebench::workload::{fill_value, OpGenerator, StateOp, WorkloadSpec};

/// Interleaved rounds per factory.
const ROUNDS: usize = 11;
/// Events of the workload applied (its first 85% before the rounds).
const EVENTS: u64 = 150_000;

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/sliding-holistic.json");
    let mut spec = WorkloadSpec::load(&path).expect("workload");
    spec.events = EVENTS;
    spec.warmup_events = 0;
    let layout = StateLayout::of(&spec);
    let mut generator = OpGenerator::new(&spec).expect("generator");
    let (mut ops, mut event) = (Vec::new(), Vec::new());
    while generator.next_event(&mut event) {
        ops.extend_from_slice(&event);
    }
    let (first, rest) = ops.split_at(ops.len() * 85 / 100);
    let chunk = rest.len() / ROUNDS + 1;

    let dir = tempfile::tempdir().expect("tempdir");
    let factories = [TimerFactory::Rocksdb, TimerFactory::Heap];
    let mut backends: Vec<RocksDbBackend> = factories
        .iter()
        .map(|&factory| {
            let mut config = RocksDbConfig::new(PredefinedProfile::Default);
            config.timers = factory;
            let mut backend =
                RocksDbBackend::open(&config, &layout, &dir.path().join(format!("{factory:?}")))
                    .expect("open");
            apply(&mut backend, first);
            backend
        })
        .collect();
    let timers = backends[1].pending_timers().expect("timers").len();
    let stores: Vec<CheckpointStore> = factories
        .iter()
        .map(|f| CheckpointStore::new(&dir.path().join(format!("chk-{f:?}"))).expect("store"))
        .collect();

    let mut sync: Vec<Vec<Duration>> = vec![Vec::new(); factories.len()];
    let mut timer_writes = Vec::new();
    let mut raw_bytes = 0;
    for (round, slice) in rest.chunks(chunk).enumerate() {
        for (i, backend) in backends.iter_mut().enumerate() {
            apply(backend, slice);
            let target = stores[i]
                .target(round as u64 + 1, Arc::new(BTreeMap::new()))
                .expect("target");
            let start = Instant::now();
            let phase = backend
                .snapshot(CheckpointMode::Full, &target)
                .expect("sync phase");
            sync[i].push(start.elapsed());
            let handle = stores[i]
                .complete(&target, &phase(&target).expect("async phase"))
                .expect("complete");
            raw_bytes = raw_bytes.max(
                handle
                    .private
                    .get("raw-keyed-state-timers")
                    .copied()
                    .unwrap_or(0),
            );
            stores[i].discard(&handle, &[]).expect("discard");
        }
        // The HEAP timers' part of the sync phase on its own.
        let path = dir.path().join("raw-keyed-state-timers");
        let start = Instant::now();
        backends[1].write_heap_timers(&path).expect("timers");
        timer_writes.push(start.elapsed());
        std::fs::remove_file(&path).expect("remove");
    }
    println!(
        "sliding-holistic, {EVENTS} events, {timers} timers pending at the end; \
         raw keyed state of the HEAP timers: {:.1} MB",
        raw_bytes as f64 / 1e6
    );
    for (factory, times) in factories.iter().zip(&mut sync) {
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "full checkpoint sync phase, {factory:?} timers: median {:.1} ms (quartiles {:.1}-{:.1}, n {})",
            ms(times[times.len() / 2]),
            ms(times[times.len() / 4]),
            ms(times[times.len() * 3 / 4]),
            times.len()
        );
    }
    timer_writes.sort();
    println!(
        "of it, writing the HEAP timers' raw keyed state: median {:.1} ms (quartiles {:.1}-{:.1})",
        timer_writes[timer_writes.len() / 2].as_secs_f64() * 1e3,
        timer_writes[timer_writes.len() / 4].as_secs_f64() * 1e3,
        timer_writes[timer_writes.len() * 3 / 4].as_secs_f64() * 1e3,
    );
    let median = |t: &[Duration]| t[t.len() / 2].as_secs_f64();
    println!(
        "HEAP / ROCKSDB sync phase: {:.2}x",
        median(&sync[1]) / median(&sync[0])
    );
}

/// Applies ops with their values (the workload has no TTL, so no time is set).
fn apply(backend: &mut RocksDbBackend, ops: &[StateOp]) {
    let mut value = Vec::new();
    for op in ops {
        match op.kind.value() {
            Some(v) => fill_value(v, &mut value),
            None => value.clear(),
        }
        backend.apply(op, &value).expect("op");
    }
}
