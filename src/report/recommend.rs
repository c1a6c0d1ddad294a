//! The answer the report leads with: which cell to run, how sure the run is of it, and why, as a
//! Flink configuration.
//!
//! A cell is eligible when it checkpoints (a production job must: cells without checkpoints are
//! the baseline the price of checkpointing is measured against, never the answer), every restore
//! of every repeat verified, and it keeps the user's constraints (a cell that breaks one is ruled
//! out with the reason). Every comparison below is a ratio with its 95% interval, and a
//! difference counts only when that interval lies wholly beyond 1 ± the practical margin
//! ([`PRACTICAL_MARGIN`], 10%): beyond the noise *and* large enough to act on. Among the
//! eligible cells the fastest by median throughput leads; every cell whose throughput is not
//! below it by such a difference is tied with it. A single leader wins on throughput. Tied cells
//! are told apart by the next criteria in turn — mean checkpoint duration, then memory footprint
//! (peak resident memory), then recovery time — each dropping the cells worse than the best by
//! such a difference, and deciding when one cell is left; cells still tied after all three get
//! the one closest to Flink's defaults (first in the matrix's order: heap before RocksDB,
//! DEFAULT before the other profiles, full before incremental), since nothing measured argues
//! for moving away from them. That keeps the answer the same from one run to the next when the
//! run cannot tell the cells apart by a margin worth acting on.

use std::fmt;

use crate::analysis::bootstrap::{ratio, Repeats};
use crate::analysis::{metric, recovery_ms, seed_for, throughput_ratio, PRACTICAL_MARGIN};
use crate::checkpoint::CheckpointMode;
use crate::config::{config_yaml, BackendType};
use crate::results::{Analysis, CellResult, CellSetup, Estimate, RepeatRecord, Results};

use super::format::{bytes, latency, millis};

/// What decided the pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Criterion {
    /// Faster than every other eligible cell beyond the noise and the margin.
    Throughput,
    /// Tied on throughput; the shortest checkpoints beyond the noise and the margin.
    CheckpointDuration,
    /// Tied on throughput and checkpoints; the least memory beyond the noise and the margin.
    Footprint,
    /// Tied on all of those; the fastest recovery beyond the noise and the margin.
    RecoveryTime,
    /// Tied on everything measured: the cell closest to Flink's defaults.
    Defaults,
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Criterion::Throughput => "throughput",
            Criterion::CheckpointDuration => "the shortest checkpoints",
            Criterion::Footprint => "the smallest memory footprint",
            Criterion::RecoveryTime => "the fastest recovery",
            Criterion::Defaults => "being closest to Flink's defaults",
        })
    }
}

/// A metric of a repeat, lower is better.
type Lower = fn(&RepeatRecord) -> Option<f64>;

/// The tie-breaking criteria in order, with the metric each compares.
const TIE_BREAKERS: [(Criterion, Lower); 3] = [
    (Criterion::CheckpointDuration, |r| r.mean_checkpoint_ms),
    (Criterion::Footprint, |r| r.peak_rss_bytes.map(|b| b as f64)),
    (Criterion::RecoveryTime, recovery_ms),
];

/// A pick among some cells.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Choice {
    /// The cell picked.
    pub best: Option<usize>,
    /// The fastest of the cells by median throughput.
    pub fastest: Option<usize>,
    /// The cells statistically tied with the fastest on throughput (the fastest among them), in
    /// the matrix's order.
    pub tied: Vec<usize>,
    /// What decided.
    pub decided_by: Option<Criterion>,
    /// When throughput decided: the second fastest cell, and the best's throughput over its.
    pub runner_up: Option<(usize, Estimate)>,
}

/// The choice made from a run, as indices into `Results::cells`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recommendation {
    /// The pick among every eligible cell.
    pub choice: Choice,
    /// The pick among the eligible RocksDB cells: the answer when the state outgrows the heap.
    pub rocksdb: Choice,
    /// Fastest cell without checkpoints: the price of checkpointing is measured against it.
    pub best_without_checkpoints: Option<usize>,
    /// Eligible cell with the lowest median all-ops p99.9, when it is not the pick.
    pub lowest_tail: Option<usize>,
    /// Cells some restore of which did not verify.
    pub unverified: Vec<usize>,
    /// Cells that break a constraint, with the reason.
    pub ruled_out: Vec<(usize, String)>,
}

impl Recommendation {
    /// The pick.
    pub fn best(&self) -> Option<usize> {
        self.choice.best
    }
}

