//! A cell's repeats: the raw numbers of every repeat (kept in results.json), and which repeat's
//! full measurements (histograms, timeline, checkpoints) stand for the cell: the one whose
//! throughput is the median.

use serde::{Deserialize, Serialize};

use super::CellResult;

/// The numbers one repeat of a cell measured, as they were: what the statistics are computed
/// from. The repeat's whole result is kept beside results.json in `file`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RepeatRecord {
    /// Which repeat (from 1).
    pub repeat: u32,
    /// Its place in the run's order (from 1).
    pub position: usize,
    /// Whether the page cache was dropped just before it.
    pub page_cache_dropped: bool,
    /// Its whole result, relative to the run directory (None for converted older results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Wall time of the measured part, seconds.
    pub elapsed_s: f64,
    /// Measured events per second.
    pub events_per_s: f64,
    /// Measured ops per second.
    pub ops_per_s: f64,
    /// All-ops latency percentiles, ns.
    pub p50_ns: u64,
    /// 99th percentile, ns.
    pub p99_ns: u64,
    /// 99.9th percentile, ns.
    pub p999_ns: u64,
    /// Ops completed in each whole second of the measured part (the last, partial second left
    /// out), for the within-repeat statistics and the trend.
    pub ops_per_second: Vec<u64>,
    /// Checkpoints completed.
    pub checkpoints: usize,
    /// Mean checkpoint duration (synchronous + asynchronous phase), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_checkpoint_ms: Option<f64>,
    /// Longest checkpoint duration, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_checkpoint_ms: Option<f64>,
    /// Mean synchronous phase (the operator's stall), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_sync_ms: Option<f64>,
    /// Size of the last checkpoint, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_bytes: Option<u64>,
    /// Time to restore the last checkpoint, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_ms: Option<f64>,
    /// Time to restore the savepoint, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub savepoint_restore_ms: Option<f64>,
    /// Recovery from the last retained checkpoint (download, open, first op), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_ms: Option<f64>,
    /// Whether every restore of the repeat (the rescaled one included) verified (None: nothing
    /// was restored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// Peak resident memory of the repeat's process, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// Events measured, when the measured part was extended past the workload's events to hold
    /// enough checkpoint intervals (see `results::Extension`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_events: Option<u64>,
}

impl RepeatRecord {
    /// The raw numbers of `result`, repeat `repeat` at `position` in the run order.
    pub fn of(result: &CellResult, repeat: u32, position: usize) -> RepeatRecord {
        let c = &result.checkpoints;
        let durations: Vec<f64> = c.iter().map(|r| r.sync_ms + r.async_ms).collect();
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let syncs: Vec<f64> = c.iter().map(|r| r.sync_ms).collect();
        let whole_seconds = result.timeline.len().min(result.elapsed_s.floor() as usize);
        let restores = [&result.restore, &result.savepoint_restore];
        let rescale = result.recovery.as_ref().and_then(|r| r.rescale.as_ref());
        let restored: Vec<bool> = restores
            .iter()
            .filter_map(|r| r.as_ref().map(|r| r.verified))
            .chain(rescale.map(|r| r.verified))
            .collect();
        RepeatRecord {
            repeat,
            position,
            page_cache_dropped: false,
            file: None,
            elapsed_s: result.elapsed_s,
            events_per_s: result.events_per_s,
            ops_per_s: result.ops_per_s,
            p50_ns: result.all_ops.p50_ns,
            p99_ns: result.all_ops.p99_ns,
            p999_ns: result.all_ops.p999_ns,
            ops_per_second: result.timeline[..whole_seconds]
                .iter()
                .map(|t| t.ops)
                .collect(),
            checkpoints: c.len(),
            mean_checkpoint_ms: mean(&durations),
            max_checkpoint_ms: durations.iter().copied().reduce(f64::max),
            mean_sync_ms: mean(&syncs),
            checkpoint_bytes: c.last().map(|r| r.size_bytes),
            restore_ms: result.restore.as_ref().map(|r| r.restore_ms),
            savepoint_restore_ms: result.savepoint_restore.as_ref().map(|r| r.restore_ms),
            recovery_ms: result.recovery.as_ref().map(|r| r.recovery_ms),
            verified: (!restored.is_empty()).then(|| restored.iter().all(|&v| v)),
            peak_rss_bytes: result.peak_rss_bytes,
            extended_events: result.extension.map(|_| result.measured_events),
        }
    }
}

