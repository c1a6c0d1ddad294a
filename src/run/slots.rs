//! Slots: N operator threads in one TaskManager process (`--slots N`), as a TaskManager with
//! `taskmanager.numberOfTaskSlots: N` runs N subtasks of a keyed operator. Each slot has its own
//! backend over its share of the key groups, split as Flink splits them among subtasks
//! (`KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex`), its own checkpoints, and a
//! slot's share of managed memory (the plan sets `taskmanager.numberOfTaskSlots`, so Flink's
//! arithmetic divides it); all share the process's CPU, disk and container memory.
//!
//! Every slot reads the whole op stream and applies only the ops of its key groups, in order
//! (`computeOperatorIndexForKeyGroup` of each op's key): the same ops as a one-slot run, each
//! applied by the slot owning its key, as Flink's keyed exchange delivers them. Reading (or
//! generating) the other slots' events costs each slot time outside op timing, which a real
//! TaskManager spends in its network stack instead.
//!
//! The cell's figures are the slots together: ops summed over the longest slot's wall time,
//! latencies from their histograms added; per second, ops summed and the worst slot's
//! percentiles; a checkpoint's phases the slowest slot's and its bytes summed (a Flink
//! checkpoint completes when every subtask has acknowledged); restores verified only when every
//! slot's did; RocksDB's byte counters and sizes summed, its rates averaged over the slots.

use anyhow::{bail, Context, Result};

use super::cell::{run_share, Cell, CellPaths, OpInput};
use super::replay::Progress;
use crate::backend::keygroup::{
    key_group, key_group_range_for_operator, operator_index_for_key_group,
};
use crate::measure::merge_latencies;
use crate::results::{
    CellResult, CheckpointRecord, LatencySampling, RestoreRecord, RocksDbStats, SlotResult,
    StatsSample, TimelinePoint,
};

/// Most slots a cell may have (one thread and one backend each).
pub const MAX_SLOTS: u32 = 256;

/// One slot's share of the key groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotShare {
    /// Operator (subtask) index, from 0.
    pub index: u32,
    /// Slots in the TaskManager.
    pub slots: u32,
    /// The job's max parallelism: the number of key groups.
    pub max_parallelism: u32,
}

impl SlotShare {
    /// Whether `key` belongs to this slot.
    pub fn owns(&self, key: u64) -> bool {
        let group = key_group(key, self.max_parallelism);
        operator_index_for_key_group(self.max_parallelism, self.slots, group) == self.index
    }

    /// The key groups this slot owns, first and last.
    pub fn key_groups(&self) -> (u16, u16) {
        key_group_range_for_operator(self.max_parallelism, self.slots, self.index)
    }
}

/// Runs `cell` as `slots` slots side by side in this process and returns them together, each
/// slot's own figures in `slots`. Slot 0 runs on this thread (and reports progress).
pub(super) fn run_slots(
    input: &OpInput,
    cell: &Cell,
    paths: &CellPaths,
    slots: u32,
    progress: Progress<'_>,
) -> Result<CellResult> {
    let max_parallelism = input.spec().max_parallelism;
    if slots > MAX_SLOTS || slots > max_parallelism {
        bail!(
            "--slots {slots}: at most {} (each slot needs a key group of its own; the workload's \
             max_parallelism is {max_parallelism})",
            MAX_SLOTS.min(max_parallelism)
        );
    }
    let share = |index| SlotShare {
        index,
        slots,
        max_parallelism,
    };
    let results: Vec<Result<CellResult>> = std::thread::scope(|scope| {
        let others: Vec<_> = (1..slots)
            .map(|i| {
                std::thread::Builder::new()
                    .name(format!("slot-{i}"))
                    .spawn_scoped(scope, move || {
                        run_share(input, cell, paths, Some(share(i)), &mut |_, _| {})
                    })
            })
            .collect();
        let mut all = vec![run_share(input, cell, paths, Some(share(0)), progress)];
        for (i, handle) in others.into_iter().enumerate() {
            all.push(match handle {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|_| bail!("slot {} panicked", i + 1)),
                Err(e) => Err(e).context("cannot start a slot's thread"),
            });
        }
        all
    });
    let parts = results
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.with_context(|| format!("cell {}, slot {i}", cell.id())))
        .collect::<Result<Vec<_>>>()?;
    together(cell, &parts, &share)
}