/// Whether every restore of every repeat of `cell` verified and it took checkpoints.
fn qualifies(cell: &CellResult) -> bool {
    cell.setup.checkpoint_mode != CheckpointMode::None
        && cell.restore.as_ref().is_some_and(|r| r.verified)
        && cell.repeats.iter().all(|r| r.verified != Some(false))
}

/// Chooses from the cells of a run with its analysis and constraints.
pub fn recommend(results: &Results, analysis: &Analysis) -> Recommendation {
    let cells = &results.cells;
    let ruled_out: Vec<(usize, String)> = (0..cells.len())
        .filter_map(|i| breaks(results, analysis, i).map(|why| (i, why)))
        .collect();
    let eligible: Vec<usize> = (0..cells.len())
        .filter(|&i| qualifies(&cells[i]) && !ruled_out.iter().any(|(j, _)| *j == i))
        .collect();
    let choice = choose(results, analysis, &eligible);
    let rocksdb: Vec<usize> = eligible
        .iter()
        .copied()
        .filter(|&i| cells[i].setup.backend == BackendType::RocksDb)
        .collect();
    let speed = |i: usize| analysis.cells[i].ops_per_s.median;
    Recommendation {
        rocksdb: choose(results, analysis, &rocksdb),
        best_without_checkpoints: (0..cells.len())
            .filter(|&i| cells[i].setup.checkpoint_mode == CheckpointMode::None)
            .max_by(|&a, &b| speed(a).total_cmp(&speed(b))),
        lowest_tail: eligible
            .iter()
            .copied()
            .min_by(|&a, &b| {
                analysis.cells[a]
                    .p999_ns
                    .median
                    .total_cmp(&analysis.cells[b].p999_ns.median)
            })
            .filter(|&i| Some(i) != choice.best),
        choice,
        unverified: (0..cells.len())
            .filter(|&i| {
                cells[i].restore.as_ref().is_some_and(|r| !r.verified)
                    || cells[i].repeats.iter().any(|r| r.verified == Some(false))
            })
            .collect(),
        ruled_out,
    }
}

/// Picks among `candidates` (indices in the matrix's order).
fn choose(results: &Results, analysis: &Analysis, candidates: &[usize]) -> Choice {
    let speed = |i: usize| analysis.cells[i].ops_per_s.median;
    let Some(fastest) = candidates
        .iter()
        .copied()
        .max_by(|&a, &b| speed(a).total_cmp(&speed(b)))
    else {
        return Choice::default();
    };
    let tied: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| {
            i == fastest || !throughput_ratio(results, i, fastest).beyond(PRACTICAL_MARGIN)
        })
        .collect();
    if tied.len() == 1 {
        let runner_up = candidates
            .iter()
            .copied()
            .filter(|&i| i != fastest)
            .max_by(|&a, &b| speed(a).total_cmp(&speed(b)))
            .map(|r| (r, throughput_ratio(results, fastest, r)));
        return Choice {
            best: Some(fastest),
            fastest: Some(fastest),
            tied,
            decided_by: Some(Criterion::Throughput),
            runner_up,
        };
    }
    let mut remaining = tied.clone();
    for (criterion, value) in TIE_BREAKERS {
        let metrics: Option<Vec<Repeats>> = remaining
            .iter()
            .map(|&i| metric(&results.cells[i], value))
            .collect();
        let Some(metrics) = metrics else {
            continue;
        };
        let lowest = (0..remaining.len())
            .min_by(|&a, &b| metrics[a].median().total_cmp(&metrics[b].median()))
            .unwrap_or(0);
        let seed = |k: usize| {
            let (a, b) = (
                &results.cells[remaining[k]].id,
                &results.cells[remaining[lowest]].id,
            );
            seed_for(results.workload.seed, &format!("{a}/{b}/{criterion:?}"))
        };
        let kept: Vec<usize> = (0..remaining.len())
            .filter(|&k| {
                k == lowest
                    || !ratio(&metrics[k], &metrics[lowest], seed(k)).beyond(PRACTICAL_MARGIN)
            })
            .map(|k| remaining[k])
            .collect();
        if kept.len() == 1 {
            return Choice {
                best: Some(kept[0]),
                fastest: Some(fastest),
                tied,
                decided_by: Some(criterion),
                runner_up: None,
            };
        }
        remaining = kept;
    }
    Choice {
        best: remaining.first().copied(),
        fastest: Some(fastest),
        tied,
        decided_by: Some(Criterion::Defaults),
        runner_up: None,
    }
}

