//! State TTL: expired values are never returned and are removed when read, the RocksDB
//! compaction filter drops them from disk, the heap cleans them incrementally on access, and both
//! backends answer a TTL workload alike.

use crate::common;

use statebench::backend::heap::HeapBackend;
use statebench::backend::rocksdb::{PredefinedProfile, RocksDbBackend, RocksDbConfig};
use statebench::backend::{Backend, BackendConfig, Outcome, StateLayout};
use statebench::workload::{
    fill_value, Namespace, OpGenerator, OpKind, StateKind, StateOp, TtlSpec, TtlUpdate, ValueRef,
};

fn layout(update_type: TtlUpdate) -> StateLayout {
    StateLayout {
        states: vec![
            ("v".into(), StateKind::Value),
            ("l".into(), StateKind::List),
            ("m".into(), StateKind::Map),
        ],
        max_parallelism: 128,
        ttl: Some(TtlSpec {
            ttl_ms: 100,
            update_type,
        }),
    }
}

fn op(state: u16, key: u64, kind: OpKind) -> StateOp {
    StateOp {
        state,
        key,
        namespace: Namespace::Void,
        kind,
    }
}

fn put(backend: &mut dyn Backend, state: u16, key: u64, kind: OpKind) {
    let mut value = Vec::new();
    if let Some(v) = kind.value() {
        fill_value(v, &mut value);
    }
    backend.apply(&op(state, key, kind), &value).unwrap();
}

fn read(backend: &mut dyn Backend, state: u16, key: u64, kind: OpKind) -> Outcome {
    backend.apply(&op(state, key, kind), &[]).unwrap()
}

const V: ValueRef = ValueRef { tag: 1, len: 10 };

fn backends(update_type: TtlUpdate) -> Vec<(Box<dyn Backend>, tempfile::TempDir)> {
    [
        BackendConfig::HashMap,
        BackendConfig::RocksDb(RocksDbConfig::new(PredefinedProfile::Default)),
    ]
    .into_iter()
    .map(|config| {
        let dir = tempfile::tempdir().unwrap();
        (
            config
                .open(&layout(update_type), &dir.path().join("db"))
                .unwrap(),
            dir,
        )
    })
    .collect()
}

#[test]
fn expired_values_are_misses_on_every_backend() {
    for (mut b, _dir) in backends(TtlUpdate::OnCreateAndWrite) {
        let b = b.as_mut();
        b.set_time(0);
        put(b, 0, 1, OpKind::ValuePut(V));
        put(b, 1, 1, OpKind::ListAdd(V));
        put(b, 2, 1, OpKind::MapPut(7, V));
        b.set_time(60);
        put(b, 1, 1, OpKind::ListAdd(ValueRef { tag: 2, len: 4 }));
        put(b, 2, 1, OpKind::MapPut(8, ValueRef { tag: 3, len: 6 }));
        b.set_time(99);
        assert!(
            read(b, 0, 1, OpKind::ValueGet).found,
            "alive just before ts + ttl"
        );
        b.set_time(100);
        assert_eq!(
            read(b, 0, 1, OpKind::ValueGet),
            Outcome::default(),
            "expired at ts + ttl"
        );
        assert_eq!(
            read(b, 1, 1, OpKind::ListGet),
            Outcome {
                found: true,
                items: 1,
                bytes: 4
            }
        );
        assert_eq!(read(b, 2, 1, OpKind::MapGet(7)), Outcome::default());
        assert_eq!(
            read(b, 2, 1, OpKind::MapIterate),
            Outcome {
                found: true,
                items: 1,
                bytes: 6
            }
        );
        b.set_time(160);
        assert_eq!(read(b, 1, 1, OpKind::ListGet), Outcome::default());
        assert_eq!(read(b, 2, 1, OpKind::MapContains(8)), Outcome::default());
        assert_eq!(b.digest().unwrap().entries, 0);
    }
}

#[test]
fn on_read_and_write_reads_refresh_the_timestamp() {
    for (mut b, _dir) in backends(TtlUpdate::OnReadAndWrite) {
        let b = b.as_mut();
        b.set_time(0);
        put(b, 0, 1, OpKind::ValuePut(V));
        put(b, 2, 1, OpKind::MapPut(7, V));
        b.set_time(90);
        assert!(read(b, 0, 1, OpKind::ValueGet).found);
        assert!(read(b, 2, 1, OpKind::MapIterate).found);
        b.set_time(150);
        assert!(
            read(b, 0, 1, OpKind::ValueGet).found,
            "refreshed at 90, alive until 190"
        );
        assert!(read(b, 2, 1, OpKind::MapGet(7)).found);
        b.set_time(400);
        assert!(!read(b, 0, 1, OpKind::ValueGet).found);
    }
}

