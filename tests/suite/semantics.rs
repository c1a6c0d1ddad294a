//! List and map semantics: the RocksDB backend, laid out as Flink lays it out, answers every op
//! as the heap backend does and ends in the same logical state.

use crate::common;

use statebench::backend::rocksdb::{PredefinedProfile, RocksDbConfig};
use statebench::backend::{BackendConfig, Outcome};
use statebench::workload::{Namespace, OpKind, StateOp, ValueRef};

#[test]
fn rocksdb_answers_every_op_as_the_heap_backend_does() {
    let spec = common::mixed_spec(20_000, 300);
    let ops = common::all_ops(&spec);
    let layout = common::layout(&spec);
    let dir = tempfile::tempdir().unwrap();
    let mut heap = BackendConfig::HashMap.open(&layout, dir.path()).unwrap();
    let rocks_config = BackendConfig::RocksDb(RocksDbConfig::new(PredefinedProfile::Default));
    let mut rocks = rocks_config.open(&layout, &dir.path().join("db")).unwrap();
    let from_heap = common::apply(heap.as_mut(), &ops);
    let from_rocks = common::apply(rocks.as_mut(), &ops);
    for (i, (h, r)) in from_heap.iter().zip(&from_rocks).enumerate() {
        assert_eq!(h, r, "op {i}: {:?}", ops[i]);
    }
    let found = from_heap.iter().filter(|o| o.found).count();
    assert!(
        found > ops.len() / 10,
        "the stream must read existing state ({found} hits)"
    );
    let digest = heap.digest().unwrap();
    assert!(digest.entries > 0);
    assert_eq!(digest, rocks.digest().unwrap());
}

fn op(state: u16, key: u64, kind: OpKind) -> StateOp {
    StateOp {
        state,
        key,
        namespace: Namespace::Void,
        kind,
    }
}

fn v(tag: u64, len: u32) -> ValueRef {
    ValueRef { tag, len }
}

#[test]
fn hand_checked_list_and_map_sequences() {
    let spec = common::mixed_spec(10, 10);
    let layout = common::layout(&spec);
    let (list, map) = (1, 2);
    let sequence = [
        op(list, 5, OpKind::ListGet),
        op(list, 5, OpKind::ListAdd(v(1, 10))),
        op(list, 5, OpKind::ListAdd(v(2, 0))),
        op(list, 5, OpKind::ListAdd(v(3, 44))),
        op(list, 5, OpKind::ListGet),
        op(list, 5, OpKind::ListClear),
        op(list, 5, OpKind::ListGet),
        op(map, 5, OpKind::MapPut(1, v(4, 7))),
        op(map, 5, OpKind::MapPut(2, v(5, 9))),
        op(map, 5, OpKind::MapPut(1, v(6, 3))),
        op(map, 6, OpKind::MapPut(1, v(7, 100))),
        op(map, 5, OpKind::MapGet(1)),
        op(map, 5, OpKind::MapContains(2)),
        op(map, 5, OpKind::MapIterate),
        op(map, 5, OpKind::MapRemove(1)),
        op(map, 5, OpKind::MapRemove(2)),
        op(map, 5, OpKind::MapIterate),
        op(map, 6, OpKind::MapIterate),
        op(map, 6, OpKind::MapClear),
        op(map, 6, OpKind::MapGet(1)),
    ];
    let hit = |items, bytes| Outcome {
        found: true,
        items,
        bytes,
    };
    let miss = Outcome::default();
    let expected = [
        miss,
        miss,
        miss,
        miss,
        hit(3, 54),
        miss,
        miss,
        miss,
        miss,
        miss,
        miss,
        hit(1, 3),
        hit(1, 0),
        hit(2, 12),
        miss,
        miss,
        miss,
        hit(1, 100),
        miss,
        miss,
    ];
    for config in common::every_backend() {
        let dir = tempfile::tempdir().unwrap();
        let mut backend = config.open(&layout, &dir.path().join("db")).unwrap();
        let got = common::apply(backend.as_mut(), &sequence);
        assert_eq!(got, expected, "{}", config.name());
        let digest = backend.digest().unwrap();
        assert_eq!(
            digest.entries,
            0,
            "{}: everything was cleared",
            config.name()
        );
    }
}
