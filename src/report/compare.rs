//! `statebench compare RUN_DIR...`: runs from different machines, disks, container sizes or
//! statebench versions side by side, from their results.json alone. What differs between the
//! runs comes first (machine, disk as measured, container memory, versions, workload), then per
//! cell each run's throughput and its ratio to the first run's with a 95 % confidence interval,
//! marked significant when the interval excludes 1.
//!
//! The interval is a percentile bootstrap of the ratio of mean throughputs, resampled
//! independently per run with a fixed seed, so the same runs always give the same intervals. Its
//! samples are a cell's repeats (each in a fresh process) when both runs have at least three;
//! else the per-second throughput of its timeline, whose seconds are not independent (a
//! compaction or a checkpoint spans several), so those intervals are narrower than repeats would
//! give; the page says which each ratio rests on.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};

use super::format::{bytes, latency, rate};
use super::{html, plots};
use crate::analysis::analyze;
use crate::atomic::write_atomically;
use crate::results::{read_results, BoundMechanism, CellResult, Results};
use crate::workload::splitmix64;

/// Bootstrap resamples per interval.
const RESAMPLES: usize = 2000;
/// Fewest per-second samples a run's cell needs for an interval.
const MIN_SAMPLES: usize = 3;
/// File name of the throughput chart beside compare.md.
const CHART: &str = "compare-throughput.svg";

/// One run being compared, labelled A, B, C... in the order given.
#[derive(Debug)]
pub struct Run {
    /// `A`, `B`, ...
    pub label: String,
    /// Its run directory.
    pub dir: PathBuf,
    /// Its results.
    pub results: Results,
}

/// Reads the results of at least two run directories.
pub fn load_runs(dirs: &[PathBuf]) -> Result<Vec<Run>> {
    ensure!(
        dirs.len() >= 2,
        "compare: give at least two run directories (got {})",
        dirs.len()
    );
    dirs.iter()
        .enumerate()
        .map(|(i, dir)| {
            Ok(Run {
                label: label(i),
                dir: dir.clone(),
                results: read_results(dir)?,
            })
        })
        .collect()
}

/// `A`..`Z`, then `R27`, `R28`, ...
fn label(i: usize) -> String {
    match u8::try_from(i).ok().filter(|&i| i < 26) {
        Some(i) => char::from(b'A' + i).to_string(),
        None => format!("R{}", i + 1),
    }
}

/// A ratio of two runs' mean throughputs with its bootstrap interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatioEstimate {
    /// Mean of `other` over mean of `base`.
    pub ratio: f64,
    /// 2.5th percentile of the bootstrap ratios.
    pub low: f64,
    /// 97.5th percentile.
    pub high: f64,
}

impl RatioEstimate {
    /// Whether the interval excludes 1 (no difference).
    pub fn significant(&self) -> bool {
        self.low > 1.0 || self.high < 1.0
    }
}

/// The ratio of the means of `other` and `base` with a 95 % percentile-bootstrap interval;
/// None when either has fewer than [`MIN_SAMPLES`] samples or a zero mean.
pub fn ratio_estimate(base: &[f64], other: &[f64]) -> Option<RatioEstimate> {
    if base.len() < MIN_SAMPLES || other.len() < MIN_SAMPLES {
        return None;
    }
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (mb, mo) = (mean(base), mean(other));
    if mb <= 0.0 {
        return None;
    }
    let mut state = 0x5eed_c0de_u64 ^ (base.len() as u64) << 32 ^ other.len() as u64;
    let mut resampled_mean = |s: &[f64]| {
        let sum: f64 = (0..s.len())
            .map(|_| s[(splitmix64(&mut state) % s.len() as u64) as usize])
            .sum();
        sum / s.len() as f64
    };
    let mut ratios: Vec<f64> = (0..RESAMPLES)
        .filter_map(|_| {
            let b = resampled_mean(base);
            let o = resampled_mean(other);
            (b > 0.0).then(|| o / b)
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((q * ratios.len() as f64) as usize).min(ratios.len() - 1)];
    Some(RatioEstimate {
        ratio: mo / mb,
        low: at(0.025),
        high: at(0.975),
    })
}

/// What a ratio's interval is computed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleBasis {
    /// Each repeat's throughput (independent runs).
    Repeats,
    /// Each second's throughput within the representative repeat.
    Seconds,
}

