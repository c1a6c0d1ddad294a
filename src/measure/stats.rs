//! Turns a backend's raw statistics (cumulative counters since open, gauges) into what the
//! measured part of a cell did: amplification, cache hit rate, stalls, and a per-second series.

use crate::backend::rocksdb::RocksStatistics;
use crate::backend::{StatsSnapshot, TickerCounts};
use crate::results::{RocksDbStats, StatsSample};

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// Each ticker's progress from `start` to `now`; None unless both have tickers.
fn ticker_deltas(start: &StatsSnapshot, now: &StatsSnapshot) -> Option<TickerCounts> {
    let (a, b) = (start.tickers?, now.tickers?);
    Some(TickerCounts {
        user_bytes_written: b.user_bytes_written.saturating_sub(a.user_bytes_written),
        keys_read: b.keys_read.saturating_sub(a.keys_read),
        flush_bytes: b.flush_bytes.saturating_sub(a.flush_bytes),
        compaction_read_bytes: b
            .compaction_read_bytes
            .saturating_sub(a.compaction_read_bytes),
        compaction_write_bytes: b
            .compaction_write_bytes
            .saturating_sub(a.compaction_write_bytes),
        block_cache_hits: b.block_cache_hits.saturating_sub(a.block_cache_hits),
        block_cache_misses: b.block_cache_misses.saturating_sub(a.block_cache_misses),
        block_bytes_read: b.block_bytes_read.saturating_sub(a.block_bytes_read),
        stall_micros: b.stall_micros.saturating_sub(a.stall_micros),
    })
}

/// A sample `t_s` seconds into the measured part, counters relative to `start`.
pub fn sample(start: &StatsSnapshot, now: &StatsSnapshot, t_s: f64) -> StatsSample {
    let d = ticker_deltas(start, now);
    StatsSample {
        t_s,
        memtable_bytes: now.memtable_bytes,
        block_cache_usage: now.block_cache_usage,
        sst_bytes: now.sst_bytes,
        flush_bytes: d.map(|d| d.flush_bytes),
        compaction_write_bytes: d.map(|d| d.compaction_write_bytes),
        stall_ms: d.map(|d| d.stall_micros as f64 / 1e3),
    }
}

/// The statistics of the measured part, from its first and last snapshot, taken with
/// `statistics`.
pub fn summarize_stats(
    statistics: RocksStatistics,
    start: &StatsSnapshot,
    end: &StatsSnapshot,
    samples: Vec<StatsSample>,
) -> RocksDbStats {
    let d = ticker_deltas(start, end);
    RocksDbStats {
        statistics,
        write_amplification: d.map(|d| {
            ratio(
                d.flush_bytes + d.compaction_write_bytes,
                d.user_bytes_written,
            )
        }),
        space_amplification: ratio(end.sst_bytes, end.live_data_bytes),
        block_cache_hit_rate: d.map(|d| {
            ratio(
                d.block_cache_hits,
                d.block_cache_hits + d.block_cache_misses,
            )
        }),
        block_bytes_per_get: d.map(|d| ratio(d.block_bytes_read, d.keys_read)),
        stall_ms: d.map(|d| d.stall_micros as f64 / 1e3),
        stall_count: end.stall_count.saturating_sub(start.stall_count),
        user_bytes_written: d.map(|d| d.user_bytes_written),
        flush_bytes: d.map(|d| d.flush_bytes),
        compaction_read_bytes: d.map(|d| d.compaction_read_bytes),
        compaction_write_bytes: d.map(|d| d.compaction_write_bytes),
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
            tickers: Some(TickerCounts {
                user_bytes_written: 100,
                flush_bytes: 50,
                block_cache_hits: 10,
                ..TickerCounts::default()
            }),
            stall_count: 2,
            ..StatsSnapshot::default()
        };
        let end = StatsSnapshot {
            tickers: Some(TickerCounts {
                user_bytes_written: 1100,
                flush_bytes: 1050,
                compaction_write_bytes: 500,
                block_cache_hits: 40,
                block_cache_misses: 10,
                ..TickerCounts::default()
            }),
            stall_count: 5,
            sst_bytes: 300,
            live_data_bytes: 200,
            ..StatsSnapshot::default()
        };
        let s = summarize_stats(RocksStatistics::Tickers, &start, &end, vec![]);
        assert_eq!(s.write_amplification, Some(1.5));
        assert_eq!(s.block_cache_hit_rate, Some(0.75));
        assert_eq!(s.space_amplification, 1.5);
        assert_eq!(s.block_bytes_per_get, Some(0.0));
        assert_eq!(s.stall_count, 3);
    }

    #[test]
    fn without_a_statistics_object_the_ticker_figures_are_not_measured() {
        let start = StatsSnapshot::default();
        let end = StatsSnapshot {
            stall_count: 4,
            sst_bytes: 300,
            live_data_bytes: 100,
            ..StatsSnapshot::default()
        };
        let s = summarize_stats(RocksStatistics::Off, &start, &end, vec![]);
        assert_eq!(s.write_amplification, None);
        assert_eq!(s.block_cache_hit_rate, None);
        assert_eq!(s.stall_ms, None);
        assert_eq!(s.flush_bytes, None);
        assert_eq!((s.stall_count, s.space_amplification), (4, 3.0));
        let sample = sample(&start, &end, 1.0);
        assert_eq!((sample.flush_bytes, sample.sst_bytes), (None, 300));
    }
}
