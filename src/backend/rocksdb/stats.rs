//! RocksDB's own numbers for one instance: tickers from its statistics object (cumulative since
//! open) and properties summed over the state column families.

use anyhow::Result;
use rocksdb::statistics::Ticker;

use super::OpenDb;
use crate::backend::StatsSnapshot;

/// LSM levels reported (RocksDB's default `num_levels`).
const LEVELS: usize = 7;

/// Reads the counters and gauges of `db` now.
pub(super) fn snapshot(db: &OpenDb) -> Result<StatsSnapshot> {
    let ticker = |t| db.db_opts.get_ticker_count(t);
    let sum = |name: &str| -> Result<u64> {
        let mut total = 0;
        for cf in &db.cfs {
            total += db.db.property_int_value_cf(*cf, name)?.unwrap_or(0);
        }
        Ok(total)
    };
    let mut files_per_level = Vec::with_capacity(LEVELS);
    for level in 0..LEVELS {
        files_per_level.push(sum(&format!("rocksdb.num-files-at-level{level}"))?);
    }
    // "rocksdb.db-write-stall-stats" is a map; its string form lists `total-delays=N` and
    // `total-stops=N` among other counts.
    let stall_count = db
        .db
        .property_value("rocksdb.db-write-stall-stats")?
        .map_or(0, |text| stall_events(&text));
    let block_cache_usage = match db.cfs.first() {
        Some(cf) => db
            .db
            .property_int_value_cf(*cf, "rocksdb.block-cache-usage")?
            .unwrap_or(0),
        None => 0,
    };
    Ok(StatsSnapshot {
        user_bytes_written: ticker(Ticker::BytesWritten),
        keys_read: ticker(Ticker::NumberKeysRead),
        flush_bytes: ticker(Ticker::FlushWriteBytes),
        compaction_read_bytes: ticker(Ticker::CompactReadBytes),
        compaction_write_bytes: ticker(Ticker::CompactWriteBytes),
        block_cache_hits: ticker(Ticker::BlockCacheHit),
        block_cache_misses: ticker(Ticker::BlockCacheMiss),
        block_bytes_read: ticker(Ticker::BlockCacheBytesRead)
            + ticker(Ticker::BlockCacheBytesWrite),
        stall_micros: ticker(Ticker::StallMicros),
        stall_count,
        memtable_bytes: sum("rocksdb.cur-size-all-mem-tables")?,
        block_cache_usage,
        sst_bytes: sum("rocksdb.total-sst-files-size")?,
        live_data_bytes: sum("rocksdb.estimate-live-data-size")?,
        files_per_level,
    })
}

/// Sums `total-delays` and `total-stops` in a write-stall-stats string.
fn stall_events(text: &str) -> u64 {
    text.split([';', ',', '\n', ' '])
        .filter_map(|field| field.trim().split_once('='))
        .filter(|(key, _)| matches!(key.trim(), "total-delays" | "total-stops"))
        .filter_map(|(_, value)| value.trim().parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::stall_events;

    #[test]
    fn stall_counts_are_read_from_the_property_text() {
        assert_eq!(
            stall_events("cf-l0-file-count-limit-delays=1; total-delays=3; total-stops=2;"),
            5
        );
        assert_eq!(stall_events(""), 0);
    }
}
