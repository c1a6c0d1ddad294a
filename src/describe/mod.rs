//! `statebench workload describe`: what a workload does, before anyone runs it. The op stream is
//! generated and its state tracked by size ([`live::LiveState`], the heap backend's semantics
//! without its bytes) to measure the op mix, the keys and namespaces touched, how soon keys are
//! reused, and how large the live state grows over time.

mod live;
mod slots;

use std::fmt;
use std::sync::mpsc;

use anyhow::{anyhow, Result};
use hdrhistogram::Histogram;

use crate::workload::{Namespace, OpClass, OpGenerator, OpKind, StateId, StateOp, WorkloadSpec};
use live::LiveState;
use slots::{KeySet, LateSet, SlotKey, SlotTable};

/// Points of the live-state curve.
const STATE_SAMPLES: u64 = 10;

/// The live state after some events.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatePoint {
    /// Events applied.
    pub events: u64,
    /// Logical entries (values, non-empty lists, map entries, timers).
    pub entries: u64,
    /// Payload bytes of those entries.
    pub bytes: u64,
}

/// What a workload does.
#[derive(Clone, Debug)]
pub struct Description {
    /// Workload name.
    pub name: String,
    /// Events generated.
    pub events: u64,
    /// Ops generated.
    pub ops: u64,
    /// Ops per class, in report order (classes that occur).
    pub mix: Vec<(OpClass, u64)>,
    /// Distinct keys touched.
    pub distinct_keys: u64,
    /// Distinct (state, namespace) pairs touched, i.e. windows and the void namespace.
    pub distinct_namespaces: u64,
    /// Reuse distance (ops since the previous access to the same state entry): p50, p90, p99.
    pub reuse_distance: [u64; 3],
    /// Fraction of accesses that touch an entry for the first time (or the first time since it
    /// was cleared or deleted).
    pub first_touch_fraction: f64,
    /// Window models: windows that received elements, and mean elements per window.
    pub windows: Option<(u64, f64)>,
    /// Elements dropped as late.
    pub dropped_late: u64,
    /// Live state over time.
    pub state: Vec<StatePoint>,
}

/// Ops a batch carries from the generating thread to the describing one: a channel message per
/// few thousand ops costs nothing next to them.
const BATCH_OPS: usize = 4096;

/// Ops applied after the op whose slot is prefetched: enough to keep a few dozen cache misses in
/// flight, few enough that the prefetched lines are still in the cache when their ops come.
const LOOKAHEAD_OPS: usize = 32;

/// Consecutive events' ops, as the generating thread hands them over.
#[derive(Default)]
struct Batch {
    ops: Vec<StateOp>,
    /// Each event's op count and event time.
    events: Vec<(usize, i64)>,
}

/// Generates the workload's op stream and describes it. The generator runs on a thread of its
/// own, a batch of events ahead, so generating and tracking take turns on two cores instead of
/// one; every figure is the same as a single thread's.
pub fn describe(spec: &WorkloadSpec) -> Result<Description> {
    let mut generator = OpGenerator::new(spec)?;
    std::thread::scope(|scope| {
        let (full, batches) = mpsc::sync_channel::<Batch>(2);
        let (recycle, spent) = mpsc::channel::<Batch>();
        let generating = scope.spawn(move || {
            loop {
                let mut batch = spent.try_recv().unwrap_or_default();
                let more = fill(&mut generator, &mut batch);
                // A closed channel: the describing side stopped (on an error it returns).
                if full.send(batch).is_err() || !more {
                    break;
                }
            }
            generator.dropped_late()
        });
        let mut tally = Tally::new(spec)?;
        for batch in batches {
            tally.apply(&batch)?;
            // The generator may have finished and dropped its end.
            let _ = recycle.send(batch);
        }
        let dropped_late = generating
            .join()
            .map_err(|_| anyhow!("the op generator panicked"))?;
        Ok(tally.describe(spec, dropped_late))
    })
}

/// Refills `batch` with the next events' ops; false when the stream is over.
fn fill(generator: &mut OpGenerator, batch: &mut Batch) -> bool {
    batch.ops.clear();
    batch.events.clear();
    while batch.ops.len() < BATCH_OPS {
        let before = batch.ops.len();
        if !generator.append_event(&mut batch.ops) {
            return false;
        }
        batch
            .events
            .push((batch.ops.len() - before, generator.event_time()));
    }
    true
}

/// The figures so far.
struct Tally {
    live: LiveState,
    mix: [u64; OpClass::ALL.len()],
    /// The keys touched, the (state, namespace) pairs and the windows given elements: up to
    /// millions each, so in tables that can be prefetched.
    keys: KeySet,
    namespaces: SlotTable<SlotKey, ()>,
    /// The previous op's key and (state, namespace): an event's ops mostly share them, and a
    /// set lookup skipped is a cache miss saved.
    last_key: Option<u64>,
    last_namespace: Option<(StateId, Namespace)>,
    reuse: Histogram<u64>,
    first_touches: u64,
    ops: u64,
    windows: LateSet,
    window_elements: u64,
    events: u64,
    total_events: u64,
    sample_every: u64,
    state: Vec<StatePoint>,
}

