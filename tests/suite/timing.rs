//! How ops are timed and what throughput is over: a seeded 1-in-k sample of cheap ops, every
//! op of slow ones (or of any with `--time-every-op`), every op counted either way, and the
//! batches' generation left out of the throughput. The assertions are orderings with wide
//! margins (an op spinning 5 µs against a clock read; 60 KB of value bytes made against an op
//! that does nothing), never a machine's speed.

use std::time::Duration;

use statebench::backend::heap::HeapBackend;
use statebench::backend::{Backend, BackendConfig, Events, ScriptedBackend, StateLayout};
use statebench::checkpoint::CheckpointMode;
use statebench::measure::CALIBRATION_OPS;
use statebench::results::read_results;
use statebench::run::{replay_only, OpInput, Pacing, ReplayOnly};
use statebench::workload::{
    append_values, EventBatch, Namespace, OpGenerator, OpKind, StateOp, ValueRef, WorkloadSpec,
};

use crate::common;

/// `spec` replayed into `backend`, every op timed when `every_op`.
fn replay(spec: &WorkloadSpec, backend: &mut ScriptedBackend, every_op: bool) -> ReplayOnly {
    let dir = tempfile::tempdir().unwrap();
    let input = OpInput::Generated(spec.clone());
    replay_only(&input, backend, Pacing::Closed, every_op, dir.path()).unwrap()
}

/// Every op applied in the measured part is counted, per class and per second, timed or not.
fn every_op_counted(replayed: &ReplayOnly) {
    let recorded = &replayed.recorded;
    assert_eq!(recorded.all.count, replayed.ops);
    assert_eq!(
        recorded.ops.iter().map(|o| o.count).sum::<u64>(),
        replayed.ops
    );
    assert_eq!(
        recorded.timeline.iter().map(|t| t.ops).sum::<u64>(),
        replayed.ops
    );
    assert_eq!(recorded.all.timed, Some(replayed.sampling.timed_ops));
}

#[test]
fn ops_that_cost_nothing_are_sampled_and_every_one_counted() {
    // The warm-up (a tenth) holds more than the ops the stride is chosen from.
    let spec = common::mixed_spec(200_000, 50);
    let mut backend = ScriptedBackend::noop();
    let replayed = replay(&spec, &mut backend, false);
    assert!(backend.applied - replayed.ops > CALIBRATION_OPS + 4096);
    every_op_counted(&replayed);
    let sampling = &replayed.sampling;
    // A clock read is most of what such an op costs: far above 1 % of it.
    assert!(sampling.stride > 1, "{sampling:?}");
    assert!(sampling.op_ns.is_some() && !sampling.every_op_forced);
    // One timed op in each block of `stride`. The measured part may start and end mid-block,
    // each partial block holding its timed op or not: from one fewer than the whole blocks that
    // fit to two more.
    let blocks = replayed.ops / u64::from(sampling.stride);
    assert!(
        sampling.timed_ops + 1 >= blocks && sampling.timed_ops <= blocks + 2,
        "{} timed of {} ops at stride {}",
        sampling.timed_ops,
        replayed.ops,
        sampling.stride
    );
    // Per class, the timed ops never exceed the class's ops, and every class that has more
    // than a few blocks of ops is timed.
    for class in &replayed.recorded.ops {
        assert!(class.timed.unwrap() <= class.count, "{class:?}");
        if class.count > 20 * u64::from(sampling.stride) {
            assert!(class.timed.unwrap() > 0, "{class:?}");
        }
    }
}

#[test]
fn slow_ops_are_timed_every_one() {
    let spec = common::mixed_spec(7_000, 50);
    let mut backend = ScriptedBackend::busy(Duration::from_micros(5));
    let replayed = replay(&spec, &mut backend, false);
    assert!(
        backend.applied >= CALIBRATION_OPS,
        "{} ops",
        backend.applied
    );
    every_op_counted(&replayed);
    let sampling = &replayed.sampling;
    // A clock read (ns) is far below 1 % of 5 µs.
    assert_eq!(sampling.stride, 1, "{sampling:?}");
    assert!(sampling.op_ns.unwrap() >= 5_000.0, "{sampling:?}");
    assert_eq!(sampling.timed_ops, replayed.ops);
}