/// Why cell `i` breaks the run's constraints, if it does (the first broken one).
fn breaks(results: &Results, analysis: &Analysis, i: usize) -> Option<String> {
    let c = &results.constraints;
    let cell = &results.cells[i];
    let stats = &analysis.cells[i];
    let n = stats.repeats;
    let of = |e: &Estimate, show: &dyn Fn(f64) -> String| {
        format!(
            "{} (median of {n} repeats, 95% CI {}–{})",
            show(e.median),
            show(e.low),
            show(e.high)
        )
    };
    if let (Some(budget), BackendType::HashMap) = (c.heap_budget_bytes, cell.setup.backend) {
        if let Some(rss) = stats.peak_rss_bytes.filter(|e| e.median > budget as f64) {
            return Some(format!(
                "its state needs {} of memory, more than the heap budget of {} (--heap-budget); \
                 the heap backend keeps all state as objects on the JVM heap, where it takes \
                 more room than the {} measured here",
                of(&rss, &|v| bytes(v as u64)),
                bytes(budget),
                bytes(rss.median as u64)
            ));
        }
    }
    if let Some(limit) = c.p99_ns {
        if stats.p99_ns.median > limit as f64 {
            return Some(format!(
                "its all-ops p99 is {}, above --p99 {}",
                of(&stats.p99_ns, &latency),
                latency(limit as f64)
            ));
        }
    }
    if let (Some(limit), Some(max)) = (c.max_checkpoint_ms, &stats.max_checkpoint_ms) {
        if max.median > limit {
            return Some(format!(
                "its longest checkpoint took {}, above --max-checkpoint-duration {}",
                of(max, &millis),
                millis(limit)
            ));
        }
    }
    if let (Some(limit), Some(recovery)) = (c.max_recovery_ms, &stats.recovery_ms) {
        if recovery.median > limit {
            return Some(format!(
                "its recovery (restore of the final checkpoint) took {}, above \
                 --max-recovery-time {}",
                of(recovery, &millis),
                millis(limit)
            ));
        }
    }
    None
}

