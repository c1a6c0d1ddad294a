//! The timer service factory: ROCKSDB keeps timers in their own column family, HEAP in heap
//! queues beside RocksDB; both answer alike and both survive checkpoints.

use crate::common;

use statebench::backend::rocksdb::{
    PredefinedProfile, RocksDbBackend, RocksDbConfig, TimerFactory,
};
use statebench::backend::{Backend, BackendConfig, StateLayout};
use statebench::workload::OpKind;

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
