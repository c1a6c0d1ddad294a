//! Which ops are timed. A clock read (about 10 ns here) beside a 20–40 ns heap op would take a
//! third of what it times and slow the cell it measures, so where reads are not small next to
//! an op, a seeded sample of the ops is timed instead of every one; every op is still applied
//! and counted, and throughput comes from all of them.
//!
//! The stride k (1 in k ops timed) is chosen from what the ops cost when timed one by one (the
//! median of [`CALIBRATION_OPS`] of them, warm-up first) and the clock's measured read cost, so that the
//! reads take at most [`READ_BUDGET`] of the ops' time ([`stride_for`]): RocksDB ops (about
//! 1 µs) get a stride of 1 to a few, heap ops one of tens. The sample is stratified: one op at a
//! uniformly drawn position in each block of k ops ([`OpSampler`]), so every op has the same
//! chance 1/k of being timed whatever its place, and a periodic op pattern (get, put, get, put)
//! cannot alias with the stride. The positions come from SplitMix64 seeded by the workload's
//! seed: the same ops are timed on every run with the same stride.

use crate::analysis::rng::SplitMix64;

/// The most of an op's time clock reads may take. Timing an op costs more than its two reads:
/// it ends the untimed stretch the backend was given in one call, and its event goes op by op
/// with dynamic calls. On the heap's ~60 ns ops the whole came to about three times the reads
/// (`cargo bench --bench overhead`: the heap cell 4 % faster at 1 % than at 2 %), so the
/// budget is kept at 1 %, not the 2 % the reads alone would suggest.
pub const READ_BUDGET: f64 = 0.01;
/// The widest stride: enough timed ops for percentiles even when ops cost nothing.
pub const MAX_STRIDE: u32 = 1024;
/// Ops timed one by one, warm-up first, before the stride is chosen.
pub const CALIBRATION_OPS: u64 = 16_384;
/// Mixed into the workload's seed for the sample's positions.
const SAMPLING_SALT: u64 = 0x7469_6d65_645f_6f70;

/// The stride at which clock reads take at most [`READ_BUDGET`] of the ops' time, for ops that
/// took `op_ns` (the median) when timed one by one (the one read per op included: the read that ends
/// one op starts the next) on a clock whose read costs `read_ns`. At stride 1 the reads take
/// `read_ns / op_ns`; at stride k > 1 a timed op carries two reads of its own (start and end),
/// `2 · read_ns / (k · (op_ns − read_ns))`.
pub fn stride_for(op_ns: f64, read_ns: f64) -> u32 {
    if op_ns.is_nan() || op_ns <= 0.0 || read_ns <= READ_BUDGET * op_ns {
        return 1;
    }
    let op = (op_ns - read_ns).max(1.0);
    let stride = (2.0 * read_ns / (READ_BUDGET * op)).ceil();
    (stride as u32).clamp(2, MAX_STRIDE)
}

/// Picks the ops to time: one at a seeded uniform position in each block of `stride` ops.
#[derive(Clone, Debug)]
pub struct OpSampler {
    stride: u32,
    /// Draws each block's timed position.
    rng: SplitMix64,
    /// Ops to leave untimed before the next timed one.
    skip: u32,
    /// Ops of the current block after its timed one.
    rest: u32,
}

impl OpSampler {
    /// Every op timed.
    pub fn every_op() -> OpSampler {
        OpSampler {
            stride: 1,
            rng: SplitMix64::new(0),
            skip: 0,
            rest: 0,
        }
    }

    /// 1 in `stride` ops timed, the positions drawn from `seed`.
    pub fn new(stride: u32, seed: u64) -> OpSampler {
        let mut sampler = OpSampler {
            stride: stride.max(1),
            rng: SplitMix64::new(seed ^ SAMPLING_SALT),
            skip: 0,
            rest: 0,
        };
        sampler.next_block();
        sampler
    }

    /// The stride.
    pub fn stride(&self) -> u32 {
        self.stride
    }

    /// Whether the next op is timed; called once per op, in order.
    #[inline(always)]
    pub fn timed(&mut self) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        if self.stride > 1 {
            self.next_block();
        }
        true
    }

    /// Ops before the next timed one: they can be applied without asking [`OpSampler::timed`]
    /// of each (none at stride 1).
    #[inline]
    pub fn untimed_ahead(&self) -> u32 {
        self.skip
    }

    /// Passes `n` ops, all before the next timed one (`n ≤ untimed_ahead()`), as `n` calls of
    /// [`OpSampler::timed`] would.
    #[inline]
    pub fn pass(&mut self, n: u32) {
        debug_assert!(
            n <= self.skip,
            "{n} ops passed, {} before a timed one",
            self.skip
        );
        self.skip -= n;
    }

    /// Draws the timed position of the next block: skip the rest of this block and the new
    /// block's ops before it.
    fn next_block(&mut self) {
        let position = self.rng.below(self.stride as usize) as u32;
        self.skip = self.rest + position;
        self.rest = self.stride - 1 - position;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_ops_are_timed_every_one_and_cheap_ops_sampled() {
        // RocksDB: 1 µs ops, 10 ns reads (1 %).
        assert_eq!(stride_for(1_000.0, 10.0), 1);
        // A heap op of 30 ns: reads would be a third of it.
        let heap = stride_for(30.0, 10.0);
        assert!((20..=200).contains(&heap), "{heap}");
        // Nothing but the read itself: the widest stride.
        assert_eq!(stride_for(20.0, 20.0), MAX_STRIDE);
        // The cheaper the op, the wider the stride.
        assert!(stride_for(60.0, 10.0) < heap);
        assert_eq!(stride_for(f64::NAN, 10.0), 1);
    }

    #[test]
    fn one_op_per_block_is_timed_at_a_seeded_position() {
        let picks = |seed| {
            let mut s = OpSampler::new(16, seed);
            (0..16 * 1000).filter(|_| s.timed()).count()
        };
        assert_eq!(picks(1), 1000);
        let positions = |seed| {
            let mut s = OpSampler::new(16, seed);
            (0..16 * 50u32).filter(|_| s.timed()).collect::<Vec<u32>>()
        };
        let mut s = OpSampler::new(16, 7);
        let timed: Vec<u32> = (0..16 * 50u32).filter(|_| s.timed()).collect();
        assert_eq!(timed, positions(7));
        assert_ne!(timed, positions(8));
        for (block, i) in timed.iter().enumerate() {
            assert_eq!(*i as usize / 16, block, "one timed op in block {block}");
        }
        // Not always the same place in the block.
        assert!(timed.iter().any(|i| i % 16 != timed[0] % 16));
    }

    /// A get, put, get, put stream at an even stride: both kinds are timed about equally often.
    #[test]
    fn a_periodic_pattern_does_not_alias() {
        let mut s = OpSampler::new(8, 3);
        let puts = (0..80_000u32).filter(|i| s.timed() && i % 2 == 1).count();
        assert!(
            (4_500..5_500).contains(&puts),
            "{puts} of 10000 timed ops were puts"
        );
    }

    #[test]
    fn stride_one_times_every_op() {
        let mut s = OpSampler::every_op();
        assert!((0..100).all(|_| s.timed()));
        let mut s = OpSampler::new(1, 9);
        assert!((0..100).all(|_| s.timed()));
    }
}
