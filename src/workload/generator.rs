//! Turns a workload spec into its op stream, event by event.
//!
//! The stream depends only on the spec (seed included): every draw comes from one Xoshiro256++
//! seeded through SplitMix64, both fixed algorithms, so the stream is the same on every machine.

use anyhow::{bail, Result};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

use super::generation::distribution::{KeyChooser, SizeChooser};
use super::generation::stream::EventStream;
use super::models::dedup::Dedup;
use super::models::join::IntervalJoin;
use super::models::keyed::{ContinuousAggregation, KeyedMix};
use super::models::session::SessionWindows;
use super::models::window::WindowOperator;
use super::models::ycsb::Ycsb;
use super::op::{splitmix64, StateOp, ValueRef};
use super::spec::OperatorSpec;
use super::spec::WorkloadSpec;

/// The random draws every model makes: keys, value sizes, value tags.
#[derive(Clone, Debug)]
pub(crate) struct Draws {
    /// The one random stream of the workload.
    pub rng: Xoshiro256PlusPlus,
    keys: KeyChooser,
    sizes: SizeChooser,
    value_seed: u64,
    values_made: u64,
}

impl Draws {
    fn new(spec: &WorkloadSpec) -> Result<Draws> {
        let mut seed_state = spec.seed;
        Ok(Draws {
            rng: Xoshiro256PlusPlus::seed_from_u64(spec.seed),
            keys: KeyChooser::new(&spec.keys)?,
            sizes: SizeChooser::new(&spec.value_size)?,
            value_seed: splitmix64(&mut seed_state),
            values_made: 0,
        })
    }

    /// Draws a key.
    pub fn key(&mut self) -> u64 {
        self.keys.sample(&mut self.rng)
    }

    /// A fresh value: its size drawn from the spec, its bytes named by a unique tag.
    pub fn value(&mut self) -> ValueRef {
        let len = self.sizes.sample(&mut self.rng);
        self.value_of_len(len)
    }

    /// A fresh value of a given size (an accumulator, a serialized list), named by a unique tag.
    pub fn value_of_len(&mut self, len: u32) -> ValueRef {
        let mut tag_state = self.value_seed ^ self.values_made;
        self.values_made += 1;
        ValueRef {
            tag: splitmix64(&mut tag_state),
            len,
        }
    }
}

/// An operator model: turns the workload's events into the state ops its Flink operator issues.
pub(crate) trait OperatorModel: std::fmt::Debug + Send {
    /// Appends the ops of the next event; `last` marks the end of a bounded input, where the
    /// final watermark fires whatever is pending.
    fn event(&mut self, draws: &mut Draws, last: bool, out: &mut Vec<StateOp>);

    /// Event time of the last event, ms.
    fn event_time(&self) -> i64;

    /// Elements dropped as late so far.
    fn dropped_late(&self) -> u64 {
        0
    }
}

/// Generates the ops of a workload, one event at a time.
#[derive(Debug)]
pub struct OpGenerator {
    draws: Draws,
    model: Box<dyn OperatorModel>,
    events: u64,
    next_event: u64,
}

impl OpGenerator {
    /// A generator positioned before the first event of `spec`.
    pub fn new(spec: &WorkloadSpec) -> Result<OpGenerator> {
        let model: Box<dyn OperatorModel> = match (&spec.operator, &spec.stream) {
            (None, _) => Box::new(KeyedMix::new(&spec.states)),
            (Some(op), Some(stream)) => {
                let stream = EventStream::new(stream);
                match op {
                    OperatorSpec::SessionWindow {
                        gap_ms,
                        aggregation,
                        allowed_lateness_ms,
                    } => Box::new(SessionWindows::new(
                        *gap_ms,
                        *aggregation,
                        *allowed_lateness_ms,
                        stream,
                    )),
                    OperatorSpec::ContinuousAggregation => {
                        Box::new(ContinuousAggregation::new(stream))
                    }
                    OperatorSpec::IntervalJoin {
                        lower_bound_ms,
                        upper_bound_ms,
                        left_fraction,
                    } => Box::new(IntervalJoin::new(
                        *lower_bound_ms,
                        *upper_bound_ms,
                        *left_fraction,
                        stream,
                    )),
                    OperatorSpec::Dedup {
                        state,
                        users,
                        period_ms,
                    } => Box::new(Dedup::new(*state, users, *period_ms, stream)?),
                    OperatorSpec::Ycsb {
                        workload,
                        fields,
                        max_scan_length,
                    } => Box::new(Ycsb::new(
                        *workload,
                        *fields,
                        *max_scan_length,
                        spec.keys.count,
                        stream,
                    )),
                    fixed => match fixed.fixed_window() {
                        Some(window) => Box::new(WindowOperator::new(window, stream)),
                        None => bail!("operator {fixed:?} has no model"),
                    },
                }
            }
            (Some(_), None) => bail!("an operator model needs an event-time `stream`"),
        };
        Ok(OpGenerator {
            draws: Draws::new(spec)?,
            model,
            events: spec.events,
            next_event: 0,
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

    /// Replaces `out` with the ops of the next event; false when the stream is over. The last
    /// event also carries what the end of input causes (windows firing on the final watermark).
    pub fn next_event(&mut self, out: &mut Vec<StateOp>) -> bool {
        out.clear();
        if self.next_event >= self.events {
            return false;
        }
        self.next_event += 1;
        let last = self.next_event == self.events;
        self.model.event(&mut self.draws, last, out);
        true
    }

    /// Event time of the last event generated, ms: its timestamp for models on an event-time
    /// stream, its position for the plain keyed model (one event per millisecond).
    pub fn event_time(&self) -> i64 {
        self.model.event_time()
    }

    /// Events the operator dropped as too late so far (window models).
    pub fn dropped_late(&self) -> u64 {
        self.model.dropped_late()
    }
}