impl Tally {
    fn new(spec: &WorkloadSpec) -> Result<Tally> {
        Ok(Tally {
            live: LiveState::new(spec.ttl),
            mix: [0; OpClass::ALL.len()],
            keys: KeySet::new(),
            namespaces: SlotTable::new(),
            last_key: None,
            last_namespace: None,
            reuse: Histogram::new(3)?,
            first_touches: 0,
            ops: 0,
            windows: LateSet::new(),
            window_elements: 0,
            events: 0,
            total_events: spec.events,
            sample_every: (spec.events / STATE_SAMPLES).max(1),
            state: Vec::new(),
        })
    }

    /// Applies a batch of events, each op's slot prefetched [`LOOKAHEAD_OPS`] ops ahead.
    fn apply(&mut self, batch: &Batch) -> Result<()> {
        let ops = &batch.ops;
        ops.iter()
            .take(LOOKAHEAD_OPS)
            .for_each(|op| self.prefetch(op));
        let mut at = 0;
        for &(n, event_time) in &batch.events {
            self.live.set_time(event_time);
            for i in at..at + n {
                if let Some(ahead) = ops.get(i + LOOKAHEAD_OPS) {
                    self.prefetch(ahead);
                }
                self.apply_op(&ops[i])?;
            }
            at += n;
            self.events += 1;
            if self.events.is_multiple_of(self.sample_every) || self.events == self.total_events {
                let (entries, bytes) = self.live.size();
                self.state.push(StatePoint {
                    events: self.events,
                    entries,
                    bytes,
                });
            }
        }
        Ok(())
    }

    /// Starts loading the table buckets `op` will touch.
    fn prefetch(&self, op: &StateOp) {
        self.live.prefetch(op);
        self.keys.prefetch(op.key);
        self.namespaces.prefetch(&SlotKey::namespace_of(op));
    }

    fn apply_op(&mut self, op: &StateOp) -> Result<()> {
        self.mix[op.kind.class().index()] += 1;
        if self.last_key != Some(op.key) {
            self.keys.insert(op.key);
            self.last_key = Some(op.key);
        }
        if self.last_namespace != Some((op.state, op.namespace)) {
            self.namespaces.bucket_of(SlotKey::namespace_of(op));
            self.last_namespace = Some((op.state, op.namespace));
        }
        let applied = self.live.apply(op, self.ops);
        match applied.previous {
            Some(previous) => self.reuse.record(self.ops - previous)?,
            None => self.first_touches += 1,
        }
        if gives_window_element(op) {
            // A slot given elements before is in a window already counted.
            if applied.first_element {
                self.windows.insert(SlotKey::window_of(op));
            }
            self.window_elements += 1;
        }
        self.ops += 1;
        Ok(())
    }

    fn describe(mut self, spec: &WorkloadSpec, dropped_late: u64) -> Description {
        let n = self.windows.len() as u64;
        let windows = (n > 0).then(|| (n, self.window_elements as f64 / n as f64));
        Description {
            name: spec.name.clone(),
            events: spec.events,
            ops: self.ops,
            mix: OpClass::ALL
                .iter()
                .zip(self.mix)
                .filter(|(_, n)| *n > 0)
                .map(|(c, n)| (*c, n))
                .collect(),
            distinct_keys: self.keys.len() as u64,
            distinct_namespaces: self.namespaces.len() as u64,
            reuse_distance: [0.5, 0.9, 0.99].map(|q| self.reuse.value_at_quantile(q)),
            first_touch_fraction: self.first_touches as f64 / self.ops.max(1) as f64,
            windows,
            dropped_late,
            state: self.state,
        }
    }
}

/// Whether `op` gives a window an element (a value put or list add in a window's namespace).
fn gives_window_element(op: &StateOp) -> bool {
    matches!(
        (op.namespace, op.kind),
        (
            Namespace::Window { .. },
            OpKind::ValuePut(_) | OpKind::ListAdd(_)
        )
    )
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "workload {}: {} events, {} ops ({:.2} per event)",
            self.name,
            self.events,
            self.ops,
            self.ops as f64 / self.events.max(1) as f64
        )?;
        writeln!(f, "\nop mix:")?;
        for (class, n) in &self.mix {
            writeln!(
                f,
                "  {:<16} {:>12}  {:>6.2}%",
                class.name(),
                n,
                100.0 * *n as f64 / self.ops.max(1) as f64
            )?;
        }
        writeln!(
            f,
            "\nkeys touched: {}; (state, namespace) pairs: {}",
            self.distinct_keys, self.distinct_namespaces
        )?;
        if let Some((windows, mean)) = self.windows {
            writeln!(
                f,
                "windows with elements: {windows}; elements per window: {mean:.1} on average"
            )?;
        }
        if self.dropped_late > 0 {
            writeln!(f, "late elements dropped: {}", self.dropped_late)?;
        }
        let [p50, p90, p99] = self.reuse_distance;
        writeln!(
            f,
            "reuse distance (ops since the same entry was last touched): p50 {p50}, p90 {p90}, p99 {p99}; first touches {:.1}% of ops",
            100.0 * self.first_touch_fraction
        )?;
        writeln!(f, "\nlive state over time:")?;
        writeln!(
            f,
            "  {:>12} {:>12} {:>14}",
            "events", "entries", "payload bytes"
        )?;
        for p in &self.state {
            writeln!(f, "  {:>12} {:>12} {:>14}", p.events, p.entries, p.bytes)?;
        }
        Ok(())
    }
}
