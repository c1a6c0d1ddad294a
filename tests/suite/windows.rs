//! Window operators: the ops Flink's WindowOperator with an EventTimeTrigger issues. Windows fire
//! exactly once, after the watermark passes their end; late elements are dropped; at the end of
//! input every window has fired and no state is left.

use crate::common;

use std::collections::HashMap;

use statebench::backend::{BackendConfig, StateLayout};
use statebench::workload::{Namespace, OpGenerator, OpKind, StateOp, WorkloadSpec};

fn spec(operator: &str, stream: &str, events: u64, keys: u64) -> WorkloadSpec {
    let json = format!(
        r#"{{ "name": "w", "description": "window test", "seed": 9, "events": {events},
        "warmup_events": 0, "max_parallelism": 128,
        "keys": {{ "count": {keys}, "distribution": {{ "type": "uniform" }} }},
        "value_size": {{ "type": "fixed", "bytes": 16 }},
        "stream": {stream}, "operator": {operator} }}"#
    );
    WorkloadSpec::parse(&json, "window test").unwrap()
}

const IN_ORDER: &str = r#"{ "gap": { "type": "constant", "ms": 1 }, "watermark_interval_ms": 5 }"#;
const DISORDERED: &str = r#"{ "gap": { "type": "exponential", "mean_ms": 2 },
    "out_of_order_fraction": 0.3, "max_delay_ms": 40, "watermark_delay_ms": 10,
    "watermark_interval_ms": 20 }"#;

fn events(spec: &WorkloadSpec) -> (Vec<Vec<StateOp>>, u64) {
    let mut generator = OpGenerator::new(spec).unwrap();
    let (mut ops, mut all) = (Vec::new(), Vec::new());
    while generator.next_event(&mut ops) {
        all.push(ops.clone());
    }
    (all, generator.dropped_late())
}

fn window(op: &StateOp) -> (u64, i64, i64) {
    match op.namespace {
        Namespace::Window { start, end } => (op.key, start, end),
        other => panic!("window state outside a window: {other:?} in {op:?}"),
    }
}

#[test]
fn a_tumbling_window_fires_once_when_the_watermark_passes_its_end() {
    let spec = spec(
        r#"{ "type": "tumbling_window", "size_ms": 10, "aggregation": "incremental" }"#,
        IN_ORDER,
        40,
        1,
    );
    let (events, dropped) = events(&spec);
    assert_eq!(dropped, 0);
    let w0 = Namespace::Window { start: 0, end: 10 };
    let first = |ops: &[StateOp]| ops.first().map(|o| (o.namespace, o.kind));
    // Event 1 (ts 1): get + put the accumulator of [0, 10), register its timer at 9.
    let kinds: Vec<OpKind> = events[0].iter().map(|o| o.kind).collect();
    assert_eq!(kinds[0], OpKind::ValueGet);
    assert!(matches!(kinds[1], OpKind::ValuePut(_)));
    assert_eq!(kinds[2], OpKind::TimerRegister(9));
    assert_eq!(events[0][0].namespace, w0);
    // Watermarks come every 5 ms of event time as max_ts - 1: 3, 8, 13, ... Watermark 13 is the
    // first ≥ 9; it is emitted before event 15 (ts 15), which therefore starts with the firing.
    for (i, ops) in events.iter().enumerate().take(14) {
        assert!(
            !ops.iter()
                .any(|o| o.namespace == w0 && o.kind == OpKind::ValueClear),
            "fired too early, at event {}",
            i + 1
        );
    }
    let fire: Vec<OpKind> = events[14].iter().take(4).map(|o| o.kind).collect();
    assert_eq!(
        fire,
        vec![
            OpKind::TimerDelete(9),
            OpKind::ValueGet,
            OpKind::ValueClear,
            OpKind::TimerDelete(9)
        ]
    );
    assert_eq!(first(&events[14]).unwrap().0, w0);
}

#[test]
fn every_window_fires_exactly_once_and_late_elements_are_dropped() {
    for aggregation in ["incremental", "holistic"] {
        for operator in [
            format!(
                r#"{{ "type": "tumbling_window", "size_ms": 50, "aggregation": "{aggregation}" }}"#
            ),
            format!(
                r#"{{ "type": "sliding_window", "size_ms": 60, "slide_ms": 20, "aggregation": "{aggregation}" }}"#
            ),
        ] {
            let spec = spec(&operator, DISORDERED, 20_000, 50);
            let (events, dropped) = events(&spec);
            // A record is dropped when every window it belongs to is late; with sliding windows it
            // usually still belongs to a later one (the per-window check is below).
            if operator.contains("tumbling") {
                assert!(
                    dropped > 0,
                    "{operator}: the disorder exceeds the watermark bound"
                );
            }
            let clear = if aggregation == "incremental" {
                OpKind::ValueClear
            } else {
                OpKind::ListClear
            };
            let mut cleared: HashMap<(u64, i64, i64), usize> = HashMap::new();
            let mut touched = std::collections::HashSet::new();
            for ops in &events {
                for op in ops.iter().filter(|o| o.state == 0) {
                    let w = window(op);
                    if op.kind == clear {
                        *cleared.entry(w).or_default() += 1;
                    } else if matches!(op.kind, OpKind::ValuePut(_) | OpKind::ListAdd(_)) {
                        assert!(
                            !cleared.contains_key(&w),
                            "{operator}: element for window {w:?} after it fired"
                        );
                        touched.insert(w);
                    }
                }
            }
            assert!(!touched.is_empty());
            for w in &touched {
                assert_eq!(cleared.get(w), Some(&1), "{operator}: window {w:?}");
            }
        }
    }
}

#[test]
fn holistic_windows_read_every_element_and_backends_agree() {
    let spec = spec(
        r#"{ "type": "sliding_window", "size_ms": 40, "slide_ms": 10, "aggregation": "holistic", "allowed_lateness_ms": 15 }"#,
        DISORDERED,
        10_000,
        20,
    );
    let layout = StateLayout::of(&spec);
    let ops: Vec<StateOp> = events(&spec).0.into_iter().flatten().collect();
    let dir = tempfile::tempdir().unwrap();
    let mut heap = BackendConfig::HashMap.open(&layout, dir.path()).unwrap();
    let rocks = BackendConfig::RocksDb(statebench::backend::rocksdb::RocksDbConfig::new(
        statebench::backend::rocksdb::PredefinedProfile::Default,
    ));
    let mut rocks = rocks.open(&layout, &dir.path().join("db")).unwrap();
    let from_heap = common::apply(heap.as_mut(), &ops);
    assert_eq!(from_heap, common::apply(rocks.as_mut(), &ops));
    // Each firing reads as many elements as were added to the window since it was created.
    let mut added: HashMap<(u64, i64, i64), u32> = HashMap::new();
    let mut fired = 0;
    for (op, outcome) in ops.iter().zip(&from_heap) {
        if op.state != 0 {
            continue;
        }
        match op.kind {
            OpKind::ListAdd(_) => *added.entry(window(op)).or_default() += 1,
            OpKind::ListGet => {
                assert_eq!(outcome.items, added[&window(op)], "{op:?}");
                fired += 1;
            }
            OpKind::ListClear => {
                added.remove(&window(op));
            }
            _ => {}
        }
    }
    assert!(fired > 100);
    assert!(
        added.is_empty(),
        "every window was cleared by the end of input"
    );
    assert_eq!(
        heap.digest().unwrap().entries,
        0,
        "no state left after the final watermark"
    );
    assert_eq!(rocks.digest().unwrap().entries, 0);
}