#[test]
fn the_rocksdb_compaction_filter_drops_expired_rows() {
    let dir = tempfile::tempdir().unwrap();
    let config = RocksDbConfig::new(PredefinedProfile::Default);
    let mut b =
        RocksDbBackend::open(&config, &layout(TtlUpdate::OnCreateAndWrite), dir.path()).unwrap();
    b.set_time(0);
    for key in 0..500 {
        put(&mut b, 0, key, OpKind::ValuePut(V));
        put(&mut b, 1, key, OpKind::ListAdd(V));
        put(&mut b, 2, key, OpKind::MapPut(1, V));
    }
    b.set_time(50);
    for key in 0..100 {
        put(&mut b, 0, key, OpKind::ValuePut(V));
    }
    b.compact().unwrap();
    assert_eq!(b.stored_rows().unwrap(), 1500, "nothing expired yet");
    b.set_time(120);
    b.compact().unwrap();
    assert_eq!(
        b.stored_rows().unwrap(),
        100,
        "only the values rewritten at 50 are left"
    );
    assert_eq!(b.digest().unwrap().entries, 100);
}

#[test]
fn the_heap_cleans_expired_entries_incrementally_on_access() {
    let mut b = HeapBackend::new(&layout(TtlUpdate::OnCreateAndWrite));
    b.set_time(0);
    for key in 0..300 {
        put(&mut b, 0, key, OpKind::ValuePut(V));
    }
    b.set_time(1_000);
    put(&mut b, 0, 10_000, OpKind::ValuePut(V));
    assert!(
        b.stored_entries() > 250,
        "expired entries stay until visited"
    );
    // Each access inspects the next chains of the maps' buckets, at least 5 entries, passing
    // at most 5 empty buckets (Flink's `StateIncrementalVisitor`): at least one bucket per
    // access, so one sweep of 128 key groups x 128 buckets cleans everything.
    for _ in 0..400 {
        read(&mut b, 0, 10_000, OpKind::ValueGet);
    }
    let after_some = b.stored_entries();
    assert!(after_some < 300, "some expired entries went: {after_some}");
    for _ in 0..128 * 128 {
        read(&mut b, 0, 10_000, OpKind::ValueGet);
    }
    assert_eq!(b.stored_entries(), 1, "only the live entry is left");
}

#[test]
fn backends_agree_on_a_ttl_workload_with_advancing_time() {
    let mut spec = common::mixed_spec(20_000, 200);
    spec.ttl = Some(TtlSpec {
        ttl_ms: 1_500,
        update_type: TtlUpdate::OnReadAndWrite,
    });
    let layout = StateLayout::of(&spec);
    let dir = tempfile::tempdir().unwrap();
    let mut heap = BackendConfig::HashMap.open(&layout, dir.path()).unwrap();
    let rocks = BackendConfig::RocksDb(RocksDbConfig::new(PredefinedProfile::Default));
    let mut rocks = rocks.open(&layout, &dir.path().join("db")).unwrap();
    let mut generator = OpGenerator::new(&spec).unwrap();
    let (mut ops, mut value, mut misses) = (Vec::new(), Vec::new(), 0);
    while generator.next_event(&mut ops) {
        heap.set_time(generator.event_time());
        rocks.set_time(generator.event_time());
        for op in &ops {
            match op.kind.value() {
                Some(v) => fill_value(v, &mut value),
                None => value.clear(),
            }
            let h = heap.apply(op, &value).unwrap();
            assert_eq!(
                h,
                rocks.apply(op, &value).unwrap(),
                "{op:?} at {}",
                generator.event_time()
            );
            misses += usize::from(!h.found);
        }
    }
    assert!(misses > 0);
    assert_eq!(heap.digest().unwrap(), rocks.digest().unwrap());
}

#[test]
fn checkpoints_of_ttl_state_restore_to_the_same_live_state() {
    use statebench::checkpoint::CheckpointMode;
    let mut spec = common::mixed_spec(40_000, 1_000);
    spec.ttl = Some(TtlSpec {
        ttl_ms: 2_000,
        update_type: TtlUpdate::OnCreateAndWrite,
    });
    let dir = tempfile::tempdir().unwrap();
    let paths = common::cell_paths(dir.path());
    let configs = common::every_backend();
    for (backend, mode) in [
        (configs[0].clone(), CheckpointMode::Full),
        (configs[1].clone(), CheckpointMode::Full),
        (configs[1].clone(), CheckpointMode::Incremental),
    ] {
        let result = common::run(
            &spec,
            backend,
            mode,
            std::time::Duration::from_millis(20),
            &paths,
        );
        let restore = result.restore.unwrap();
        assert!(restore.verified, "{}", result.id);
        assert!(restore.entries > 0);
    }
}
