//! Operator models beyond windows: session windows, interval join, window join, dedup,
//! continuous aggregation and YCSB. Each is checked for the state it leaves behind, for its op
//! mix, and for the heap and RocksDB backends answering it alike.

use crate::common;

use std::collections::{HashMap, HashSet};

use statebench::backend::rocksdb::{PredefinedProfile, RocksDbConfig};
use statebench::backend::{BackendConfig, Outcome, StateLayout};
use statebench::workload::{Namespace, OpGenerator, OpKind, StateOp, WorkloadSpec};

const STREAM: &str = r#"{ "gap": { "type": "exponential", "mean_ms": 2 }, "out_of_order_fraction": 0.2,
    "max_delay_ms": 40, "watermark_delay_ms": 15, "watermark_interval_ms": 20 }"#;

fn spec(operator: &str, events: u64, keys: u64, extra: &str) -> WorkloadSpec {
    let json = format!(
        r#"{{ "name": "m", "description": "model test", "seed": 17, "events": {events},
        "warmup_events": 0, "max_parallelism": 128,
        "keys": {{ "count": {keys}, "distribution": {{ "type": "zipfian", "theta": 0.8 }} }},
        "value_size": {{ "type": "uniform", "min": 1, "max": 40 }},
        "stream": {STREAM}, "operator": {operator} {extra} }}"#
    );
    WorkloadSpec::parse(&json, "model test").unwrap()
}

fn ops_of(spec: &WorkloadSpec) -> (Vec<StateOp>, u64) {
    let mut generator = OpGenerator::new(spec).unwrap();
    let (mut ops, mut all) = (Vec::new(), Vec::new());
    while generator.next_event(&mut ops) {
        all.extend_from_slice(&ops);
    }
    (all, generator.dropped_late())
}

/// Runs the ops on both backends, checks they agree, and returns the heap's outcomes and the
/// number of logical entries left.
fn on_both(spec: &WorkloadSpec, ops: &[StateOp]) -> (Vec<Outcome>, u64) {
    let layout = StateLayout::of(spec);
    let dir = tempfile::tempdir().unwrap();
    let mut heap = BackendConfig::HashMap.open(&layout, dir.path()).unwrap();
    let rocks = BackendConfig::RocksDb(RocksDbConfig::new(PredefinedProfile::Default));
    let mut rocks = rocks.open(&layout, &dir.path().join("db")).unwrap();
    let outcomes = common::apply(heap.as_mut(), ops);
    assert_eq!(
        outcomes,
        common::apply(rocks.as_mut(), ops),
        "{}",
        spec.name
    );
    let digest = heap.digest().unwrap();
    assert_eq!(digest, rocks.digest().unwrap());
    (outcomes, digest.entries)
}

#[test]
fn session_windows_merge_fire_and_leave_nothing_behind() {
    for aggregation in ["incremental", "holistic"] {
        let spec = spec(
            &format!(
                r#"{{ "type": "session_window", "gap_ms": 30, "aggregation": "{aggregation}", "allowed_lateness_ms": 5 }}"#
            ),
            8_000,
            40,
            "",
        );
        let (ops, _) = ops_of(&spec);
        let (outcomes, left) = on_both(&spec, &ops);
        assert_eq!(
            left, 0,
            "{aggregation}: state left after the final watermark"
        );
        // Sessions merged: some contents moved from one state window into another.
        let clears_without_fire = ops
            .windows(2)
            .filter(|w| {
                w[0].state == 0
                    && w[1].state == 0
                    && matches!(w[1].kind, OpKind::ValueClear | OpKind::ListClear)
                    && matches!(w[0].kind, OpKind::ValueGet | OpKind::ListGet)
                    && w[0].namespace == w[1].namespace
            })
            .count();
        assert!(
            clears_without_fire > 10,
            "{aggregation}: sessions fired or merged"
        );
        // The merging window set is read for every element and timer.
        let set_reads = ops
            .iter()
            .filter(|o| o.state == 2 && o.kind == OpKind::ListGet)
            .count();
        assert!(set_reads >= 8_000, "{set_reads}");
        assert!(outcomes.iter().any(|o| o.found));
    }
}

#[test]
fn interval_join_probes_the_other_side_and_cleans_its_buffers() {
    let spec = spec(
        r#"{ "type": "interval_join", "lower_bound_ms": -20, "upper_bound_ms": 10, "left_fraction": 0.5 }"#,
        10_000,
        30,
        "",
    );
    let (ops, dropped) = ops_of(&spec);
    assert!(dropped > 0, "events behind the watermark are dropped");
    let (outcomes, left) = on_both(&spec, &ops);
    assert_eq!(
        left, 0,
        "buffers and timers all cleaned at the end of input"
    );
    let probes: Vec<&Outcome> = ops
        .iter()
        .zip(&outcomes)
        .filter(|(o, _)| o.kind == OpKind::MapIterate)
        .map(|(_, r)| r)
        .collect();
    assert!(
        probes.iter().filter(|o| o.found).count() > probes.len() / 4,
        "probes find the other side"
    );
    for op in ops
        .iter()
        .filter(|o| matches!(o.kind, OpKind::TimerRegister(_)))
    {
        assert!(matches!(
            op.namespace,
            Namespace::CleanupLeft | Namespace::CleanupRight
        ));
    }
    // A left element at t registers cleanup at t + upper; a right one at t - lower.
    let mut last_put = HashMap::new();
    for op in &ops {
        match op.kind {
            OpKind::MapPut(ts, _) => {
                last_put.insert(op.key, (op.state, ts as i64));
            }
            OpKind::TimerRegister(t) => {
                let (side, ts) = last_put[&op.key];
                assert_eq!(t, if side == 0 { ts + 10 } else { ts + 20 });
            }
            _ => {}
        }
    }
}