/// The slots' results as one cell's.
fn together(
    cell: &Cell,
    parts: &[CellResult],
    share: &dyn Fn(u32) -> SlotShare,
) -> Result<CellResult> {
    let first = &parts[0];
    let elapsed_s = parts.iter().map(|p| p.elapsed_s).fold(0.0, f64::max);
    let measured_ops = parts.iter().map(|p| p.measured_ops).sum();
    // The slowest slot's operator time (its wall time less its batch generation).
    let busy_s = parts
        .iter()
        .map(|p| p.elapsed_s - p.generation_s)
        .fold(0.0, f64::max);
    let secs = busy_s.max(1e-9);
    let classes: Vec<String> = {
        let mut names: Vec<String> = parts
            .iter()
            .flat_map(|p| p.ops.iter().map(|o| o.op.clone()))
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let ops = classes
        .iter()
        .map(|name| {
            let of: Vec<_> = parts
                .iter()
                .filter_map(|p| p.ops.iter().find(|o| &o.op == name))
                .collect();
            merge_latencies(name, &of)
        })
        .collect::<Result<Vec<_>>>()?;
    let longest = parts
        .iter()
        .max_by(|a, b| a.elapsed_s.total_cmp(&b.elapsed_s))
        .unwrap_or(first);
    Ok(CellResult {
        id: cell.id(),
        measured_ops,
        elapsed_s,
        generation_s: elapsed_s - busy_s,
        generation_ns_per_op: parts.iter().map(|p| p.generation_s).sum::<f64>() * 1e9
            / measured_ops.max(1) as f64,
        ops_per_s: measured_ops as f64 / secs,
        events_per_s: first.measured_events as f64 / secs,
        all_ops: merge_latencies("all", &parts.iter().map(|p| &p.all_ops).collect::<Vec<_>>())?,
        ops,
        latency_sampling: sampling_together(parts),
        timeline: zip_by_index(
            parts,
            |p| &p.timeline,
            |points| TimelinePoint {
                t_s: points.iter().map(|p| p.t_s).fold(0.0, f64::max),
                ops: points.iter().map(|p| p.ops).sum(),
                p50_ns: points.iter().map(|p| p.p50_ns).max().unwrap_or(0),
                p99_ns: points.iter().map(|p| p.p99_ns).max().unwrap_or(0),
                max_ns: points.iter().map(|p| p.max_ns).max().unwrap_or(0),
            },
        ),
        checkpoints: zip_by_index(parts, |p| &p.checkpoints, checkpoint_together),
        restore: restore_together(parts.iter().map(|p| p.restore.as_ref())),
        savepoint: match parts.iter().all(|p| p.savepoint.is_some()) {
            true => Some(checkpoint_together(
                &parts
                    .iter()
                    .filter_map(|p| p.savepoint.as_ref())
                    .collect::<Vec<_>>(),
            )),
            false => None,
        },
        savepoint_restore: restore_together(parts.iter().map(|p| p.savepoint_restore.as_ref())),
        rocksdb: rocksdb_together(parts),
        resources: longest.resources.clone(),
        slots: parts
            .iter()
            .zip(0..)
            .map(|(p, i)| SlotResult {
                slot: i,
                key_groups: share(i).key_groups(),
                measured_ops: p.measured_ops,
                elapsed_s: p.elapsed_s,
                ops_per_s: p.ops_per_s,
                p99_ns: p.all_ops.p99_ns,
                histogram_log: p.histogram_log.clone(),
            })
            .collect(),
        ..first.clone()
    })
}

/// How the slots timed their ops: each chose its own stride; the widest is given, with the
/// timed ops of all.
fn sampling_together(parts: &[CellResult]) -> Option<LatencySampling> {
    let mut sampling = parts.iter().find_map(|p| p.latency_sampling.clone())?;
    let each = || parts.iter().filter_map(|p| p.latency_sampling.as_ref());
    sampling.stride = each().map(|s| s.stride).max().unwrap_or(1);
    sampling.timed_ops = each().map(|s| s.timed_ops).sum();
    Some(sampling)
}

/// Combines the slots' `field` element by element, as far as every slot has one.
fn zip_by_index<T, U>(
    parts: &[CellResult],
    field: impl Fn(&CellResult) -> &Vec<T>,
    combine: impl Fn(&[&T]) -> U,
) -> Vec<U> {
    let n = parts.iter().map(|p| field(p).len()).min().unwrap_or(0);
    (0..n)
        .map(|i| combine(&parts.iter().map(|p| &field(p)[i]).collect::<Vec<_>>()))
        .collect()
}

/// One checkpoint of every slot as the TaskManager's: complete when the slowest slot is.
fn checkpoint_together(slots: &[&CheckpointRecord]) -> CheckpointRecord {
    let max = |f: fn(&CheckpointRecord) -> f64| slots.iter().map(|c| f(c)).fold(0.0, f64::max);
    let sum = |f: fn(&CheckpointRecord) -> u64| slots.iter().map(|c| f(c)).sum();
    CheckpointRecord {
        id: slots[0].id,
        triggered_s: slots
            .iter()
            .map(|c| c.triggered_s)
            .fold(f64::INFINITY, f64::min),
        sync_ms: max(|c| c.sync_ms),
        async_ms: max(|c| c.async_ms),
        bytes_written: sum(|c| c.bytes_written),
        size_bytes: sum(|c| c.size_bytes),
        files_written: sum(|c| c.files_written),
        files_reused: sum(|c| c.files_reused),
        is_final: slots.iter().all(|c| c.is_final),
        storage_requests: sum(|c| c.storage_requests),
        upload_mb_per_s: slots.iter().map(|c| c.upload_mb_per_s).sum(),
        verified: match slots.iter().all(|c| c.verified.is_some()) {
            true => Some(slots.iter().all(|c| c.verified == Some(true))),
            false => None,
        },
    }
}

/// The slots' restores as one: verified only when every slot's was; the slowest slot's time.
fn restore_together<'a>(
    restores: impl Iterator<Item = Option<&'a RestoreRecord>>,
) -> Option<RestoreRecord> {
    let restores: Vec<&RestoreRecord> = restores.collect::<Option<Vec<_>>>()?;
    Some(RestoreRecord {
        checkpoint_id: restores.first()?.checkpoint_id,
        restore_ms: restores.iter().map(|r| r.restore_ms).fold(0.0, f64::max),
        verified: restores.iter().all(|r| r.verified),
        entries: restores.iter().map(|r| r.entries).sum(),
        bytes: restores.iter().map(|r| r.bytes).sum(),
    })
}

