//! `describe` summarises a workload's op stream: its numbers add up and follow the workload.

use statebench::describe::describe;
use statebench::workload::WorkloadSpec;

fn load(name: &str, events: u64) -> WorkloadSpec {
    let path = format!("{}/workloads/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut spec = WorkloadSpec::load(path.as_ref()).unwrap();
    spec.events = events;
    spec.warmup_events = 0;
    spec
}

#[test]
fn a_keyed_workload_is_described_consistently() {
    let spec = load("quickstart.json", 20_000);
    let d = describe(&spec).unwrap();
    assert_eq!(d.events, 20_000);
    assert_eq!(d.mix.iter().map(|(_, n)| n).sum::<u64>(), d.ops);
    assert!(d.ops > 3 * d.events, "value get + put, list, map per event");
    assert!(d.distinct_keys <= spec.keys.count && d.distinct_keys > 1_000);
    assert_eq!(d.distinct_namespaces, 3, "three states, void namespace");
    assert!(d.windows.is_none());
    assert!(
        d.reuse_distance[0] <= d.reuse_distance[1] && d.reuse_distance[1] <= d.reuse_distance[2]
    );
    assert!(d.first_touch_fraction > 0.0 && d.first_touch_fraction < 1.0);
    assert_eq!(d.state.len(), 10);
    assert!(d.state.windows(2).all(|w| w[0].events < w[1].events));
    assert!(
        d.state.last().unwrap().entries > d.state[0].entries,
        "state grows"
    );
    let text = d.to_string();
    assert!(
        text.contains("value.get") && text.contains("live state over time"),
        "{text}"
    );
}

#[test]
fn a_window_workload_reports_its_windows_and_ends_empty() {
    let spec = load("tumbling-aggregate.json", 30_000);
    let d = describe(&spec).unwrap();
    let (windows, per_window) = d.windows.unwrap();
    assert!(windows > 100);
    assert!(per_window >= 1.0);
    assert!(
        d.dropped_late > 0,
        "10% of events up to 2 s late against a 1 s bound"
    );
    assert_eq!(
        d.state.last().unwrap().entries,
        0,
        "every window fired and was cleared at the end"
    );
    assert!(d.mix.iter().any(|(c, _)| c.name() == "timer.register"));
}

/// The live state describe samples (counted without hashing) is what a digest counts, expired
/// entries left out included.
#[test]
fn live_size_counts_what_the_digest_counts() {
    use statebench::backend::heap::HeapBackend;
    use statebench::backend::{Backend, StateLayout};
    use statebench::workload::{fill_value, OpGenerator};

    for (name, events) in [("quickstart.json", 5_000), ("ttl-cache.json", 20_000)] {
        let spec = load(name, events);
        let mut generator = OpGenerator::new(&spec).unwrap();
        let mut backend = HeapBackend::new(&StateLayout::of(&spec));
        let (mut ops, mut value) = (Vec::new(), Vec::new());
        while generator.next_event(&mut ops) {
            backend.set_time(generator.event_time());
            for op in &ops {
                match op.kind.value() {
                    Some(v) => fill_value(v, &mut value),
                    None => value.clear(),
                }
                backend.apply(op, &value).unwrap();
            }
        }
        let digest = backend.digest().unwrap();
        assert!(digest.entries > 0, "{name}");
        assert_eq!(
            backend.live_size(),
            (digest.entries, digest.bytes),
            "{name}"
        );
    }
}

/// The windows describe counts (a set lookup only on a window's first element) are the distinct
/// (key, window) pairs given an element, counted plainly; elements per window likewise.
#[test]
fn windows_are_counted_as_a_plain_set_counts_them() {
    use statebench::workload::{Namespace, OpGenerator, OpKind};
    use std::collections::HashSet;

    for name in [
        "sliding-holistic.json",
        "session-window.json",
        "window-join.json",
    ] {
        let spec = load(name, 20_000);
        let mut generator = OpGenerator::new(&spec).unwrap();
        let (mut ops, mut windows, mut elements) = (Vec::new(), HashSet::new(), 0u64);
        while generator.next_event(&mut ops) {
            for op in &ops {
                if let (Namespace::Window { .. }, OpKind::ValuePut(_) | OpKind::ListAdd(_)) =
                    (op.namespace, op.kind)
                {
                    windows.insert((op.key, op.namespace));
                    elements += 1;
                }
            }
        }
        let (counted, per_window) = describe(&spec).unwrap().windows.unwrap();
        assert_eq!(counted, windows.len() as u64, "{name}");
        assert_eq!(per_window, elements as f64 / windows.len() as f64, "{name}");
    }
}
