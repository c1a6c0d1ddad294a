//! What the repeats say, computed from results alone (so `statebench report` redraws it): per
//! cell and metric the median and its 95% bootstrap interval, whether each repeat reached a
//! steady state, and the ranking of the cells by throughput with each one's ratio to the fastest
//! and whether the difference is beyond the noise. Every resample is seeded from the workload's
//! seed and the cell's name, so the same results always give the same figures.

pub mod bootstrap;
pub mod rng;
pub mod trend;

use crate::results::{
    Analysis, CellResult, CellStatistics, Estimate, Ranked, RepeatRecord, Results, SteadyState,
};
use bootstrap::{estimate, ratio, Repeats, CONFIDENCE, RESAMPLES};

/// The fewest checkpoint intervals the measured part of a checkpointing repeat should hold, so
/// its checkpoint cost is averaged over several cycles rather than caught once or not at all.
pub const MIN_CHECKPOINT_INTERVALS: f64 = 3.0;

/// The smallest difference between two cells the recommendation acts on: a ratio (of
/// throughput, checkpoint duration, memory or recovery time) decides only when its 95% interval
/// lies wholly beyond 1 ± 10%. A difference beyond the noise but inside the margin is shown (the
/// ranking marks it) and moves nothing: with three repeats a cell's interval spans its repeats'
/// range, one slow repeat (a start-of-run slowdown, a neighbour's burst) separates two cells by a
/// few percent now and then, and a recommendation that followed those would change from one run
/// to the next (issue 10 measured it: the RocksDB pick agreed in 2 of 5 runs). 10% is the margin
/// a performance engineer asks of a configuration change before making it; criterion.rs's noise
/// threshold is the same idea at microbenchmark scale.
pub const PRACTICAL_MARGIN: f64 = 0.10;

/// Mixed into the workload's seed for the analysis's resampling.
const ANALYSIS_SALT: u64 = 0x626f_6f74_7374_7261;

/// A repeat's recovery time, ms: as Flink recovers, from its last retained checkpoint into a
/// fresh backend (download, open, first op served); for results written before recovery was
/// measured phase by phase, the restore of the final checkpoint. The one place that says which
/// measurement "recovery time" is.
pub fn recovery_ms(repeat: &RepeatRecord) -> Option<f64> {
    repeat.recovery_ms.or(repeat.restore_ms)
}

