//! Turns a workload spec into its op stream, event by event.
//!
//! The stream depends only on the spec (seed included): the generator uses Xoshiro256++ seeded
//! through SplitMix64, both fixed algorithms, so the stream is the same on every machine.

use anyhow::Result;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use super::distribution::{KeyChooser, SizeChooser};
use super::op::{splitmix64, Namespace, OpKind, StateId, StateOp, ValueRef};
use super::spec::{StateSpec, WorkloadSpec};

/// Cumulative thresholds of a state's per-event choice, precomputed from the spec.
#[derive(Clone, Copy, Debug)]
enum StatePlan {
    Value {
        read_only: f64,
    },
    List {
        get_below: f64,
        clear_below: f64,
    },
    Map {
        user_keys: u64,
        /// Upper bounds of put, get, iterate, contains; remove takes the rest.
        bounds: [f64; 4],
    },
}

/// Generates the ops of a workload, one event at a time.
#[derive(Clone, Debug)]
pub struct OpGenerator {
    rng: Xoshiro256PlusPlus,
    keys: KeyChooser,
    sizes: SizeChooser,
    plans: Vec<StatePlan>,
    events: u64,
    next_event: u64,
    value_seed: u64,
    values_made: u64,
}

impl OpGenerator {
    /// A generator positioned before the first event of `spec`.
    pub fn new(spec: &WorkloadSpec) -> Result<OpGenerator> {
        let plans = spec
            .states
            .iter()
            .map(|s| match s {
                StateSpec::Value {
                    read_only_fraction, ..
                } => StatePlan::Value {
                    read_only: *read_only_fraction,
                },
                StateSpec::List {
                    get_fraction,
                    clear_fraction,
                    ..
                } => StatePlan::List {
                    get_below: *get_fraction,
                    clear_below: get_fraction + clear_fraction,
                },
                StateSpec::Map { user_keys, mix, .. } => {
                    let put = mix.put;
                    let get = put + mix.get;
                    let iterate = get + mix.iterate;
                    let contains = iterate + mix.contains;
                    StatePlan::Map {
                        user_keys: *user_keys,
                        bounds: [put, get, iterate, contains],
                    }
                }
            })
            .collect();
        let mut seed_state = spec.seed;
        Ok(OpGenerator {
            rng: Xoshiro256PlusPlus::seed_from_u64(spec.seed),
            keys: KeyChooser::new(&spec.keys)?,
            sizes: SizeChooser::new(&spec.value_size),
            plans,
            events: spec.events,
            next_event: 0,
            value_seed: splitmix64(&mut seed_state),
            values_made: 0,
        })
    }

    /// Index of the next event to be generated (= events generated so far).
    pub fn position(&self) -> u64 {
        self.next_event
    }

    /// Total number of events in the stream.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Replaces `out` with the ops of the next event; false when the stream is over.
    pub fn next_event(&mut self, out: &mut Vec<StateOp>) -> bool {
        out.clear();
        if self.next_event >= self.events {
            return false;
        }
        self.next_event += 1;
        let key = self.keys.sample(&mut self.rng);
        for i in 0..self.plans.len() {
            let state = i as StateId;
            let plan = self.plans[i];
            let op = |kind| StateOp {
                state,
                key,
                namespace: Namespace::Void,
                kind,
            };
            match plan {
                StatePlan::Value { read_only } => {
                    out.push(op(OpKind::ValueGet));
                    if !self.rng.random_bool(read_only) {
                        let v = self.value();
                        out.push(op(OpKind::ValuePut(v)));
                    }
                }
                StatePlan::List {
                    get_below,
                    clear_below,
                } => {
                    let u: f64 = self.rng.random();
                    if u < get_below {
                        out.push(op(OpKind::ListGet));
                    } else if u < clear_below {
                        out.push(op(OpKind::ListClear));
                    } else {
                        let v = self.value();
                        out.push(op(OpKind::ListAdd(v)));
                    }
                }
                StatePlan::Map { user_keys, bounds } => {
                    let uk = self.rng.random_range(0..user_keys);
                    let u: f64 = self.rng.random();
                    let kind = if u < bounds[0] {
                        OpKind::MapPut(uk, self.value())
                    } else if u < bounds[1] {
                        OpKind::MapGet(uk)
                    } else if u < bounds[2] {
                        OpKind::MapIterate
                    } else if u < bounds[3] {
                        OpKind::MapContains(uk)
                    } else {
                        OpKind::MapRemove(uk)
                    };
                    out.push(op(kind));
                }
            }
        }
        true
    }

    /// A fresh value: its size drawn from the spec, its bytes named by a unique tag.
    fn value(&mut self) -> ValueRef {
        let len = self.sizes.sample(&mut self.rng);
        let mut tag_state = self.value_seed ^ self.values_made;
        self.values_made += 1;
        ValueRef {
            tag: splitmix64(&mut tag_state),
            len,
        }
    }
}
