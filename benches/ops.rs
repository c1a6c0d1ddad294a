//! Criterion micro-benchmarks: one state op at a time against preloaded state, per backend and op
//! kind (the shape of flink-benchmarks' ValueState/ListState/MapState benchmarks), plus op
//! generation. The harness's own cost per op is measured by `benches/overhead.rs`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use statebench::backend::rocksdb::{PredefinedProfile, RocksDbConfig};
use statebench::backend::{Backend, BackendConfig, StateLayout};
use statebench::workload::{
    fill_value, Namespace, OpGenerator, OpKind, StateKind, StateOp, ValueRef, WorkloadSpec,
};

/// Keys preloaded into every state (flink-benchmarks uses 500k; 100k keeps `cargo bench` short).
const KEYS: u64 = 100_000;
/// Elements per preloaded list and entries per preloaded map (flink-benchmarks: map 10).
const PER_KEY: u64 = 10;
const VALUE_BYTES: u32 = 64;

const VALUE: u16 = 0;
const LIST: u16 = 1;
const MAP: u16 = 2;

fn layout() -> StateLayout {
    StateLayout {
        states: vec![
            ("value".into(), StateKind::Value),
            ("list".into(), StateKind::List),
            ("map".into(), StateKind::Map),
        ],
        max_parallelism: 128,
        ttl: None,
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

/// A key sequence that visits all keys in a scattered order without an RNG in the loop.
struct Keys(u64);

impl Keys {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) % KEYS
    }
}

fn preload(backend: &mut dyn Backend) {
    let mut value = Vec::new();
    fill_value(
        ValueRef {
            tag: 1,
            len: VALUE_BYTES,
        },
        &mut value,
    );
    for key in 0..KEYS {
        backend
            .apply(
                &op(
                    VALUE,
                    key,
                    OpKind::ValuePut(ValueRef {
                        tag: 1,
                        len: VALUE_BYTES,
                    }),
                ),
                &value,
            )
            .unwrap();
        for i in 0..PER_KEY {
            let v = ValueRef {
                tag: 1,
                len: VALUE_BYTES,
            };
            backend
                .apply(&op(LIST, key, OpKind::ListAdd(v)), &value)
                .unwrap();
            backend
                .apply(&op(MAP, key, OpKind::MapPut(i, v)), &value)
                .unwrap();
        }
    }
}

/// A benchmarked op: its name, the state it touches, and the op for a given key.
type Case = (&'static str, u16, fn(u64) -> OpKind);

fn backend_ops(c: &mut Criterion) {
    let configs = [
        BackendConfig::HashMap,
        BackendConfig::RocksDb(RocksDbConfig::new(PredefinedProfile::Default)),
    ];
    let v = ValueRef {
        tag: 7,
        len: VALUE_BYTES,
    };
    let mut value = Vec::new();
    fill_value(v, &mut value);
    let cases: [Case; 7] = [
        ("value.get", VALUE, |_| OpKind::ValueGet),
        ("value.put", VALUE, |_| {
            OpKind::ValuePut(ValueRef {
                tag: 7,
                len: VALUE_BYTES,
            })
        }),
        ("list.get", LIST, |_| OpKind::ListGet),
        ("list.add", LIST, |_| {
            OpKind::ListAdd(ValueRef {
                tag: 7,
                len: VALUE_BYTES,
            })
        }),
        ("map.get", MAP, |k| OpKind::MapGet(k % PER_KEY)),
        ("map.put", MAP, |k| {
            OpKind::MapPut(
                k % PER_KEY,
                ValueRef {
                    tag: 7,
                    len: VALUE_BYTES,
                },
            )
        }),
        ("map.iterate", MAP, |_| OpKind::MapIterate),
    ];
    for config in configs {
        let dir = tempfile::tempdir().unwrap();
        let mut backend = config.open(&layout(), &dir.path().join("db")).unwrap();
        preload(backend.as_mut());
        let mut group = c.benchmark_group(config.name());
        for (name, state, kind) in cases {
            let mut keys = Keys(0);
            group.bench_function(name, |b| {
                b.iter(|| {
                    let key = keys.next();
                    black_box(backend.apply(&op(state, key, kind(key)), &value).unwrap())
                })
            });
        }
        group.finish();
    }
}

/// Op generation alone.
fn harness_overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("harness");
    // The target: ≥ 20 M generated ops/s for the value workload on one core.
    let value_rmw = WorkloadSpec::load(
        concat!(env!("CARGO_MANIFEST_DIR"), "/workloads/value-rmw.json").as_ref(),
    )
    .unwrap();
    let ops_per_batch = {
        let mut generator = OpGenerator::new(&value_rmw).unwrap();
        let mut ops = Vec::new();
        (0..1000)
            .map(|_| {
                generator.next_event(&mut ops);
                ops.len() as u64
            })
            .sum::<u64>()
    };
    group.throughput(Throughput::Elements(ops_per_batch));
    group.bench_function("generate_value_rmw_1000_events", |b| {
        b.iter_batched_ref(
            || (OpGenerator::new(&value_rmw).unwrap(), Vec::new()),
            |(generator, ops)| {
                for _ in 0..1000 {
                    generator.next_event(ops);
                    black_box(&ops);
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(3));
    targets = backend_ops, harness_overhead
}
criterion_main!(benches);