#[test]
fn time_every_op_times_every_op_however_cheap() {
    let spec = common::mixed_spec(20_000, 50);
    let replayed = replay(&spec, &mut ScriptedBackend::noop(), true);
    every_op_counted(&replayed);
    let sampling = &replayed.sampling;
    assert_eq!(sampling.stride, 1);
    assert!(sampling.every_op_forced);
    assert_eq!(sampling.op_ns, None);
    assert_eq!(sampling.timed_ops, replayed.ops);
}

/// Values of 60 KB: making their bytes costs far more than an op that does nothing.
fn big_values(events: u64) -> WorkloadSpec {
    let json = format!(
        r#"{{ "name": "big", "description": "test", "seed": 1, "events": {events},
        "warmup_events": 100, "max_parallelism": 128,
        "keys": {{ "count": 20, "distribution": {{ "type": "uniform" }} }},
        "value_size": {{ "type": "fixed", "bytes": 60000 }},
        "states": [ {{ "type": "value", "name": "v", "read_only_fraction": 0.0 }} ] }}"#
    );
    WorkloadSpec::parse(&json, "big").unwrap()
}

#[test]
fn generation_is_timed_apart_from_the_ops() {
    let replayed = replay(&big_values(3_000), &mut ScriptedBackend::noop(), false);
    assert!(
        replayed.generation > replayed.elapsed / 2 && replayed.generation < replayed.elapsed,
        "generation {:?} of {:?}",
        replayed.generation,
        replayed.elapsed
    );
}

#[test]
fn a_cells_throughput_leaves_generation_out() {
    let spec = big_values(1_000);
    let dir = tempfile::tempdir().unwrap();
    let r = common::run(
        &spec,
        BackendConfig::HashMap,
        CheckpointMode::None,
        Duration::from_secs(1),
        &common::cell_paths(dir.path()),
    );
    assert!(
        r.generation_s > 0.0 && r.generation_s < r.elapsed_s,
        "{r:?}"
    );
    let operator_s = r.elapsed_s - r.generation_s;
    let expected = r.measured_events as f64 / operator_s;
    assert!(
        (r.events_per_s / expected - 1.0).abs() < 1e-9,
        "{} events/s, {expected} expected",
        r.events_per_s
    );
    assert!(r.events_per_s > r.measured_events as f64 / r.elapsed_s);
    let per_op = r.generation_s * 1e9 / r.measured_ops as f64;
    assert!((r.generation_ns_per_op / per_op - 1.0).abs() < 1e-9);
}

#[test]
fn the_command_line_times_every_op_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let workload = dir.path().join("tiny.json");
    let spec = common::mixed_spec(3_000, 50);
    std::fs::write(&workload, serde_json::to_vec(&spec).unwrap()).unwrap();
    let run = common::run_heap_cell(
        &workload,
        &dir.path().join("reports"),
        &["--repeats", "1", "--time-every-op"],
    );
    let results = read_results(&run).unwrap();
    let cell = &results.cells[0];
    let sampling = cell.latency_sampling.as_ref().expect("recorded");
    assert!(sampling.every_op_forced);
    assert_eq!(sampling.stride, 1);
    assert_eq!(cell.all_ops.timed, Some(cell.measured_ops));
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        report.contains("every op timed (`--time-every-op`)"),
        "{report}"
    );
}

/// An op failing among untimed ops (applied a stretch of events per backend call) is reported
/// with its own event and op, as one failing among timed ops is.
#[test]
fn a_failing_op_names_its_event_and_op_timed_or_not() {
    let spec = common::mixed_spec(60_000, 50);
    // Event number (from 1) and op of the stream's op number `at` (from 1).
    let locate = |at: u64| {
        let mut generator = statebench::workload::OpGenerator::new(&spec).unwrap();
        let (mut ops, mut seen) = (Vec::new(), 0);
        while generator.next_event(&mut ops) {
            if seen + ops.len() as u64 >= at {
                return (generator.position(), ops[(at - seen - 1) as usize]);
            }
            seen += ops.len() as u64;
        }
        panic!("the stream has fewer than {at} ops");
    };
    // One op in calibration (every op timed), one long after it (a stride, untimed stretches),
    // with the time set per event and (a backend that reads none) per stretch.
    for (at, timeless) in [100, 150_001]
        .into_iter()
        .flat_map(|at| [(at, false), (at, true)])
    {
        let dir = tempfile::tempdir().unwrap();
        let input = OpInput::Generated(spec.clone());
        let mut backend = ScriptedBackend {
            timeless,
            ..ScriptedBackend::failing(at)
        };
        let err = replay_only(&input, &mut backend, Pacing::Closed, false, dir.path())
            .expect_err("the op fails");
        let (event, op) = locate(at);
        let message = format!("{err:#}");
        assert!(
            message.contains(&format!("event {event}: {op:?}"))
                && message.contains(&format!("scripted failure of op {at}")),
            "op {at}, timeless {timeless}: {message}"
        );
        assert_eq!(backend.applied, at, "nothing applied after the failure");
    }
}