/// A seed for the resampling of `what` (a cell, a metric, a pair), from the run's seed.
pub fn seed_for(seed: u64, what: &str) -> u64 {
    let mut h = seed ^ ANALYSIS_SALT;
    for b in what.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A cell's ops per second: per repeat, with its seconds.
pub fn throughput(cell: &CellResult) -> Repeats {
    Repeats {
        values: cell.repeats.iter().map(|r| r.ops_per_s).collect(),
        seconds: cell
            .repeats
            .iter()
            .map(|r| r.ops_per_second.iter().map(|&o| o as f64).collect())
            .collect(),
    }
}

/// A metric of a cell's repeats (None when no repeat has it).
pub fn metric(cell: &CellResult, f: impl Fn(&RepeatRecord) -> Option<f64>) -> Option<Repeats> {
    let values: Vec<f64> = cell.repeats.iter().filter_map(f).collect();
    (!values.is_empty()).then(|| Repeats::of(values))
}

/// The analysis of `results`.
pub fn analyze(results: &Results) -> Analysis {
    let seed = results.workload.seed;
    let cells: Vec<CellStatistics> = results
        .cells
        .iter()
        .map(|c| cell_statistics(c, seed))
        .collect();
    Analysis {
        seed: seed ^ ANALYSIS_SALT,
        resamples: RESAMPLES,
        confidence: CONFIDENCE,
        practical_margin: PRACTICAL_MARGIN,
        ranking: ranking(results, &cells),
        cells,
    }
}

/// A cell's statistics.
fn cell_statistics(cell: &CellResult, seed: u64) -> CellStatistics {
    let of = |name: &str, f: &dyn Fn(&RepeatRecord) -> Option<f64>| {
        metric(cell, f).map(|m| estimate(&m, seed_for(seed, &format!("{}/{name}", cell.id))))
    };
    let ops = estimate(
        &throughput(cell),
        seed_for(seed, &format!("{}/ops", cell.id)),
    );
    let events_per_op = match cell.measured_ops {
        0 => 0.0,
        n => cell.measured_events as f64 / n as f64,
    };
    let scale = |e: Estimate, k: f64| Estimate {
        median: e.median * k,
        low: e.low * k,
        high: e.high * k,
    };
    let latency =
        |name, f: fn(&RepeatRecord) -> u64| of(name, &|r| Some(f(r) as f64)).unwrap_or_default();
    let interval_ms = cell.setup.checkpoint_interval_ms as f64;
    CellStatistics {
        cell: cell.id.clone(),
        repeats: cell.repeats.len(),
        events_per_s: scale(ops, events_per_op),
        ops_per_s: ops,
        p50_ns: latency("p50", |r| r.p50_ns),
        p99_ns: latency("p99", |r| r.p99_ns),
        p999_ns: latency("p999", |r| r.p999_ns),
        checkpoint_ms: of("checkpoint", &|r| r.mean_checkpoint_ms),
        max_checkpoint_ms: of("max_checkpoint", &|r| r.max_checkpoint_ms),
        sync_ms: of("sync", &|r| r.mean_sync_ms),
        checkpoint_bytes: of("checkpoint_bytes", &|r| {
            r.checkpoint_bytes.map(|b| b as f64)
        }),
        recovery_ms: of("recovery", &recovery_ms),
        peak_rss_bytes: of("rss", &|r| r.peak_rss_bytes.map(|b| b as f64)),
        steady: cell
            .repeats
            .iter()
            .map(|r| {
                let intervals = match interval_ms > 0.0 {
                    true => r.elapsed_s * 1e3 / interval_ms,
                    false => 0.0,
                };
                let seconds: Vec<f64> = r.ops_per_second.iter().map(|&o| o as f64).collect();
                SteadyState {
                    repeat: r.repeat,
                    measured_s: r.elapsed_s,
                    checkpoint_intervals: intervals,
                    enough_intervals: interval_ms == 0.0 || intervals >= MIN_CHECKPOINT_INTERVALS,
                    extended_events: r.extended_events,
                    trend: trend::trend(&seconds),
                }
            })
            .collect(),
    }
}

/// The ratio of cell `a`'s throughput to cell `b`'s, with its interval.
pub fn throughput_ratio(results: &Results, a: usize, b: usize) -> Estimate {
    let (x, y) = (&results.cells[a], &results.cells[b]);
    ratio(
        &throughput(x),
        &throughput(y),
        seed_for(results.workload.seed, &format!("{}/{}/ops", x.id, y.id)),
    )
}

/// Every cell by median ops per second, fastest first, each compared with the fastest and the
/// next.
fn ranking(results: &Results, stats: &[CellStatistics]) -> Vec<Ranked> {
    let mut order: Vec<usize> = (0..results.cells.len()).collect();
    order.sort_by(|&a, &b| {
        stats[b]
            .ops_per_s
            .median
            .total_cmp(&stats[a].ops_per_s.median)
    });
    let Some(&fastest) = order.first() else {
        return Vec::new();
    };
    order
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let to_fastest = match i == fastest {
                true => Estimate {
                    median: 1.0,
                    low: 1.0,
                    high: 1.0,
                },
                false => throughput_ratio(results, i, fastest),
            };
            Ranked {
                cell: results.cells[i].id.clone(),
                ratio_to_fastest: to_fastest,
                tied_with_fastest: to_fastest.contains(1.0),
                ahead_of_next: order
                    .get(k + 1)
                    .map(|&next| throughput_ratio(results, i, next).low > 1.0),
            }
        })
        .collect()
}
