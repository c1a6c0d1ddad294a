//! The order a run's repeats run in: every cell's first repeat before any cell's second (rounds),
//! each round a shuffle of the cells seeded by the workload's seed, and no cell twice in a row
//! across a round boundary. A drift of the machine during the run (another process, a warming
//! disk, thermal throttling) then spreads over every cell instead of landing on the cells that
//! happened to run late, and the same workload gives the same order on every machine.

use crate::analysis::rng::SplitMix64;

/// Mixed into the workload's seed so the order does not share a stream with the op generator.
const ORDER_SALT: u64 = 0x6f72_6465_7273_6565;

/// One repeat of one cell in the run order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Index of the cell in the plan.
    pub cell: usize,
    /// Which repeat (from 1).
    pub repeat: u32,
}

/// The order of `repeats` repeats of `cells` cells, from `seed`.
pub fn run_order(cells: usize, repeats: u32, seed: u64) -> Vec<Slot> {
    let mut rng = SplitMix64::new(seed ^ ORDER_SALT);
    let mut order: Vec<Slot> = Vec::with_capacity(cells * repeats as usize);
    for repeat in 1..=repeats {
        let mut round: Vec<usize> = (0..cells).collect();
        rng.shuffle(&mut round);
        if round.len() > 1 && order.last().map(|s| s.cell) == Some(round[0]) {
            let other = 1 + rng.below(round.len() - 1);
            round.swap(0, other);
        }
        order.extend(round.into_iter().map(|cell| Slot { cell, repeat }));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_is_interleaved_shuffled_and_deterministic() {
        let order = run_order(14, 3, 42);
        assert_eq!(order.len(), 42);
        assert_eq!(order, run_order(14, 3, 42), "same seed, same order");
        assert_ne!(order, run_order(14, 3, 43), "another seed, another order");
        // Interleaved: round r holds every cell's r-th repeat.
        for (r, round) in order.chunks(14).enumerate() {
            let mut cells: Vec<usize> = round.iter().map(|s| s.cell).collect();
            assert!(round.iter().all(|s| s.repeat == r as u32 + 1));
            cells.sort_unstable();
            assert_eq!(cells, (0..14).collect::<Vec<_>>());
        }
        // No cell twice in a row, and shuffled: rounds differ from the plan and from each other.
        assert!(order.windows(2).all(|w| w[0].cell != w[1].cell));
        let rounds: Vec<Vec<usize>> = order
            .chunks(14)
            .map(|r| r.iter().map(|s| s.cell).collect())
            .collect();
        assert_ne!(rounds[0], (0..14).collect::<Vec<_>>());
        assert_ne!(rounds[0], rounds[1]);
        for seed in 0..200 {
            let order = run_order(2, 5, seed);
            assert!(
                order.windows(2).all(|w| w[0].cell != w[1].cell),
                "{order:?}"
            );
        }
        assert_eq!(run_order(1, 2, 7).len(), 2);
    }
}
