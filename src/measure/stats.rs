//! Turns a backend's raw statistics (cumulative counters since open, gauges) into what the
//! measured part of a cell did: amplification, cache hit rate, stalls, and a per-second series.

use crate::backend::StatsSnapshot;
use crate::results::{RocksDbStats, StatsSample};

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// A sample `t_s` seconds into the measured part, counters relative to `start`.
pub fn sample(start: &StatsSnapshot, now: &StatsSnapshot, t_s: f64) -> StatsSample {
    StatsSample {
        t_s,
        memtable_bytes: now.memtable_bytes,
        block_cache_usage: now.block_cache_usage,
        sst_bytes: now.sst_bytes,
        flush_bytes: now.flush_bytes.saturating_sub(start.flush_bytes),
        compaction_write_bytes: now
            .compaction_write_bytes
            .saturating_sub(start.compaction_write_bytes),
        stall_ms: now.stall_micros.saturating_sub(start.stall_micros) as f64 / 1e3,
    }
}

/// The statistics of the measured part, from its first and last snapshot.
pub fn summarize_stats(
    start: &StatsSnapshot,
    end: &StatsSnapshot,
    samples: Vec<StatsSample>,
) -> RocksDbStats {
    let d = |f: fn(&StatsSnapshot) -> u64| f(end).saturating_sub(f(start));
    let user = d(|s| s.user_bytes_written);
    let flush = d(|s| s.flush_bytes);
    let compaction_write = d(|s| s.compaction_write_bytes);
    let hits = d(|s| s.block_cache_hits);
    let misses = d(|s| s.block_cache_misses);
    RocksDbStats {
        write_amplification: ratio(flush + compaction_write, user),
        space_amplification: ratio(end.sst_bytes, end.live_data_bytes),
        block_cache_hit_rate: ratio(hits, hits + misses),
        block_bytes_per_get: ratio(d(|s| s.block_bytes_read), d(|s| s.keys_read)),
        stall_ms: d(|s| s.stall_micros) as f64 / 1e3,
        stall_count: d(|s| s.stall_count),
        user_bytes_written: user,
        flush_bytes: flush,
        compaction_read_bytes: d(|s| s.compaction_read_bytes),
        compaction_write_bytes: compaction_write,
        memtable_bytes: end.memtable_bytes,
        block_cache_usage: end.block_cache_usage,
        sst_bytes: end.sst_bytes,
        live_data_bytes: end.live_data_bytes,
        files_per_level: end.files_per_level.clone(),
        samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_and_ratios_cover_only_the_measured_part() {
        let start = StatsSnapshot {
            user_bytes_written: 100,
            flush_bytes: 50,
            block_cache_hits: 10,
            ..StatsSnapshot::default()
        };
        let end = StatsSnapshot {
            user_bytes_written: 1100,
            flush_bytes: 1050,
            compaction_write_bytes: 500,
            block_cache_hits: 40,
            block_cache_misses: 10,
            sst_bytes: 300,
            live_data_bytes: 200,
            ..StatsSnapshot::default()
        };
        let s = summarize_stats(&start, &end, vec![]);
        assert_eq!(s.write_amplification, 1.5);
        assert_eq!(s.block_cache_hit_rate, 0.75);
        assert_eq!(s.space_amplification, 1.5);
        assert_eq!(s.block_bytes_per_get, 0.0);
    }
}
