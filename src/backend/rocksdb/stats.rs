//! RocksDB's own numbers for one instance: tickers from its statistics object (cumulative since
//! open), when it has one, and properties summed over the state column families.

use anyhow::Result;
use rocksdb::statistics::Ticker;

use super::db::OpenDb;
use crate::backend::api::{StatsSnapshot, TickerCounts};

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
    // Write stall counts, e.g. "Write Stall (count): ..., total-delays: 0, total-stops: 16":
    // per column family, plus the write buffer manager's stops at the DB level.
    let mut stall_count = stall_events(
        &db.db
            .property_value("rocksdb.db-write-stall-stats")?
            .unwrap_or_default(),
        &["write-buffer-manager-limit-stops"],
    );
    for cf in &db.cfs {
        let text = db
            .db
            .property_value_cf(*cf, "rocksdb.cf-write-stall-stats")?
            .unwrap_or_default();
        stall_count += stall_events(&text, &["total-delays", "total-stops"]);
    }
    let block_cache_usage = match db.cfs.first() {
        Some(cf) => db
            .db
            .property_int_value_cf(*cf, "rocksdb.block-cache-usage")?
            .unwrap_or(0),
        None => 0,
    };
    let tickers = db.statistics.then(|| TickerCounts {
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
    });
    Ok(StatsSnapshot {
        tickers,
        stall_count,
        memtable_bytes: sum("rocksdb.cur-size-all-mem-tables")?,
        block_cache_usage,
        sst_bytes: sum("rocksdb.total-sst-files-size")?,
        live_data_bytes: sum("rocksdb.estimate-live-data-size")?,
        files_per_level,
    })
}

/// Sums the named counters of a write-stall-stats string (`name: count` pairs).
fn stall_events(text: &str, names: &[&str]) -> u64 {
    let body = text.split_once("):").map_or(text, |(_, rest)| rest);
    body.split([',', '\n'])
        .filter_map(|field| field.split_once(':'))
        .filter(|(key, _)| names.contains(&key.trim()))
        .filter_map(|(_, value)| value.trim().parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::stall_events;

    #[test]
    fn stall_counts_are_read_from_the_property_text() {
        let cf = "Write Stall (count): l0-file-count-limit-delays: 0, memtable-limit-stops: 1640, \
                  total-delays: 3, total-stops: 1640\n";
        assert_eq!(stall_events(cf, &["total-delays", "total-stops"]), 1643);
        let db = "Write Stall (count): write-buffer-manager-limit-stops: 7\n";
        assert_eq!(stall_events(db, &["write-buffer-manager-limit-stops"]), 7);
        assert_eq!(stall_events("", &["total-stops"]), 0);
    }
}