#[test]
fn window_join_buffers_both_inputs_in_the_window() {
    let spec = spec(r#"{ "type": "window_join", "size_ms": 50 }"#, 5_000, 20, "");
    let (ops, _) = ops_of(&spec);
    assert!(ops.iter().any(|o| matches!(o.kind, OpKind::ListAdd(_))));
    assert!(ops.iter().all(|o| !matches!(o.kind, OpKind::ValuePut(_))));
    let (_, left) = on_both(&spec, &ops);
    assert_eq!(left, 0);
}

#[test]
fn dedup_counts_each_visitor_once_per_period() {
    for state in ["map", "value"] {
        let spec = spec(
            &format!(
                r#"{{ "type": "dedup", "state": "{state}", "period_ms": 500,
                "users": {{ "count": 200, "distribution": {{ "type": "zipfian", "theta": 0.9 }} }} }}"#
            ),
            10_000,
            10,
            "",
        );
        let (ops, _) = ops_of(&spec);
        let (outcomes, left) = on_both(&spec, &ops);
        assert_eq!(left, 0, "{state}: cleared at period ends");
        // A put only for a visitor not yet present: the check before it missed.
        let mut puts = 0;
        for (i, op) in ops.iter().enumerate() {
            let is_put = match state {
                "map" => matches!(op.kind, OpKind::MapPut(..)),
                _ => matches!(op.kind, OpKind::ValuePut(_)),
            };
            if is_put {
                puts += 1;
                assert!(!outcomes[i - 1].found, "{state}: op {i} re-added a visitor");
            }
        }
        let checks = ops
            .iter()
            .filter(|o| {
                matches!(o.kind, OpKind::MapContains(_))
                    || (state == "value" && o.kind == OpKind::ValueGet)
            })
            .count();
        assert!(
            puts > 100 && puts < checks,
            "{state}: {puts} puts of {checks} checks"
        );
    }
}

#[test]
fn continuous_aggregation_reads_and_writes_one_value_per_event() {
    let spec = spec(r#"{ "type": "continuous_aggregation" }"#, 3_000, 100, "");
    let (ops, _) = ops_of(&spec);
    assert_eq!(ops.len(), 6_000);
    let (_, left) = on_both(&spec, &ops);
    let keys: HashSet<u64> = ops.iter().map(|o| o.key).collect();
    assert_eq!(left, keys.len() as u64, "never cleared");
}

#[test]
fn ycsb_workloads_have_their_request_mix_after_the_load_phase() {
    let load = 1_000u64;
    for (workload, reads, writes) in [
        ("a", 0.5, 0.5),
        ("b", 0.95, 0.05),
        ("c", 1.0, 0.0),
        ("f", 1.0, 0.5),
    ] {
        let spec = spec(
            &format!(r#"{{ "type": "ycsb", "workload": "{workload}", "fields": 4 }}"#),
            load + 20_000,
            load,
            "",
        );
        let mut generator = OpGenerator::new(&spec).unwrap();
        let mut ops = Vec::new();
        for _ in 0..load {
            generator.next_event(&mut ops);
            assert_eq!(ops.len(), 4, "load: one insert of every field");
        }
        let (mut iterates, mut puts) = (0.0f64, 0.0f64);
        while generator.next_event(&mut ops) {
            for op in &ops {
                assert!(op.key < load);
                match op.kind {
                    OpKind::MapIterate => iterates += 1.0,
                    OpKind::MapPut(..) => puts += 1.0,
                    other => panic!("{other:?}"),
                }
            }
        }
        assert!(
            (iterates / 20_000.0 - reads).abs() < 0.02,
            "{workload}: reads {iterates}"
        );
        assert!(
            (puts / 20_000.0 - writes).abs() < 0.02,
            "{workload}: writes {puts}"
        );
    }
    let spec = spec(
        r#"{ "type": "ycsb", "workload": "e", "fields": 2, "max_scan_length": 10 }"#,
        6_000,
        1_000,
        "",
    );
    let (ops, _) = ops_of(&spec);
    let scans = ops.iter().filter(|o| o.kind == OpKind::MapIterate).count();
    assert!(
        scans > 5 * 5_000 / 2,
        "scans read several records each: {scans}"
    );
    let (_, left) = on_both(&spec, &ops);
    assert!(left >= 2 * 1_000);
}