/// The samples two cells are compared over: their repeats' throughputs when both have at least
/// [`MIN_SAMPLES`], else their per-second throughputs.
pub fn comparable_samples(a: &CellResult, b: &CellResult) -> (Vec<f64>, Vec<f64>, SampleBasis) {
    let repeats = |c: &CellResult| c.repeats.iter().map(|r| r.ops_per_s).collect::<Vec<_>>();
    let (ra, rb) = (repeats(a), repeats(b));
    if ra.len() >= MIN_SAMPLES && rb.len() >= MIN_SAMPLES {
        (ra, rb, SampleBasis::Repeats)
    } else {
        (
            throughput_samples(a),
            throughput_samples(b),
            SampleBasis::Seconds,
        )
    }
}

/// A cell's per-second throughput samples: ops per second of each second of its measured part
/// (the last, partial second at its own length).
pub fn throughput_samples(cell: &CellResult) -> Vec<f64> {
    let mut previous = 0.0;
    cell.timeline
        .iter()
        .filter_map(|p| {
            let length = p.t_s - previous;
            previous = p.t_s;
            // A sliver of a second at the end says little and weighs as much as a whole one.
            (length >= 0.5).then(|| p.ops as f64 / length)
        })
        .collect()
}

/// What bounded a run's memory, as one line (the cells of a run share it).
fn container(results: &Results) -> String {
    let bounds: BTreeSet<String> = results
        .cells
        .iter()
        .map(|c| match &c.memory_bound {
            Some(b) => format!(
                "{} by {}",
                bytes(b.limit_bytes),
                match b.mechanism {
                    BoundMechanism::CgroupV2 => "cgroup v2",
                    BoundMechanism::CgroupV1 => "cgroup v1",
                    BoundMechanism::DirectIo => "direct I/O",
                }
            ),
            None => "not bounded".to_string(),
        })
        .collect();
    bounds.into_iter().collect::<Vec<_>>().join(", ")
}

/// The properties runs can differ in: (name, value per run).
fn properties(runs: &[Run]) -> Vec<(&'static str, Vec<String>)> {
    type Getter = fn(&Results) -> String;
    let getters: [(&str, Getter); 16] = [
        ("host", |r| r.machine.hostname.clone()),
        ("CPU", |r| r.machine.cpu_model.clone()),
        ("CPUs", |r| r.machine.cpus.to_string()),
        ("memory", |r| bytes(r.machine.memory_bytes)),
        ("OS", |r| r.machine.os.clone()),
        ("data device", |r| {
            format!("{} ({})", r.machine.device, r.machine.filesystem)
        }),
        ("disk: kernel says", |r| {
            r.machine.disk.as_ref().map_or("—".into(), |d| {
                match d.kernel.rotational {
                    Some(true) => "rotational",
                    Some(false) => "non-rotational",
                    None => "unknown",
                }
                .to_string()
            })
        }),
        ("disk: 4 KiB random reads/s, qd 1 / 16", |r| {
            r.machine.disk.as_ref().map_or("—".into(), |d| {
                format!(
                    "{} / {}",
                    rate(d.randread_4k_iops_qd1),
                    rate(d.randread_4k_iops_qd16)
                )
            })
        }),
        ("disk: fsync p99", |r| {
            r.machine
                .disk
                .as_ref()
                .map_or("—".into(), |d| latency(d.fsync_latency_us.p99 * 1e3))
        }),
        ("disk: sequential read / write MB/s", |r| {
            r.machine.disk.as_ref().map_or("—".into(), |d| {
                format!("{:.0} / {:.0}", d.seq_read_mb_s, d.seq_write_mb_s)
            })
        }),
        ("container memory", container),
        ("statebench", |r| r.statebench_version.clone()),
        ("RocksDB", |r| r.rocksdb_version.clone()),
        ("workload", |r| {
            format!("{} (seed {})", r.workload.name, r.workload.seed)
        }),
        ("events (warm-up)", |r| {
            format!("{} ({})", r.workload.events, r.workload.warmup_events)
        }),
        ("keys", |r| r.workload.keys.count.to_string()),
    ];
    getters
        .iter()
        .map(|(name, get)| (*name, runs.iter().map(|run| get(&run.results)).collect()))
        .collect()
}