/// The slots' RocksDB statistics as one: bytes and sizes summed, rates averaged; the ticker
/// figures only when every slot has them.
fn rocksdb_together(parts: &[CellResult]) -> Option<RocksDbStats> {
    let stats: Vec<&RocksDbStats> = parts
        .iter()
        .map(|p| p.rocksdb.as_ref())
        .collect::<Option<Vec<_>>>()?;
    let sum = |f: fn(&RocksDbStats) -> u64| stats.iter().map(|s| f(s)).sum::<u64>();
    let sum_of = |f: fn(&RocksDbStats) -> Option<u64>| stats.iter().map(|s| f(s)).sum();
    let mean_of = |f: fn(&RocksDbStats) -> Option<f64>| {
        let total: Option<f64> = stats.iter().map(|s| f(s)).sum();
        total.map(|t| t / stats.len() as f64)
    };
    let user: Option<u64> = sum_of(|s| s.user_bytes_written);
    let (flush, compaction_write): (Option<u64>, Option<u64>) = (
        sum_of(|s| s.flush_bytes),
        sum_of(|s| s.compaction_write_bytes),
    );
    let (sst, live) = (sum(|s| s.sst_bytes), sum(|s| s.live_data_bytes));
    let levels = stats
        .iter()
        .map(|s| s.files_per_level.len())
        .max()
        .unwrap_or(0);
    Some(RocksDbStats {
        statistics: stats[0].statistics,
        write_amplification: match (user, flush, compaction_write) {
            (Some(0), Some(_), Some(_)) => Some(0.0),
            (Some(u), Some(f), Some(c)) => Some((f + c) as f64 / u as f64),
            _ => None,
        },
        space_amplification: match live {
            0 => 0.0,
            l => sst as f64 / l as f64,
        },
        block_cache_hit_rate: mean_of(|s| s.block_cache_hit_rate),
        block_bytes_per_get: mean_of(|s| s.block_bytes_per_get),
        stall_ms: stats.iter().map(|s| s.stall_ms).sum(),
        stall_count: sum(|s| s.stall_count),
        user_bytes_written: user,
        flush_bytes: flush,
        compaction_read_bytes: sum_of(|s| s.compaction_read_bytes),
        compaction_write_bytes: compaction_write,
        memtable_bytes: sum(|s| s.memtable_bytes),
        block_cache_usage: sum(|s| s.block_cache_usage),
        sst_bytes: sst,
        live_data_bytes: live,
        files_per_level: (0..levels)
            .map(|l| stats.iter().filter_map(|s| s.files_per_level.get(l)).sum())
            .collect(),
        samples: {
            let n = stats.iter().map(|s| s.samples.len()).min().unwrap_or(0);
            (0..n)
                .map(|i| {
                    let at: Vec<&StatsSample> = stats.iter().map(|s| &s.samples[i]).collect();
                    StatsSample {
                        t_s: at.iter().map(|s| s.t_s).fold(0.0, f64::max),
                        memtable_bytes: at.iter().map(|s| s.memtable_bytes).sum(),
                        block_cache_usage: at.iter().map(|s| s.block_cache_usage).sum(),
                        sst_bytes: at.iter().map(|s| s.sst_bytes).sum(),
                        flush_bytes: at.iter().map(|s| s.flush_bytes).sum(),
                        compaction_write_bytes: at.iter().map(|s| s.compaction_write_bytes).sum(),
                        stall_ms: at.iter().map(|s| s.stall_ms).sum(),
                    }
                })
                .collect()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_groups_split_as_flink_splits_them() {
        // KeyGroupRangeAssignment for max parallelism 128: 3 subtasks own 0-42, 43-85, 86-127.
        let ranges: Vec<(u16, u16)> = (0..3)
            .map(|i| key_group_range_for_operator(128, 3, i))
            .collect();
        assert_eq!(ranges, [(0, 42), (43, 85), (86, 127)]);
        // Every key group's owner is the subtask whose range holds it.
        for group in 0..128u16 {
            let owner = operator_index_for_key_group(128, 3, group);
            let (first, last) = ranges[owner as usize];
            assert!(
                (first..=last).contains(&group),
                "group {group} owner {owner}"
            );
        }
        // Each key belongs to exactly one slot.
        let shares: Vec<SlotShare> = (0..3)
            .map(|index| SlotShare {
                index,
                slots: 3,
                max_parallelism: 128,
            })
            .collect();
        for key in 0..1000 {
            assert_eq!(shares.iter().filter(|s| s.owns(key)).count(), 1);
        }
    }
}
