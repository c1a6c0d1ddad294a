//! The plain keyed model: each event draws one key and touches every declared state once.

use rand::distr::{Bernoulli, Distribution};
use rand::RngExt;

use crate::workload::generation::{Draws, OperatorModel};
use crate::workload::op::{Namespace, OpKind, StateId, StateOp};
use crate::workload::spec::StateSpec;

/// Cumulative thresholds of a state's per-event choice, precomputed from the spec.
#[derive(Clone, Copy, Debug)]
enum StatePlan {
    /// Value state: a get, then a put unless the event only reads.
    Value {
        /// Whether an event only reads: `random_bool(read_only_fraction)` made once (the same
        /// draws from the stream, without rebuilding the distribution per event).
        read_only: Bernoulli,
    },
    /// List state: a get below the first bound, a clear below the second, else an add.
    List {
        /// Upper bound of the gets.
        get_below: f64,
        /// Upper bound of the clears.
        clear_below: f64,
    },
    /// Map state: one op on a random user key.
    Map {
        /// User keys per key.
        user_keys: u64,
        /// Upper bounds of put, get, iterate, contains; remove takes the rest.
        bounds: [f64; 4],
    },
}

/// Value, list and map state touched per event as the spec's mixes say.
#[derive(Clone, Debug)]
pub(crate) struct KeyedMix {
    plans: Vec<StatePlan>,
    events: i64,
}

impl KeyedMix {
    /// The model of the plain keyed `states`.
    pub(crate) fn new(states: &[StateSpec]) -> KeyedMix {
        let plans = states
            .iter()
            .map(|s| match s {
                StateSpec::Value {
                    read_only_fraction, ..
                } => StatePlan::Value {
                    read_only: Bernoulli::new(*read_only_fraction)
                        .expect("a validated fraction is within [0, 1]"),
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
        KeyedMix { plans, events: 0 }
    }
}

impl OperatorModel for KeyedMix {
    /// One event per millisecond: the plain keyed model has no event time of its own.
    fn event_time(&self) -> i64 {
        self.events
    }

    /// Nothing is late without event time.
    fn dropped_late(&self) -> u64 {
        0
    }

    /// Draws one key and does each state's op on it, as the state's mix picks.
    #[inline]
    fn event(&mut self, draws: &mut Draws, _last: bool, out: &mut Vec<StateOp>) {
        self.events += 1;
        let key = draws.key();
        for (i, plan) in self.plans.iter().enumerate() {
            let op = |kind| StateOp {
                state: i as StateId,
                key,
                namespace: Namespace::Void,
                kind,
            };
            match *plan {
                StatePlan::Value { read_only } => {
                    out.push(op(OpKind::ValueGet));
                    // The put is pushed and then kept or dropped: no branch on the draw.
                    let writes = !read_only.sample(&mut draws.rng);
                    out.push(op(OpKind::ValuePut(draws.value_when(writes))));
                    out.truncate(out.len() - usize::from(!writes));
                }
                StatePlan::List {
                    get_below,
                    clear_below,
                } => {
                    let u: f64 = draws.rng.random();
                    if u < get_below {
                        out.push(op(OpKind::ListGet));
                    } else if u < clear_below {
                        out.push(op(OpKind::ListClear));
                    } else {
                        let v = draws.value();
                        out.push(op(OpKind::ListAdd(v)));
                    }
                }
                StatePlan::Map { user_keys, bounds } => {
                    let uk = draws.rng.random_range(0..user_keys);
                    let u: f64 = draws.rng.random();
                    let kind = if u < bounds[0] {
                        OpKind::MapPut(uk, draws.value())
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
    }
}
