//! `statebench workload describe`: what a workload does, before anyone runs it. The op stream is
//! generated and its state tracked by size ([`live::LiveState`], the heap backend's semantics
//! without its bytes) to measure the op mix, the keys and namespaces touched, how soon keys are
//! reused, and how large the live state grows over time.

mod live;
mod slots;

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use anyhow::Result;
use hdrhistogram::Histogram;

use crate::workload::{Namespace, OpClass, OpGenerator, OpKind, StateOp, WorkloadSpec};
use live::LiveState;

/// Points of the live-state curve.
const STATE_SAMPLES: u64 = 10;

/// FxHash (rustc's): one rotate, xor and multiply per word. The maps here hold millions of
/// entries looked up on every op, where SipHash's flood resistance buys nothing: the keys are
/// the workload's own.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    /// FxHash's state with a final mix (MurmurHash3's fmix64): the state's low bits depend only
    /// on the low bits of what was written, and hashbrown picks buckets by the low bits, so
    /// window timestamps that are multiples of a slide collided into long probe chains.
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

type FxBuild = BuildHasherDefault<FxHasher>;

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

/// Ops generated ahead of the one being applied, their slots prefetched: enough to keep a few
/// dozen cache misses in flight, few enough that the prefetched lines are still in the cache
/// when their ops come.
const LOOKAHEAD_OPS: usize = 32;

/// Events generated but not yet applied.
#[derive(Default)]
struct Lookahead {
    /// The ops of those events (and some applied ones, drained now and then).
    ops: Vec<StateOp>,
    /// Ops of `ops` applied.
    applied: usize,
    /// Each pending event's op count and event time.
    events: VecDeque<(usize, i64)>,
}

/// Generates the workload's op stream and describes it.
pub fn describe(spec: &WorkloadSpec) -> Result<Description> {
    let mut generator = OpGenerator::new(spec)?;
    let mut live = LiveState::new(spec.ttl);
    let mut mix = [0u64; OpClass::ALL.len()];
    let mut keys = HashSet::with_hasher(FxBuild::default());
    let mut namespaces = HashSet::with_hasher(FxBuild::default());
    // The previous op's key and (state, namespace): an event's ops mostly share them, and a
    // set lookup skipped is a cache miss saved.
    let (mut last_key, mut last_namespace) = (None, None);
    let mut reuse = Histogram::<u64>::new(3)?;
    let (mut first_touches, mut op_index) = (0u64, 0u64);
    let mut windows = HashSet::with_hasher(FxBuild::default());
    let mut window_elements = 0u64;
    let sample_every = (spec.events / STATE_SAMPLES).max(1);
    let (mut state, mut applied_events) = (Vec::new(), 0u64);
    // Events are generated ahead of the one applied, their ops' slots prefetched.
    let mut ahead = Lookahead::default();
    loop {
        while ahead.ops.len() - ahead.applied < LOOKAHEAD_OPS {
            let before = ahead.ops.len();
            if !generator.append_event(&mut ahead.ops) {
                break;
            }
            ahead.ops[before..].iter().for_each(|op| live.prefetch(op));
            let event = (ahead.ops.len() - before, generator.event_time());
            ahead.events.push_back(event);
        }
        let Some((n, event_time)) = ahead.events.pop_front() else {
            break;
        };
        live.set_time(event_time);
        let (from, to) = (ahead.applied, ahead.applied + n);
        for op in &ahead.ops[from..to] {
            mix[op.kind.class().index()] += 1;
            if last_key != Some(op.key) {
                keys.insert(op.key);
                last_key = Some(op.key);
            }
            if last_namespace != Some((op.state, op.namespace)) {
                namespaces.insert((op.state, op.namespace));
                last_namespace = Some((op.state, op.namespace));
            }
            let applied = live.apply(op, op_index);
            match applied.previous {
                Some(previous) => reuse.record(op_index - previous)?,
                None => first_touches += 1,
            }
            if let (Namespace::Window { .. }, OpKind::ValuePut(_) | OpKind::ListAdd(_)) =
                (op.namespace, op.kind)
            {
                // A slot given elements before is in a window already counted.
                if applied.first_element {
                    windows.insert((op.key, op.namespace));
                }
                window_elements += 1;
            }
            op_index += 1;
        }
        ahead.applied = to;
        if ahead.applied >= 4 * LOOKAHEAD_OPS {
            ahead.ops.drain(..ahead.applied);
            ahead.applied = 0;
        }
        applied_events += 1;
        if applied_events % sample_every == 0 || applied_events == spec.events {
            let (entries, bytes) = live.size();
            state.push(StatePoint {
                events: applied_events,
                entries,
                bytes,
            });
        }
    }
    let windows = (!windows.is_empty()).then(|| {
        let n = windows.len() as u64;
        (n, window_elements as f64 / n as f64)
    });
    Ok(Description {
        name: spec.name.clone(),
        events: spec.events,
        ops: op_index,
        mix: OpClass::ALL
            .iter()
            .zip(mix)
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| (*c, n))
            .collect(),
        distinct_keys: keys.len() as u64,
        distinct_namespaces: namespaces.len() as u64,
        reuse_distance: [0.5, 0.9, 0.99].map(|q| reuse.value_at_quantile(q)),
        first_touch_fraction: first_touches as f64 / op_index.max(1) as f64,
        windows,
        dropped_late: generator.dropped_late(),
        state,
    })
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