impl CellResult {
    /// The repeat whose events per second are the median of the repeats (the lower of the two
    /// middle ones for an even count): the one whose full measurements stand for the cell.
    pub fn median_repeat(&self) -> Option<u32> {
        let mut by_speed: Vec<&RepeatRecord> = self.repeats.iter().collect();
        by_speed.sort_by(|a, b| {
            a.events_per_s
                .total_cmp(&b.events_per_s)
                .then(a.repeat.cmp(&b.repeat))
        });
        by_speed
            .get((by_speed.len().max(1) - 1) / 2)
            .map(|r| r.repeat)
    }

    /// A cell of one repeat: `measured`, its numbers in `record`.
    pub fn first_repeat(record: RepeatRecord, measured: CellResult) -> CellResult {
        CellResult {
            representative_repeat: Some(record.repeat),
            repeats: vec![record],
            ..measured
        }
    }

    /// Adds the result `measured` of repeat `record.repeat` to this cell's repeats; when that
    /// changes the median repeat, the cell's measurements become the median repeat's:
    /// `measured` itself, or what `load` reads from the repeat's file.
    pub fn add_repeat(
        &mut self,
        record: RepeatRecord,
        measured: CellResult,
        load: impl Fn(&RepeatRecord) -> anyhow::Result<CellResult>,
    ) -> anyhow::Result<()> {
        let added = record.repeat;
        self.repeats.push(record);
        self.repeats.sort_by_key(|r| r.repeat);
        let median = self.median_repeat();
        if median == self.representative_repeat {
            return Ok(());
        }
        let new = self.repeats.iter().find(|r| Some(r.repeat) == median);
        let Some(new) = new else {
            return Ok(());
        };
        let full = match new.repeat == added {
            true => measured,
            false => load(new)?,
        };
        let repeats = std::mem::take(&mut self.repeats);
        *self = CellResult {
            repeats,
            representative_repeat: median,
            ..full
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::cell;
    use std::cell::Cell as Counter;

    /// A measured repeat at `events_per_s`.
    fn measured(events_per_s: f64) -> CellResult {
        let mut c = cell(
            "c-full",
            crate::checkpoint::CheckpointMode::Full,
            1.0,
            1,
            Some(true),
        );
        c.events_per_s = events_per_s;
        c
    }

    #[test]
    fn the_cell_shows_its_median_repeat_loading_an_earlier_one_when_needed() {
        let record = |c: &CellResult, k| RepeatRecord::of(c, k, k as usize);
        let first = measured(200.0);
        let mut cell = CellResult::first_repeat(record(&first, 1), first);
        let loads = Counter::new(0);
        let load = |r: &RepeatRecord| {
            loads.set(loads.get() + 1);
            assert_eq!(r.repeat, 1, "only repeat 1 is not in hand");
            Ok(measured(200.0))
        };
        let second = measured(100.0);
        cell.add_repeat(record(&second, 2), second, load).unwrap();
        // Two repeats: the lower middle one, the one just measured.
        assert_eq!(
            (cell.representative_repeat, cell.events_per_s),
            (Some(2), 100.0)
        );
        let third = measured(300.0);
        cell.add_repeat(record(&third, 3), third, load).unwrap();
        assert_eq!(
            (cell.representative_repeat, cell.events_per_s),
            (Some(1), 200.0)
        );
        assert_eq!(loads.get(), 1);
        let repeats: Vec<u32> = cell.repeats.iter().map(|r| r.repeat).collect();
        assert_eq!(repeats, [1, 2, 3]);
    }
}
