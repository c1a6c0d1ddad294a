//! The timer service factory: ROCKSDB keeps timers in their own column family, HEAP in heap
//! queues beside RocksDB; both answer alike and both survive checkpoints.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use statebench::backend::rocksdb::{
    PredefinedProfile, RocksDbBackend, RocksDbConfig, TimerFactory,
};
use statebench::backend::{AsyncPhase, Backend, BackendConfig, StateLayout};
use std::time::Duration;

use statebench::checkpoint::{
    CheckpointMode, CheckpointSetting, CheckpointStore, CheckpointTarget, StorageSetting,
};
use statebench::config::{cell_keys, ChosenSources, FlinkConfig, KeySource};
use statebench::workload::{Namespace, OpKind, StateId, StateOp};

fn config(timers: TimerFactory) -> RocksDbConfig {
    let mut c = RocksDbConfig::new(PredefinedProfile::Default);
    c.timers = timers;
    c
}

#[test]
fn heap_timers_stay_out_of_rocksdb_and_agree_with_rocksdb_timers() {
    let spec = common::window_spec(6_000, 200);
    let layout = StateLayout::of(&spec);
    let ops = common::all_ops(&spec);
    // Stop before the final watermark so timers are still pending.
    let ops = &ops[..ops.len() * 2 / 3];
    let registers = ops
        .iter()
        .filter(|o| matches!(o.kind, OpKind::TimerRegister(_)))
        .count();
    assert!(registers > 100);
    let dir = tempfile::tempdir().unwrap();
    let mut in_cf = RocksDbBackend::open(
        &config(TimerFactory::Rocksdb),
        &layout,
        &dir.path().join("cf"),
    )
    .unwrap();
    let mut on_heap = RocksDbBackend::open(
        &config(TimerFactory::Heap),
        &layout,
        &dir.path().join("heap"),
    )
    .unwrap();
    common::apply(&mut in_cf, ops);
    common::apply(&mut on_heap, ops);
    let digest = in_cf.digest().unwrap();
    assert_eq!(digest, on_heap.digest().unwrap());
    let mut reference = BackendConfig::HashMap.open(&layout, dir.path()).unwrap();
    common::apply(reference.as_mut(), ops);
    assert_eq!(digest, reference.digest().unwrap());
    let pending_rows = in_cf.stored_rows().unwrap() - on_heap.stored_rows().unwrap();
    assert!(
        pending_rows > 0,
        "with HEAP timers the timer column family stays empty"
    );
}

// Checkpoints taken with timers pending, restored and compared, for HEAP timers too:
// tests/checkpoint.rs runs `common::every_backend()`, which includes RocksDB with HEAP timers.

/// The timers `ops` leave registered, as (state, timestamp, key, namespace).
fn registered(ops: &[StateOp]) -> Vec<(StateId, i64, u64, Namespace)> {
    let mut timers = BTreeSet::new();
    for op in ops {
        match op.kind {
            OpKind::TimerRegister(t) => timers.insert((op.state, t, op.key, op.namespace)),
            OpKind::TimerDelete(t) => timers.remove(&(op.state, t, op.key, op.namespace)),
            _ => false,
        };
    }
    timers.into_iter().collect()
}

/// Few keys and a long window: many timers per key group, so the caches fill and refill.
fn timer_heavy_ops() -> (StateLayout, Vec<StateOp>) {
    let spec = common::sliding_window_spec(3_000, 12, 1_000, 50);
    let ops = common::all_ops(&spec);
    let cut = ops.len() * 2 / 3;
    (StateLayout::of(&spec), ops[..cut].to_vec())
}

/// Runs a checkpoint's (or savepoint's) async phase, completes it in its store and restores it
/// into a fresh RocksDB backend at `into`.
fn complete_and_restore(
    (store, target, phase): (&CheckpointStore, &CheckpointTarget, AsyncPhase),
    (config, layout): (&RocksDbConfig, &StateLayout),
    into: &Path,
) -> RocksDbBackend {
    let handle = store.complete(target, &phase(target).unwrap()).unwrap();
    RocksDbBackend::restore(config, layout, &handle, into).unwrap()
}

