//! The random draws every model makes, from the one random stream of the workload.
//!
//! The stream depends only on the spec (seed included): every draw comes from one Xoshiro256++
//! seeded through SplitMix64, both fixed algorithms, so the stream is the same on every machine.

use anyhow::Result;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

use super::distribution::{KeyChooser, SizeChooser};
use crate::workload::op::{splitmix64, ValueRef};
use crate::workload::spec::WorkloadSpec;

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
    /// The draws of `spec`, positioned before its first event.
    pub(crate) fn new(spec: &WorkloadSpec) -> Result<Draws> {
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
    #[inline]
    pub(crate) fn key(&mut self) -> u64 {
        self.keys.sample(&mut self.rng)
    }

    /// A fresh value: its size drawn from the spec, its bytes named by a unique tag.
    #[inline]
    pub(crate) fn value(&mut self) -> ValueRef {
        let len = self.sizes.sample(&mut self.rng);
        self.value_of_len(len)
    }

    /// A fresh value when `wanted`; otherwise the value that would come next, with nothing drawn
    /// and no tag used up, so the stream goes on as if it was never asked for. A model pushes
    /// an op with it and keeps the op or not without branching on a random draw (a branch that
    /// goes either way at random is mispredicted half the time, which costs more than the op's
    /// generation). Only a size drawn from a distribution needs a branch.
    #[inline]
    pub(crate) fn value_when(&mut self, wanted: bool) -> ValueRef {
        let len = match self.sizes {
            SizeChooser::Fixed(n) => n,
            _ if wanted => self.sizes.sample(&mut self.rng),
            _ => 0,
        };
        let mut tag_state = self.value_seed ^ self.values_made;
        self.values_made += u64::from(wanted);
        ValueRef {
            tag: splitmix64(&mut tag_state),
            len,
        }
    }

    /// A fresh value of a given size (an accumulator, a serialized list), named by a unique tag.
    #[inline]
    pub(crate) fn value_of_len(&mut self, len: u32) -> ValueRef {
        let mut tag_state = self.value_seed ^ self.values_made;
        self.values_made += 1;
        ValueRef {
            tag: splitmix64(&mut tag_state),
            len,
        }
    }
}
