//! FxHash (rustc's) with a final mix: the hasher of the in-process tables that hold millions of
//! the workload's own keys (the generator models' bookkeeping, `workload describe`'s tallies),
//! looked up on every op, where SipHash's flood resistance buys nothing.

use std::hash::{BuildHasherDefault, Hasher};

/// One rotate, xor and multiply per word written; [`Hasher::finish`] mixes the state.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FxHasher(u64);

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

/// What `HashMap`/`HashSet` take to hash with [`FxHasher`].
pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;
