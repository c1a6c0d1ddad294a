//! The answer the report leads with: which cell to run, and why, as a Flink configuration.
//!
//! A cell qualifies when it checkpoints (a production job must) and its restore verified. The
//! fastest qualifying cell wins; the report also names the lowest-tail cell and flags near-ties,
//! since a difference inside run-to-run noise is no reason to pick one setting over another.

use crate::checkpoint::CheckpointMode;
use crate::config::{config_yaml, BackendType};
use crate::results::{CellResult, CellSetup, Results};

/// Throughput differences below this fraction are reported as a tie.
pub const TIE_FRACTION: f64 = 0.05;

/// The choice made from a run, as indices into `Results::cells`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recommendation {
    /// Fastest cell that checkpoints and whose restore verified.
    pub best: Option<usize>,
    /// Second fastest qualifying cell.
    pub runner_up: Option<usize>,
    /// Fastest cell without checkpoints: the price of checkpointing is measured against it.
    pub best_without_checkpoints: Option<usize>,
    /// Fastest qualifying RocksDB cell: the answer when the state outgrows the heap.
    pub best_rocksdb: Option<usize>,
    /// Qualifying cell with the lowest all-ops p99.9, when it is not `best`.
    pub lowest_tail: Option<usize>,
    /// Cells whose restore did not verify.
    pub unverified: Vec<usize>,
}

impl Recommendation {
    /// Whether the runner-up is within [`TIE_FRACTION`] of the best.
    pub fn is_near_tie(&self, results: &Results) -> bool {
        match (self.best, self.runner_up) {
            (Some(b), Some(r)) => {
                let (b, r) = (&results.cells[b], &results.cells[r]);
                b.ops_per_s > 0.0 && (b.ops_per_s - r.ops_per_s) / b.ops_per_s < TIE_FRACTION
            }
            _ => false,
        }
    }
}

fn qualifies(cell: &CellResult) -> bool {
    cell.setup.checkpoint_mode != CheckpointMode::None
        && cell.restore.as_ref().is_some_and(|r| r.verified)
}

/// Chooses from the cells of a run.
pub fn recommend(results: &Results) -> Recommendation {
    let cells = &results.cells;
    let by_throughput = |filter: &dyn Fn(&CellResult) -> bool| {
        let mut idx: Vec<usize> = (0..cells.len()).filter(|&i| filter(&cells[i])).collect();
        idx.sort_by(|&a, &b| cells[b].ops_per_s.total_cmp(&cells[a].ops_per_s));
        idx
    };
    let qualifying = by_throughput(&qualifies);
    let best = qualifying.first().copied();
    let lowest_tail = qualifying
        .iter()
        .copied()
        .min_by_key(|&i| cells[i].all_ops.p999_ns)
        .filter(|&i| Some(i) != best);
    Recommendation {
        best,
        runner_up: qualifying.get(1).copied(),
        best_rocksdb: qualifying
            .iter()
            .copied()
            .find(|&i| cells[i].setup.backend == BackendType::RocksDb),
        best_without_checkpoints: by_throughput(&|c| {
            c.setup.checkpoint_mode == CheckpointMode::None
        })
        .first()
        .copied(),
        lowest_tail,
        unverified: (0..cells.len())
            .filter(|&i| cells[i].restore.as_ref().is_some_and(|r| !r.verified))
            .collect(),
    }
}

/// The Flink configuration (a Flink 2.x config.yaml) that runs like this cell: every key the
/// cell ran with that Flink's defaults and its predefined profile do not imply.
pub fn flink_config(setup: &CellSetup) -> String {
    config_yaml(&setup.flink_keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{cell, results_with};
    use CheckpointMode::{Full, Incremental};

    #[test]
    fn the_fastest_verified_checkpointing_cell_wins() {
        let results = results_with(vec![
            cell("a-none", CheckpointMode::None, 900.0, 10, None),
            cell("b-full", Full, 500.0, 50, Some(true)),
            cell("c-inc", Incremental, 700.0, 80, Some(true)),
            cell("d-broken", Full, 800.0, 5, Some(false)),
        ]);
        let r = recommend(&results);
        assert_eq!(r.best, Some(2));
        assert_eq!(r.runner_up, Some(1));
        assert_eq!(r.best_without_checkpoints, Some(0));
        assert_eq!(r.lowest_tail, Some(1));
        assert_eq!(r.best_rocksdb, Some(2));
        assert_eq!(r.unverified, vec![3]);
        assert!(!r.is_near_tie(&results));
        let config = flink_config(&results.cells[2].setup);
        assert!(config.contains("execution.checkpointing.incremental: true"));
        assert!(config.contains("predefined-options: DEFAULT"));
    }

    #[test]
    fn no_qualifying_cell_means_no_pick() {
        let results = results_with(vec![
            cell("a-none", CheckpointMode::None, 900.0, 10, None),
            cell("d-broken", Full, 800.0, 5, Some(false)),
        ]);
        let r = recommend(&results);
        assert_eq!((r.best, r.lowest_tail), (None, None));
    }

    #[test]
    fn close_results_are_a_tie() {
        let results = results_with(vec![
            cell("x", Full, 1000.0, 10, Some(true)),
            cell("y", Full, 970.0, 10, Some(true)),
        ]);
        assert!(recommend(&results).is_near_tie(&results));
    }
}