/// The Flink configuration (a Flink 2.x config.yaml) that runs like this cell: every key the
/// cell ran with that Flink's defaults and its predefined profile do not imply.
pub fn flink_config(setup: &CellSetup) -> String {
    config_yaml(&setup.flink_keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze;
    use crate::report::tests::{cell, results_with};
    use crate::results::{CellResult, Constraints};
    use CheckpointMode::{Full, Incremental};

    /// `cell` measured in three repeats at `ops` × each factor, with checkpoints of
    /// `checkpoint_ms`, peak memory `rss` and restores taking `restore_ms`.
    fn repeated(
        id: &str,
        mode: CheckpointMode,
        ops: [f64; 3],
        checkpoint_ms: f64,
        rss: u64,
    ) -> CellResult {
        let mut c = cell(
            id,
            mode,
            ops[1],
            100,
            (mode != CheckpointMode::None).then_some(true),
        );
        c.repeats = ops
            .iter()
            .enumerate()
            .map(|(k, &o)| RepeatRecord {
                repeat: k as u32 + 1,
                ops_per_s: o,
                events_per_s: o,
                p99_ns: 50_000 + 1000 * k as u64,
                mean_checkpoint_ms: (mode != CheckpointMode::None)
                    .then_some(checkpoint_ms * (1.0 + 0.01 * k as f64)),
                max_checkpoint_ms: (mode != CheckpointMode::None).then_some(checkpoint_ms * 2.0),
                restore_ms: (mode != CheckpointMode::None).then_some(30.0),
                peak_rss_bytes: Some(rss),
                verified: (mode != CheckpointMode::None).then_some(true),
                ..RepeatRecord::default()
            })
            .collect();
        c
    }

    fn recommend_all(results: &Results) -> Recommendation {
        recommend(results, &analyze(results))
    }

    #[test]
    fn a_cell_ahead_beyond_the_noise_wins_on_throughput() {
        let results = results_with(vec![
            repeated(
                "a-none",
                CheckpointMode::None,
                [900.0, 910.0, 905.0],
                0.0,
                1,
            ),
            repeated("b-full", Full, [500.0, 510.0, 505.0], 40.0, 1),
            repeated("c-inc", Incremental, [700.0, 710.0, 705.0], 40.0, 1),
        ]);
        let r = recommend_all(&results);
        assert_eq!(r.best(), Some(2));
        assert_eq!(r.choice.decided_by, Some(Criterion::Throughput));
        let (runner, lead) = r.choice.runner_up.unwrap();
        assert_eq!(runner, 1);
        assert!(lead.low > 1.3, "{lead:?}");
        assert_eq!(r.best_without_checkpoints, Some(0));
        let config = flink_config(&results.cells[2].setup);
        assert!(config.contains("execution.checkpointing.incremental: true"));
    }

    #[test]
    fn tied_cells_are_told_apart_by_checkpoint_duration_then_defaults() {
        // b and c overlap on throughput; c's checkpoints are clearly shorter.
        let results = results_with(vec![
            repeated("b-full", Full, [700.0, 760.0, 730.0], 80.0, 1 << 20),
            repeated("c-inc", Incremental, [720.0, 750.0, 690.0], 20.0, 1 << 20),
        ]);
        let r = recommend_all(&results);
        assert_eq!(r.choice.tied, vec![0, 1]);
        assert_eq!(r.best(), Some(1));
        assert_eq!(r.choice.decided_by, Some(Criterion::CheckpointDuration));
        // Tied on everything: the first in the matrix's order, whichever is faster.
        let results = results_with(vec![
            repeated("b-full", Full, [700.0, 740.0, 720.0], 40.0, 1 << 20),
            repeated("c-inc", Incremental, [710.0, 750.0, 730.0], 40.0, 1 << 20),
        ]);
        let r = recommend_all(&results);
        assert_eq!(r.choice.fastest, Some(1));
        assert_eq!(
            (r.best(), r.choice.decided_by),
            (Some(0), Some(Criterion::Defaults))
        );
    }

    #[test]
    fn a_lead_beyond_the_noise_but_within_the_margin_is_a_tie() {
        // c is 5% faster than b in every repeat: beyond the noise, inside the 10% margin, so
        // the defaults decide; at 30% faster, c wins on throughput.
        let pair = |faster: f64| {
            let ops = [1000.0, 1002.0, 1004.0];
            results_with(vec![
                repeated("b-full", Full, ops, 40.0, 1 << 20),
                repeated("c-inc", Incremental, ops.map(|o| o * faster), 40.0, 1 << 20),
            ])
        };
        let tie = pair(1.05);
        assert!(
            !throughput_ratio(&tie, 1, 0).contains(1.0),
            "beyond the noise"
        );
        let r = recommend_all(&tie);
        assert_eq!(r.choice.fastest, Some(1));
        assert_eq!(
            (r.best(), r.choice.decided_by),
            (Some(0), Some(Criterion::Defaults))
        );
        let r = recommend_all(&pair(1.3));
        assert_eq!(
            (r.best(), r.choice.decided_by),
            (Some(1), Some(Criterion::Throughput))
        );
    }

    #[test]
    fn constraints_rule_cells_out_with_the_reason() {
        let mut heap = repeated(
            "hashmap-full",
            Full,
            [2000.0, 2010.0, 2005.0],
            10.0,
            3 << 30,
        );
        heap.setup =
            crate::report::tests::planned(crate::backend::BackendConfig::HashMap, Full).setup;
        let mut results = results_with(vec![
            heap,
            repeated("rocks-full", Full, [700.0, 710.0, 705.0], 400.0, 1 << 30),
        ]);
        assert_eq!(recommend_all(&results).best(), Some(0));
        results.constraints = Constraints {
            heap_budget_bytes: Some(1 << 30),
            ..Constraints::default()
        };
        let r = recommend_all(&results);
        assert_eq!(r.best(), Some(1));
        let (out, why) = &r.ruled_out[0];
        assert_eq!(*out, 0);
        assert!(
            why.contains("3.00 GiB") && why.contains("heap budget of 1.00 GiB"),
            "{why}"
        );
        results.constraints = Constraints {
            max_checkpoint_ms: Some(100.0),
            p99_ns: Some(1_000_000),
            ..Constraints::default()
        };
        let r = recommend_all(&results);
        assert_eq!(r.best(), Some(0));
        assert!(
            r.ruled_out[0]
                .1
                .contains("--max-checkpoint-duration 100 ms"),
            "{:?}",
            r.ruled_out
        );
        results.constraints.p99_ns = Some(10_000);
        let r = recommend_all(&results);
        assert_eq!(r.best(), None, "both above --p99");
        assert!(r
            .ruled_out
            .iter()
            .all(|(_, why)| why.contains("above --p99 10.0 µs")));
    }

    #[test]
    fn no_qualifying_cell_means_no_pick() {
        let results = results_with(vec![
            repeated(
                "a-none",
                CheckpointMode::None,
                [900.0, 910.0, 905.0],
                0.0,
                1,
            ),
            cell("d-broken", Full, 800.0, 5, Some(false)),
        ]);
        let r = recommend_all(&results);
        assert_eq!((r.best(), r.lowest_tail), (None, None));
    }
}
