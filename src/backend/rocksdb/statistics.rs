//! Whether a DB gets RocksDB's statistics object, and at which level: as in Flink, only when a
//! statistics-based native metric asks for one (or statebench's `--rocksdb-statistics` does),
//! because counting every get and put costs throughput.

use serde::{Deserialize, Serialize};

/// Flink's statistics-based native metric keys (`RocksDBNativeMetricOptions`, reported at the
/// database level): with any of them true, Flink gives every DB a statistics object.
pub const TICKER_METRIC_KEYS: [&str; 11] = [
    "state.backend.rocksdb.metrics.block-cache-hit",
    "state.backend.rocksdb.metrics.block-cache-miss",
    "state.backend.rocksdb.metrics.bloom-filter-useful",
    "state.backend.rocksdb.metrics.bloom-filter-full-positive",
    "state.backend.rocksdb.metrics.bloom-filter-full-true-positive",
    "state.backend.rocksdb.metrics.bytes-read",
    "state.backend.rocksdb.metrics.iter-bytes-read",
    "state.backend.rocksdb.metrics.bytes-written",
    "state.backend.rocksdb.metrics.compaction-read-bytes",
    "state.backend.rocksdb.metrics.compaction-write-bytes",
    "state.backend.rocksdb.metrics.stall-micros",
];

/// Which of [`TICKER_METRIC_KEYS`] a job sets to true, one bit each (a set of keys small enough
/// to keep the backend configuration small).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickerMetrics(u16);

impl TickerMetrics {
    /// The set with `key` in it too; unchanged when `key` is not one of [`TICKER_METRIC_KEYS`].
    pub fn with(self, key: &str) -> TickerMetrics {
        match TICKER_METRIC_KEYS.iter().position(|k| *k == key) {
            Some(bit) => TickerMetrics(self.0 | 1 << bit),
            None => self,
        }
    }

    /// The keys in the set, in [`TICKER_METRIC_KEYS`] order.
    pub fn keys(self) -> impl Iterator<Item = &'static str> {
        TICKER_METRIC_KEYS
            .into_iter()
            .enumerate()
            .filter(move |(bit, _)| self.0 & 1 << bit != 0)
            .map(|(_, key)| key)
    }

    /// Whether no key is set (Flink then creates no statistics object).
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Whether and how RocksDB keeps its statistics object, the source of its tickers (cache hits,
/// bytes written by flushes and compactions, stall time) and histograms. Properties (memtable
/// and SST sizes, files per level, stall counts) need none and are always read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RocksStatistics {
    /// No statistics object, as Flink runs by default: the tickers are not measured.
    #[default]
    Off,
    /// Tickers only (`ExceptHistogramOrTimers`), for the report's explanations
    /// (`--rocksdb-statistics`).
    Tickers,
    /// What Flink creates when a statistics-based native metric is on: RocksJava's
    /// `new Statistics()`, whose level is RocksDB's default `kExceptDetailedTimers` (tickers,
    /// histograms and most timers).
    Flink,
}

impl RocksStatistics {
    /// The statistics object a DB gets for `metrics` (Flink's keys) and `tickers`
    /// (`--rocksdb-statistics`): Flink's when one of its metrics is on (a superset of
    /// statebench's), else statebench's tickers when asked for, else none.
    pub fn of(metrics: TickerMetrics, tickers: bool) -> RocksStatistics {
        match (metrics.is_empty(), tickers) {
            (false, _) => RocksStatistics::Flink,
            (true, true) => RocksStatistics::Tickers,
            (true, false) => RocksStatistics::Off,
        }
    }

    /// The level RocksDB is given, None for no statistics object.
    pub(super) fn level(self) -> Option<rocksdb::statistics::StatsLevel> {
        use rocksdb::statistics::StatsLevel;
        match self {
            RocksStatistics::Off => None,
            RocksStatistics::Tickers => Some(StatsLevel::ExceptHistogramOrTimers),
            RocksStatistics::Flink => Some(StatsLevel::ExceptDetailedTimers),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flink_metric_key_turns_flinks_statistics_on_over_statebenchs_tickers() {
        let none = TickerMetrics::default();
        assert_eq!(RocksStatistics::of(none, false), RocksStatistics::Off);
        assert_eq!(RocksStatistics::of(none, true), RocksStatistics::Tickers);
        let some = none
            .with("state.backend.rocksdb.metrics.stall-micros")
            .with("state.backend.rocksdb.metrics.block-cache-hit")
            .with("state.backend.rocksdb.metrics.no-such-metric");
        assert_eq!(
            some.keys().collect::<Vec<_>>(),
            [
                "state.backend.rocksdb.metrics.block-cache-hit",
                "state.backend.rocksdb.metrics.stall-micros"
            ]
        );
        assert_eq!(RocksStatistics::of(some, false), RocksStatistics::Flink);
        assert_eq!(RocksStatistics::of(some, true), RocksStatistics::Flink);
    }
}
