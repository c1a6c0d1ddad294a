//! Per-cell aggregates that several parts of the report show.

use crate::results::CellResult;

/// Checkpoint figures of one cell.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckpointStats {
    /// Completed checkpoints.
    pub count: usize,
    /// Mean synchronous phase, ms.
    pub avg_sync_ms: f64,
    /// Longest synchronous phase, ms.
    pub max_sync_ms: f64,
    /// Mean asynchronous phase, ms.
    pub avg_async_ms: f64,
    /// Mean bytes written per checkpoint.
    pub avg_bytes_written: u64,
    /// Size of the last checkpoint.
    pub last_size_bytes: u64,
    /// Files written, all checkpoints together.
    pub files_written: u64,
    /// Shared files reused, all checkpoints together.
    pub files_reused: u64,
}

/// The checkpoint figures of a cell, None when it took none.
pub fn checkpoint_stats(cell: &CellResult) -> Option<CheckpointStats> {
    let c = &cell.checkpoints;
    if c.is_empty() {
        return None;
    }
    let n = c.len() as f64;
    Some(CheckpointStats {
        count: c.len(),
        avg_sync_ms: c.iter().map(|r| r.sync_ms).sum::<f64>() / n,
        max_sync_ms: c.iter().map(|r| r.sync_ms).fold(0.0, f64::max),
        avg_async_ms: c.iter().map(|r| r.async_ms).sum::<f64>() / n,
        avg_bytes_written: c.iter().map(|r| r.bytes_written).sum::<u64>() / c.len() as u64,
        last_size_bytes: c.last().map_or(0, |r| r.size_bytes),
        files_written: c.iter().map(|r| r.files_written).sum(),
        files_reused: c.iter().map(|r| r.files_reused).sum(),
    })
}