/// `apply_events` on a stretch with events of no ops at its start, middle and end: every op
/// applied once, in order; a failure names its event and op; the time left set is the last
/// event's, whether the backend reads the time per event or not.
#[test]
fn apply_events_applies_each_op_once_and_leaves_the_last_events_time() {
    let op = |key| StateOp {
        state: 0,
        key,
        namespace: Namespace::Void,
        kind: OpKind::ValueGet,
    };
    let ops: Vec<StateOp> = (0..5).map(op).collect();
    // Events: [], [0, 1], [], [2], [3, 4], [].
    let ends = [0, 2, 2, 3, 5, 5];
    let times = [10, 20, 30, 40, 50, 60];
    let spans = [(0, 0); 5];
    let batch = Events {
        ops: &ops,
        ends: &ends,
        times: &times,
        spans: &spans,
        values: &[],
    };
    for timeless in [false, true] {
        for (events, applied, time) in [(0..6, 5, 60), (0..3, 2, 30), (2..5, 3, 50), (3..4, 1, 40)]
        {
            let mut backend = ScriptedBackend {
                timeless,
                ..ScriptedBackend::noop()
            };
            let result = backend.apply_events(&batch, events.clone());
            assert!(result.is_ok(), "{events:?}, timeless {timeless}");
            assert_eq!(backend.applied, applied, "{events:?}, timeless {timeless}");
            assert_eq!(backend.time, time, "{events:?}, timeless {timeless}");
        }
        // The fourth op (op 3, of event 4) fails; nothing after it is applied.
        let mut backend = ScriptedBackend {
            timeless,
            ..ScriptedBackend::failing(4)
        };
        let failed = backend.apply_events(&batch, 0..6).expect_err("op 3 fails");
        assert_eq!((failed.event, failed.op), (4, 3), "timeless {timeless}");
        assert_eq!(backend.applied, 4, "timeless {timeless}");
    }
}

/// Two ValueStates, each get or put every event.
fn two_value_states(events: u64) -> WorkloadSpec {
    let json = format!(
        r#"{{ "name": "two", "description": "test", "seed": 1, "events": {events},
             "warmup_events": 0, "max_parallelism": 128,
             "keys": {{ "count": 50, "distribution": {{ "type": "uniform" }} }},
             "value_size": {{ "type": "fixed", "bytes": 4 }},
             "states": [ {{ "type": "value", "name": "a", "read_only_fraction": 0.5 }},
                         {{ "type": "value", "name": "b", "read_only_fraction": 0.5 }} ] }}"#
    );
    WorkloadSpec::parse(&json, "two").unwrap()
}

/// A whole op stream as the cell runner's batches hold it: ops, event ends and times, and each
/// op's span of the value bytes.
struct Stream {
    batch: EventBatch,
    spans: Vec<(usize, usize)>,
    values: Vec<u8>,
}

impl Stream {
    fn of(spec: &WorkloadSpec) -> Stream {
        let mut generator = OpGenerator::new(spec).unwrap();
        let mut batch = EventBatch::default();
        while generator.append_events(&mut batch, usize::MAX, usize::MAX) > 0 {}
        let mut values = Vec::new();
        let spans = append_values(&batch.ops, &mut values);
        Stream {
            batch,
            spans,
            values,
        }
    }

    fn events(&self) -> Events<'_> {
        Events {
            ops: &self.batch.ops,
            ends: &self.batch.ends,
            times: &self.batch.times,
            spans: &self.spans,
            values: &self.values,
        }
    }
}