/// compare.md: the runs, what differs between them, then per cell each run's throughput and
/// its ratio to run A's.
pub fn compare_markdown(runs: &[Run]) -> Result<String> {
    let mut md = String::new();
    writeln!(md, "# statebench compare\n")?;
    for run in runs {
        writeln!(
            md,
            "- **{}**: `{}` ({}, {} cells)",
            run.label,
            run.dir.display(),
            run.results.created,
            run.results.cells.len()
        )?;
    }
    writeln!(md)?;
    let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
    let header = |md: &mut String, first: &str| -> Result<()> {
        writeln!(md, "| {first} | {} |", labels.join(" | "))?;
        writeln!(md, "|---|{}", "---|".repeat(labels.len()))?;
        Ok(())
    };
    let (differ, same): (Vec<_>, Vec<_>) = properties(runs)
        .into_iter()
        .partition(|(_, values)| values.iter().any(|v| v != &values[0]));
    writeln!(md, "## What differs between the runs\n")?;
    if differ.is_empty() {
        writeln!(
            md,
            "Nothing recorded differs: same machine, disk, container memory, versions and \
             workload. Differences below are run-to-run noise or something not recorded.\n"
        )?;
    } else {
        header(&mut md, "")?;
        for (name, values) in &differ {
            writeln!(md, "| {name} | {} |", values.join(" | "))?;
        }
        writeln!(md)?;
    }
    if !same.is_empty() {
        let same: Vec<String> = same
            .iter()
            .map(|(name, values)| format!("{name} {}", values[0]))
            .collect();
        writeln!(md, "The same on every run: {}.\n", same.join(" · "))?;
    }
    cells_table(&mut md, runs)?;
    writeln!(md, "![throughput per cell and run]({CHART})\n")?;
    Ok(md)
}

/// Every cell id of the runs: run A's in its order, then ids only later runs have.
fn cell_ids(runs: &[Run]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for run in runs {
        for cell in &run.results.cells {
            if !ids.contains(&cell.id) {
                ids.push(cell.id.clone());
            }
        }
    }
    ids
}

fn find<'a>(run: &'a Run, id: &str) -> Option<&'a CellResult> {
    run.results.cells.iter().find(|c| c.id == id)
}

/// The per-cell table: throughput per run, and each later run's ratio to run A.
fn cells_table(md: &mut String, runs: &[Run]) -> Result<()> {
    let base = &runs[0];
    writeln!(md, "## Throughput per cell\n")?;
    writeln!(
        md,
        "State ops per second. Ratios are run ÷ {} with a 95% bootstrap interval, **significant** \
         when it excludes 1, over the cells' repeats (each in a fresh process) when both runs have \
         three or more, else over their per-second throughput (marked *per second*): seconds of \
         one run are not independent (compactions and checkpoints span several), so those \
         intervals are narrower than repeats would give; treat such a ratio within a few percent \
         of 1 as noise.\n",
        base.label
    )?;
    let mut head = String::from("| cell |");
    let mut rule = String::from("|---|");
    for run in runs {
        write!(head, " {} ops/s |", run.label)?;
        rule.push_str("--:|");
    }
    for run in &runs[1..] {
        write!(head, " {} ÷ {} |", run.label, base.label)?;
        rule.push_str("--:|");
    }
    writeln!(md, "{head}\n{rule}")?;
    for id in cell_ids(runs) {
        let mut row = format!("| `{id}` |");
        for run in runs {
            match find(run, &id) {
                Some(c) => write!(row, " {} |", rate(c.ops_per_s))?,
                None => row.push_str(" — |"),
            }
        }
        for run in &runs[1..] {
            let cell = match (find(base, &id), find(run, &id)) {
                (Some(b), Some(o)) if b.ops_per_s > 0.0 => {
                    let (sb, so, basis) = comparable_samples(b, o);
                    match ratio_estimate(&sb, &so) {
                        Some(e) => format!(
                            "{:.3} [{:.3}, {:.3}]{}{}",
                            e.ratio,
                            e.low,
                            e.high,
                            if e.significant() {
                                " **significant**"
                            } else {
                                " not significant"
                            },
                            match basis {
                                SampleBasis::Repeats => "",
                                SampleBasis::Seconds => " *per second*",
                            }
                        ),
                        None => format!(
                            "{:.3} (too few seconds for an interval)",
                            o.ops_per_s / b.ops_per_s
                        ),
                    }
                }
                _ => "—".to_string(),
            };
            write!(row, " {cell} |")?;
        }
        writeln!(md, "{row}")?;
    }
    writeln!(md)?;
    Ok(())
}