#[test]
fn timer_cache_size_is_read_honoured_and_recorded() {
    let (layout, ops) = timer_heavy_ops();
    let expected = registered(&ops);
    let dir = tempfile::tempdir().unwrap();
    let mut largest = Vec::new();
    for (i, size) in [None, Some(4)].into_iter().enumerate() {
        let flink = common::flink_config_with(
            "state.backend.rocksdb.timer-service.cache-size",
            size.map(|s| s.to_string()).as_deref(),
        )
        .unwrap();
        let config = flink.resolve(None).unwrap().rocksdb_config;
        assert_eq!(config.timer_cache_size, size.unwrap_or(128));
        let chosen = ChosenSources {
            predefined_options: None,
            interval: KeySource::Cell,
        };
        let none = CheckpointSetting::new(CheckpointMode::None, Duration::from_secs(1));
        let keys = cell_keys(
            &BackendConfig::RocksDb(config.clone()),
            &none,
            &StorageSetting::default(),
            &flink,
            chosen,
        )
        .unwrap();
        let recorded = keys
            .iter()
            .find(|k| k.key == "state.backend.rocksdb.timer-service.cache-size")
            .unwrap();
        assert_eq!(recorded.value, size.unwrap_or(128).to_string());
        let source = match size {
            Some(_) => KeySource::SetOption,
            None => KeySource::FlinkDefault,
        };
        assert_eq!(recorded.source, source);
        let mut backend =
            RocksDbBackend::open(&config, &layout, &dir.path().join(format!("db{i}"))).unwrap();
        // The cache bounds every key group's cached head at every step; the queue still holds
        // every timer.
        let mut most = 0;
        for op in ops.chunks(1) {
            common::apply(&mut backend, op);
            let cached = backend.timer_cache_rows().into_iter().flatten().flatten();
            most = most.max(cached.max().unwrap());
        }
        largest.push(most);
        assert_eq!(
            backend.pending_timers().unwrap(),
            expected,
            "cache size {size:?}"
        );
    }
    assert!(largest[0] > 4, "the default cache holds more: {largest:?}");
    assert_eq!(largest[1], 4, "{largest:?}");
}

#[test]
fn zero_timer_cache_size_is_refused() {
    let mut flink = FlinkConfig::default();
    let err = flink
        .set("state.backend.rocksdb.timer-service.cache-size=0")
        .and_then(|()| flink.resolve(None).map(|_| ()))
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("timer-service.cache-size"),
        "{err:#}"
    );
}

#[test]
fn timers_restore_from_checkpoints_and_savepoints_as_registered() {
    let (layout, ops) = timer_heavy_ops();
    let expected = registered(&ops);
    assert!(expected.len() > 100);
    let dir = tempfile::tempdir().unwrap();
    for factory in [TimerFactory::Rocksdb, TimerFactory::Heap] {
        let mut c = config(factory);
        c.timer_cache_size = 8;
        let mut backend =
            RocksDbBackend::open(&c, &layout, &dir.path().join(format!("{factory:?}"))).unwrap();
        common::apply(&mut backend, &ops);
        let store = CheckpointStore::new(&dir.path().join(format!("chk-{factory:?}"))).unwrap();
        for (id, mode) in [
            (1, Some(CheckpointMode::Full)),
            (2, Some(CheckpointMode::Incremental)),
            (3, None),
        ] {
            let (target, phase) = match mode {
                Some(mode) => {
                    let target = store.target(id, Arc::new(BTreeMap::new())).unwrap();
                    let phase = backend.snapshot(mode, &target).unwrap();
                    (target, phase)
                }
                None => (
                    store.savepoint_target(id).unwrap(),
                    backend.savepoint().unwrap(),
                ),
            };
            let restored = complete_and_restore(
                (&store, &target, phase),
                (&c, &layout),
                &dir.path().join(format!("restored-{factory:?}-{id}")),
            );
            assert_eq!(
                restored.pending_timers().unwrap(),
                expected,
                "{factory:?} {mode:?}"
            );
        }
    }
}

#[test]
fn heap_timers_are_written_in_the_checkpoint_sync_phase() {
    let (layout, ops) = timer_heavy_ops();
    let (first, second) = ops.split_at(ops.len() / 2);
    let dir = tempfile::tempdir().unwrap();
    for factory in [TimerFactory::Heap, TimerFactory::Rocksdb] {
        let c = config(factory);
        let mut backend =
            RocksDbBackend::open(&c, &layout, &dir.path().join(format!("{factory:?}"))).unwrap();
        common::apply(&mut backend, first);
        let at_sync = backend.pending_timers().unwrap();
        let store = CheckpointStore::new(&dir.path().join(format!("chk-{factory:?}"))).unwrap();
        let target = store.target(1, Arc::new(BTreeMap::new())).unwrap();
        let phase = backend
            .snapshot(CheckpointMode::Incremental, &target)
            .unwrap();
        // Before the async phase runs, the checkpoint directory holds the raw keyed state of
        // HEAP timers (and nothing for ROCKSDB timers, which the native files carry).
        let written: Vec<String> = std::fs::read_dir(&target.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        match factory {
            TimerFactory::Heap => assert_eq!(written, ["raw-keyed-state-timers"]),
            TimerFactory::Rocksdb => assert!(written.is_empty(), "{written:?}"),
        }
        common::apply(&mut backend, second);
        assert_ne!(backend.pending_timers().unwrap(), at_sync);
        let restored = complete_and_restore(
            (&store, &target, phase),
            (&c, &layout),
            &dir.path().join(format!("r-{factory:?}")),
        );
        assert_eq!(restored.pending_timers().unwrap(), at_sync, "{factory:?}");
    }
}