/// The heap backend applies runs of ValueState gets and puts in a loop of its own
/// (`apply_untimed`): over every built-in workload, the mixed and the window test workloads,
/// and one of two ValueStates, applied in stretches of 1 to 200 events, it leaves the state that `apply`, op by op with the
/// time set per event, leaves.
#[test]
fn heap_stretches_leave_the_state_op_by_op_apply_leaves() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads");
    let mut specs = vec![
        common::mixed_spec(6_000, 40),
        common::window_spec(6_000, 40),
        two_value_states(6_000),
    ];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let mut spec = WorkloadSpec::load(&path).unwrap();
            spec.keys.count = spec.keys.count.min(500);
            spec.events = 6_000;
            spec.warmup_events = 0;
            specs.push(spec);
        }
    }
    for spec in &specs {
        let stream = Stream::of(spec);
        let events = stream.events();
        let layout = StateLayout::of(spec);
        let mut by_op = HeapBackend::new(&layout);
        let mut op = 0;
        for (&end, &time) in events.ends.iter().zip(events.times) {
            by_op.set_time(time);
            for (state_op, &(from, to)) in events.ops[op..end].iter().zip(&events.spans[op..end]) {
                by_op.apply(state_op, &events.values[from..to]).unwrap();
            }
            op = end;
        }
        let mut by_stretch = HeapBackend::new(&layout);
        let (mut event, mut stretch) = (0, 1);
        while event < events.ends.len() {
            let end = (event + stretch).min(events.ends.len());
            if let Err(failed) = by_stretch.apply_events(&events, event..end) {
                panic!("{}: {:#}", spec.name, failed.error);
            }
            (event, stretch) = (end, stretch * 7 % 199 + 1);
        }
        assert!(op > 1_000, "{}: {op} ops", spec.name);
        assert_eq!(
            by_stretch.stored_entries(),
            by_op.stored_entries(),
            "{}",
            spec.name
        );
        assert_eq!(
            by_stretch.digest().unwrap(),
            by_op.digest().unwrap(),
            "{}",
            spec.name
        );
    }
}

/// A ValueState put in a namespace its state refuses (written before in another kind), in the
/// middle of a run of gets and puts on the heap backend, fails with its own event and op, and
/// nothing after it is applied; a state's first put and an op on another state inside the run
/// are applied as `apply` applies them.
#[test]
fn a_heap_put_the_namespace_refuses_fails_in_a_run_of_value_ops() {
    let spec = two_value_states(10);
    let op = |state, key, namespace, put: bool| StateOp {
        state,
        key,
        namespace,
        kind: if put {
            OpKind::ValuePut(ValueRef { tag: key, len: 4 })
        } else {
            OpKind::ValueGet
        },
    };
    let window = Namespace::Window { start: 0, end: 10 };
    let ops = [
        op(0, 1, Namespace::Void, true),
        op(0, 1, Namespace::Void, false),
        op(0, 2, Namespace::Void, true),
        op(1, 3, Namespace::Void, true),
        op(0, 4, Namespace::Void, true),
        op(0, 5, window, true),
        op(0, 6, Namespace::Void, true),
    ];
    let mut values = Vec::new();
    let spans = append_values(&ops, &mut values);
    // Events: [0, 1, 2], [3, 4, 5], [6].
    let (ends, times) = ([3, 6, 7], [1, 2, 3]);
    let batch = Events {
        ops: &ops,
        ends: &ends,
        times: &times,
        spans: &spans,
        values: &values,
    };
    let mut heap = HeapBackend::new(&StateLayout::of(&spec));
    let failed = heap.apply_events(&batch, 0..3).expect_err("op 5 fails");
    assert_eq!((failed.event, failed.op), (1, 5));
    assert!(
        format!("{:#}", failed.error).contains("namespace"),
        "{:#}",
        failed.error
    );
    // What `apply` leaves of the ops before it: keys 1, 2 and 4 in state a, 3 in state b.
    let mut by_op = HeapBackend::new(&StateLayout::of(&spec));
    for (op, &(from, to)) in ops[..5].iter().zip(&spans) {
        by_op.apply(op, &values[from..to]).unwrap();
    }
    assert_eq!(heap.stored_entries(), 4);
    assert_eq!(heap.digest().unwrap(), by_op.digest().unwrap());
}
