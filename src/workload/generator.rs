//! Turns a workload spec into its op stream, event by event.
//!
//! The stream depends only on the spec (seed included): every draw comes from one Xoshiro256++
//! seeded through SplitMix64, both fixed algorithms, so the stream is the same on every machine.

use anyhow::Result;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

use super::distribution::{KeyChooser, SizeChooser};
use super::keyed::KeyedMix;
use super::op::{splitmix64, StateOp, ValueRef};
use super::spec::WorkloadSpec;
use super::stream::EventStream;
use super::window::WindowOperator;

/// The random draws every model makes: keys, value sizes, value tags.
#[derive(Clone, Debug)]
pub(super) struct Draws {
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
            sizes: SizeChooser::new(&spec.value_size),
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
        let mut tag_state = self.value_seed ^ self.values_made;
        self.values_made += 1;
        ValueRef {
            tag: splitmix64(&mut tag_state),
            len,
        }
    }
}

/// The operator model a workload runs.
#[derive(Clone, Debug)]
enum Model {
    Keyed(KeyedMix),
    Window(WindowOperator),
}

/// Generates the ops of a workload, one event at a time.
#[derive(Clone, Debug)]
pub struct OpGenerator {
    draws: Draws,
    model: Model,
    events: u64,
    next_event: u64,
}

impl OpGenerator {
    /// A generator positioned before the first event of `spec`.
    pub fn new(spec: &WorkloadSpec) -> Result<OpGenerator> {
        let model = match (&spec.operator, &spec.stream) {
            (Some(op), Some(stream)) => {
                Model::Window(WindowOperator::new(op, EventStream::new(stream)))
            }
            _ => Model::Keyed(KeyedMix::new(&spec.states)),
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
        match &mut self.model {
            Model::Keyed(m) => m.event(&mut self.draws, out),
            Model::Window(m) => m.event(&mut self.draws, last, out),
        }
        true
    }

    /// Event time of the last event generated, ms: its timestamp for models on an event-time
    /// stream, its position for the plain keyed model (one event per millisecond).
    pub fn event_time(&self) -> i64 {
        match &self.model {
            Model::Keyed(_) => self.next_event as i64,
            Model::Window(m) => m.event_time(),
        }
    }

    /// Events the operator dropped as too late so far (window models).
    pub fn dropped_late(&self) -> u64 {
        match &self.model {
            Model::Keyed(_) => 0,
            Model::Window(m) => m.dropped_late(),
        }
    }
}
