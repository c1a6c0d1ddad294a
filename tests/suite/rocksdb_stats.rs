//! RocksDB's statistics are read per cell and are plausible on a workload that writes, flushes
//! and compacts; without a statistics object (Flink's default) the ticker figures are absent
//! and the properties are still there.

use crate::common;

use std::time::Duration;

use statebench::backend::rocksdb::{
    PredefinedProfile, RocksDbBackend, RocksDbConfig, RocksStatistics,
};
use statebench::backend::{Backend, StateLayout};
use statebench::checkpoint::CheckpointMode;
use statebench::measure::summarize_stats;
use statebench::workload::{fill_value, Namespace, OpKind, StateKind, StateOp, ValueRef};

/// Writes 3 × 20k values with a full compaction after each round, then reads 5k of them:
/// RocksDB's statistics of that, taken with `config`.
fn forced_flushes_and_compactions(config: &RocksDbConfig) -> statebench::results::RocksDbStats {
    let dir = tempfile::tempdir().unwrap();
    let layout = StateLayout {
        states: vec![("v".into(), StateKind::Value)],
        max_parallelism: 128,
        ttl: None,
    };
    let mut b = RocksDbBackend::open(config, &layout, dir.path()).unwrap();
    let start = b.stats().unwrap().unwrap();
    let mut value = Vec::new();
    for round in 0..3u64 {
        for key in 0..20_000u64 {
            let v = ValueRef {
                tag: key ^ round,
                len: 100,
            };
            fill_value(v, &mut value);
            let op = StateOp {
                state: 0,
                key,
                namespace: Namespace::Void,
                kind: OpKind::ValuePut(v),
            };
            b.apply(&op, &value).unwrap();
        }
        b.compact().unwrap();
    }
    for key in 0..5_000u64 {
        let op = StateOp {
            state: 0,
            key,
            namespace: Namespace::Void,
            kind: OpKind::ValueGet,
        };
        assert!(b.apply(&op, &[]).unwrap().found);
    }
    let end = b.stats().unwrap().unwrap();
    summarize_stats(config.statistics_level(), &start, &end, vec![])
}

#[test]
fn forced_flushes_and_compactions_show_in_the_statistics() {
    let mut config = RocksDbConfig::new(PredefinedProfile::Default);
    config.statistics = true;
    assert_eq!(config.statistics_level(), RocksStatistics::Tickers);
    let s = forced_flushes_and_compactions(&config);
    let (user, flush, written, read) = (
        s.user_bytes_written.unwrap(),
        s.flush_bytes.unwrap(),
        s.compaction_write_bytes.unwrap(),
        s.compaction_read_bytes.unwrap(),
    );
    assert!(user >= 3 * 20_000 * 100, "{s:?}");
    assert!(flush > 0 && written > 0 && read > 0, "{s:?}");
    assert!(
        s.write_amplification.unwrap() >= 1.0,
        "flush + compaction rewrote everything: {s:?}"
    );
    assert!(
        s.space_amplification >= 0.5 && s.space_amplification < 3.0,
        "{s:?}"
    );
    let hits = s.block_cache_hit_rate.unwrap();
    assert!(hits > 0.0 && hits <= 1.0, "{s:?}");
    assert!(s.block_bytes_per_get.unwrap() > 0.0, "{s:?}");
    assert!(
        s.sst_bytes > 0 && s.live_data_bytes > 0 && s.block_cache_usage > 0,
        "{s:?}"
    );
    assert_eq!(s.files_per_level.len(), 7);
    assert!(s.files_per_level.iter().sum::<u64>() >= 1, "{s:?}");
}

#[test]
fn without_statistics_as_in_flink_only_the_properties_are_read() {
    let config = RocksDbConfig::new(PredefinedProfile::Default);
    assert_eq!(config.statistics_level(), RocksStatistics::Off);
    let s = forced_flushes_and_compactions(&config);
    assert_eq!(s.statistics, RocksStatistics::Off);
    assert!(
        s.write_amplification.is_none()
            && s.block_cache_hit_rate.is_none()
            && s.flush_bytes.is_none()
            && s.stall_ms.is_none(),
        "a DB without a statistics object counts no tickers: {s:?}"
    );
    assert!(
        s.sst_bytes > 0 && s.live_data_bytes > 0 && s.block_cache_usage > 0,
        "{s:?}"
    );
    assert!(s.files_per_level.iter().sum::<u64>() >= 1, "{s:?}");
}

#[test]
fn rocksdb_cells_carry_statistics_and_samples() {
    let spec = common::mixed_spec(150_000, 5_000);
    let dir = tempfile::tempdir().unwrap();
    let paths = common::cell_paths(dir.path());
    let result = common::run(
        &spec,
        common::every_backend().remove(1),
        CheckpointMode::Incremental,
        Duration::from_millis(200),
        &paths,
    );
    let s = result.rocksdb.expect("RocksDB statistics");
    assert_eq!(s.statistics, RocksStatistics::Off, "Flink's default");
    assert!(s.flush_bytes.is_none(), "{s:?}");
    assert!(s.sst_bytes > 0, "checkpoints flush: {s:?}");
    assert!(s.samples.windows(2).all(|w| w[0].t_s < w[1].t_s));
    let heap = common::run(
        &spec,
        common::every_backend().remove(0),
        CheckpointMode::None,
        Duration::from_secs(1),
        &paths,
    );
    assert!(heap.rocksdb.is_none());
}

#[test]
fn write_stalls_are_timed_and_counted() {
    // Tiny memtables and one background job: flushes fall behind and writes stall.
    let mut config = statebench::config::FlinkConfig::default();
    config
        .set("state.backend.rocksdb.writebuffer.size=64kb")
        .unwrap();
    config.set("state.backend.rocksdb.thread.num=1").unwrap();
    config
        .set("state.backend.rocksdb.memory.managed=false")
        .unwrap();
    // Flink's statistics-based native metric for it gives the DB Flink's statistics object.
    config
        .set("state.backend.rocksdb.metrics.stall-micros=true")
        .unwrap();
    let rocks = config.resolve(None).unwrap().rocksdb_config;
    assert_eq!(rocks.statistics_level(), RocksStatistics::Flink);
    let dir = tempfile::tempdir().unwrap();
    let layout = StateLayout {
        states: vec![("v".into(), StateKind::Value)],
        max_parallelism: 128,
        ttl: None,
    };
    let mut b = RocksDbBackend::open(&rocks, &layout, dir.path()).unwrap();
    let start = b.stats().unwrap().unwrap();
    let mut value = Vec::new();
    for key in 0..200_000u64 {
        let v = ValueRef { tag: key, len: 200 };
        fill_value(v, &mut value);
        let op = StateOp {
            state: 0,
            key,
            namespace: Namespace::Void,
            kind: OpKind::ValuePut(v),
        };
        b.apply(&op, &value).unwrap();
    }
    let s = summarize_stats(
        rocks.statistics_level(),
        &start,
        &b.stats().unwrap().unwrap(),
        vec![],
    );
    assert!(s.stall_ms.unwrap() > 0.0 && s.stall_count > 0, "{s:?}");
    assert!(
        s.files_per_level[0] > 0 || s.files_per_level[1] > 0,
        "{s:?}"
    );
}
