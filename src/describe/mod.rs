//! `statebench workload describe`: what a workload does, before anyone runs it. The op stream is
//! generated and its state tracked by size ([`live::LiveState`], the heap backend's semantics
//! without its bytes) to measure the op mix, the keys and namespaces touched, how soon keys are
//! reused, and how large the live state grows over time.

mod live;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use anyhow::Result;
use hdrhistogram::Histogram;

use crate::workload::{Namespace, OpClass, OpGenerator, OpKind, StateId, WorkloadSpec};
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

/// Generates the workload's op stream and describes it.
pub fn describe(spec: &WorkloadSpec) -> Result<Description> {
    let mut generator = OpGenerator::new(spec)?;
    let mut live = LiveState::new(spec.ttl);
    let mut ops = Vec::new();
    let mut mix = [0u64; OpClass::ALL.len()];
    let mut keys = HashSet::with_hasher(FxBuild::default());
    let mut namespaces = HashSet::with_hasher(FxBuild::default());
    let mut last_access: HashMap<(StateId, u64, Namespace, u64), u64, FxBuild> = HashMap::default();
    let mut reuse = Histogram::<u64>::new(3)?;
    let (mut first_touches, mut op_index) = (0u64, 0u64);
    let mut window_elements: HashMap<(u64, Namespace), u64, FxBuild> = HashMap::default();
    let sample_every = (spec.events / STATE_SAMPLES).max(1);
    let mut state = Vec::new();
    while generator.next_event(&mut ops) {
        live.set_time(generator.event_time());
        for op in &ops {
            mix[op.kind.class().index()] += 1;
            keys.insert(op.key);
            namespaces.insert((op.state, op.namespace));
            let user_key = match op.kind {
                OpKind::MapGet(uk)
                | OpKind::MapPut(uk, _)
                | OpKind::MapContains(uk)
                | OpKind::MapRemove(uk) => uk,
                OpKind::TimerRegister(t) | OpKind::TimerDelete(t) => t as u64,
                _ => u64::MAX,
            };
            let entry = (op.state, op.key, op.namespace, user_key);
            match last_access.insert(entry, op_index) {
                Some(previous) => reuse.record(op_index - previous)?,
                None => first_touches += 1,
            }
            // A cleared entry is gone from the state: the next access creates it afresh (and
            // the map stays the size of the live state, not of every window ever opened).
            if matches!(
                op.kind,
                OpKind::ValueClear
                    | OpKind::ListClear
                    | OpKind::MapRemove(_)
                    | OpKind::MapClear
                    | OpKind::TimerDelete(_)
            ) {
                last_access.remove(&entry);
            }
            if let (Namespace::Window { .. }, OpKind::ValuePut(_) | OpKind::ListAdd(_)) =
                (op.namespace, op.kind)
            {
                *window_elements.entry((op.key, op.namespace)).or_default() += 1;
            }
            live.apply(op);
            op_index += 1;
        }
        let done = generator.position();
        if done % sample_every == 0 || done == spec.events {
            let (entries, bytes) = live.size();
            state.push(StatePoint {
                events: done,
                entries,
                bytes,
            });
        }
    }
    let windows = (!window_elements.is_empty()).then(|| {
        let n = window_elements.len() as u64;
        (n, window_elements.values().sum::<u64>() as f64 / n as f64)
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