/// The throughput chart: a bar per cell and run, the median with its 95% interval as each run's
/// own analysis gives it.
fn chart(runs: &[Run]) -> Result<String> {
    let analyses: Vec<_> = runs.iter().map(|run| analyze(&run.results)).collect();
    let (mut labels, mut values, mut intervals) = (Vec::new(), Vec::new(), Vec::new());
    for id in cell_ids(runs) {
        for (run, analysis) in runs.iter().zip(&analyses) {
            if let Some(i) = run.results.cells.iter().position(|c| c.id == id) {
                let estimate = analysis.cells[i].ops_per_s;
                labels.push(format!("{id} · {}", run.label));
                values.push(estimate.median);
                intervals.push((estimate.low, estimate.high));
            }
        }
    }
    plots::bars_svg(
        "Throughput per cell and run (median, 95% interval)",
        "state ops per second",
        labels,
        (values, intervals),
    )
}

/// Writes compare.md, its chart and compare.html (the chart inline) into `out`; returns the
/// files written.
pub fn write_comparison(runs: &[Run], out: &Path) -> Result<Vec<PathBuf>> {
    let md = compare_markdown(runs)?;
    let svg = chart(runs)?;
    let files = [
        (out.join("compare.md"), md.clone().into_bytes()),
        (out.join(CHART), svg.clone().into_bytes()),
        (
            out.join("compare.html"),
            html::page("statebench compare", &md, &|target| {
                (target == CHART).then(|| (svg.clone().into_bytes(), "image/svg+xml"))
            })
            .into_bytes(),
        ),
    ];
    for (path, content) in &files {
        write_atomically(path, content)?;
    }
    Ok(files.into_iter().map(|(path, _)| path).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{RepeatRecord, TimelinePoint};

    #[test]
    fn a_clear_difference_is_significant_and_noise_is_not() {
        let base: Vec<f64> = (0..30).map(|i| 1000.0 + (i % 5) as f64 * 10.0).collect();
        let faster: Vec<f64> = base.iter().map(|v| v * 1.5).collect();
        let e = ratio_estimate(&base, &faster).unwrap();
        assert!((e.ratio - 1.5).abs() < 1e-9);
        assert!(e.low <= e.ratio && e.ratio <= e.high);
        assert!(e.significant(), "{e:?}");
        let shuffled: Vec<f64> = base.iter().rev().copied().collect();
        let same = ratio_estimate(&base, &shuffled).unwrap();
        assert!(!same.significant(), "{same:?}");
        // Deterministic: the same samples give the same interval.
        assert_eq!(ratio_estimate(&base, &faster), Some(e));
        assert_eq!(ratio_estimate(&base[..2], &faster), None);
    }

    #[test]
    fn samples_are_per_second_rates_without_a_final_sliver() {
        let mut cell =
            crate::report::tests::cell("x", crate::checkpoint::CheckpointMode::None, 1.0, 1, None);
        cell.timeline = [(1.0, 100), (2.0, 300), (2.5, 100), (2.6, 50)]
            .iter()
            .map(|&(t_s, ops)| TimelinePoint {
                t_s,
                ops,
                ..TimelinePoint::default()
            })
            .collect();
        assert_eq!(throughput_samples(&cell), vec![100.0, 300.0, 200.0]);
    }

    #[test]
    fn repeats_are_the_samples_when_both_cells_have_three() {
        let with_repeats = |n: usize| {
            let mut c = crate::report::tests::cell(
                "x",
                crate::checkpoint::CheckpointMode::None,
                1.0,
                1,
                None,
            );
            c.repeats = (0..n)
                .map(|i| RepeatRecord {
                    ops_per_s: 100.0 + i as f64,
                    ..RepeatRecord::default()
                })
                .collect();
            c
        };
        let (a, b, basis) = comparable_samples(&with_repeats(3), &with_repeats(4));
        assert_eq!(basis, SampleBasis::Repeats);
        assert_eq!((a.len(), b.len()), (3, 4));
        let (_, _, basis) = comparable_samples(&with_repeats(3), &with_repeats(2));
        assert_eq!(basis, SampleBasis::Seconds);
    }

    #[test]
    fn labels_run_past_z() {
        assert_eq!(label(0), "A");
        assert_eq!(label(25), "Z");
        assert_eq!(label(26), "R27");
    }
}
