//! Flink's configuration as input: both file forms, memory sizes, priorities, errors, memory
//! modes read back from RocksDB, user profiles.

use crate::common;

use std::process::Command;

use statebench::backend::rocksdb::options_file::parse_options_file;
use statebench::backend::rocksdb::{
    MemoryMode, PredefinedProfile, RocksDbBackend, SharedMemory, TimerFactory,
};
use statebench::backend::BackendConfig;
use statebench::checkpoint::CheckpointMode;
use statebench::config::{load_user_profiles, parse_memory_size, BackendType, FlinkConfig};

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const FLAT: &str = "\
# a legacy flink-conf.yaml
taskmanager.numberOfTaskSlots: 2
state.backend.type: rocksdb
state.backend.rocksdb.writebuffer.size: 128 mb
state.backend.rocksdb.compression.per.level: LZ4_COMPRESSION;ZSTD_COMPRESSION
state.backend.rocksdb.timer-service.factory: HEAP
execution.checkpointing.interval: 30 s
execution.checkpointing.incremental: true
execution.checkpointing.timeout: 10 min
rest.port: 8081
";

const NESTED: &str = "\
taskmanager:
  numberOfTaskSlots: 2
state:
  backend:
    type: rocksdb
    rocksdb:
      writebuffer:
        size: 128 mb
      compression.per.level: [LZ4_COMPRESSION, ZSTD_COMPRESSION]
      timer-service.factory: HEAP
execution:
  checkpointing:
    interval: 30 s
    incremental: true
    timeout: 10 min
rest.port: 8081
";

#[test]
fn both_file_forms_resolve_alike_with_user_over_profile_over_default() {
    let dir = tempfile::tempdir().unwrap();
    let flat = FlinkConfig::from_file(&write(dir.path(), "flink-conf.yaml", FLAT)).unwrap();
    let nested = FlinkConfig::from_file(&write(dir.path(), "config.yaml", NESTED)).unwrap();
    for config in [flat, nested] {
        let r = config
            .resolve(Some(PredefinedProfile::SpinningDiskOptimizedHighMem))
            .unwrap();
        assert_eq!(r.backend, Some(BackendType::RocksDb));
        let s = &r.rocksdb_config.settings;
        assert_eq!(
            s.write_buffer_size,
            128 << 20,
            "user setting beats the profile's 64 MiB"
        );
        assert_eq!(
            s.block_size,
            128 << 10,
            "profile setting beats Flink's 4 KiB default"
        );
        assert_eq!(
            s.metadata_block_size,
            4 << 10,
            "Flink's default where nobody set anything"
        );
        assert_eq!(s.compression_per_level.len(), 2);
        assert_eq!(r.rocksdb_config.timers, TimerFactory::Heap);
        let c = r.checkpoint.setting().unwrap();
        assert_eq!(
            (c.mode, c.interval.as_secs()),
            (CheckpointMode::Incremental, 30)
        );
        // Two slots share the default managed memory of one.
        let default = config.resolve(None).unwrap();
        assert_eq!(default.rocksdb_config.profile, PredefinedProfile::Default);
    }
}

#[test]
fn set_overrides_the_file_and_memory_sizes_parse_as_flink_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = FlinkConfig::from_file(&write(dir.path(), "flink-conf.yaml", FLAT)).unwrap();
    config
        .set("state.backend.rocksdb.writebuffer.size=1gb")
        .unwrap();
    config
        .set("state.backend.rocksdb.predefined-options=FLASH_SSD_OPTIMIZED")
        .unwrap();
    let r = config.resolve(None).unwrap();
    assert_eq!(r.rocksdb_config.settings.write_buffer_size, 1 << 30);
    assert_eq!(
        r.rocksdb_config.profile,
        PredefinedProfile::FlashSsdOptimized
    );
    assert_eq!(r.rocksdb_config.settings.max_background_jobs, 4);
    for (text, bytes) in [
        ("64mb", 64 << 20),
        ("1 gb", 1 << 30),
        ("512 KB", 512 << 10),
        ("1024", 1024),
        ("2t", 2u64 << 40),
        ("3 mebibytes", 3 << 20),
    ] {
        assert_eq!(parse_memory_size(text), Some(bytes), "{text}");
    }
    for text in ["", "mb", "12 parsecs", "-1mb", "1.5gb"] {
        assert_eq!(parse_memory_size(text), None, "{text}");
    }
}

#[test]
fn mistakes_name_the_key_the_value_and_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "state.backend.rocksdb.writebuffer.sizes: 64mb\n",
            &[
                "flink-conf.yaml, line 1",
                "unknown key",
                "did you mean `state.backend.rocksdb.writebuffer.size`",
            ][..],
        ),
        (
            "state.backend.rocksdb.compaction.style: SIDEWAYS\n",
            &["compaction.style", "\"SIDEWAYS\"", "LEVEL, UNIVERSAL, FIFO"][..],
        ),
        (
            "state.backend.rocksdb.writebuffer.size: lots\n",
            &["writebuffer.size", "\"lots\"", "memory size"][..],
        ),
        (
            "state.backend.rocksdb.memory.write-buffer-ratio: 1.5\n",
            &["write-buffer-ratio", "between 0 and 1"][..],
        ),
        (
            "state.backend.rocksdb.compression.per.level: ZLIB_COMPRESSION\n",
            &["compression.per.level", "ZLIB"][..],
        ),
        (
            "execution.checkpointing.interval: soon\n",
            &["execution.checkpointing.interval", "duration"][..],
        ),
        (
            "state.backend.rocksdb.thread.num 4\n",
            &["line 1", "key: value"][..],
        ),
        (
            "state.backend.rocksdb.metrics.block-cache-hits: true\n",
            &["did you mean `state.backend.rocksdb.metrics.block-cache-hit`"][..],
        ),
        (
            "state.backend.rocksdb.metrics.stall-micros: yes please\n",
            &["metrics.stall-micros", "\"yes please\""][..],
        ),
    ];
    for (text, needles) in cases {
        let path = write(dir.path(), "flink-conf.yaml", text);
        let err = match FlinkConfig::from_file(&path).and_then(|c| c.resolve(None)) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => format!("{e:#}"),
        };
        for needle in needles {
            assert!(err.contains(needle), "{needle:?} not in {err}");
        }
    }
    let mut config = FlinkConfig::default();
    assert!(format!("{:#}", config.set("no-equals-sign").unwrap_err()).contains("key=value"));
    assert!(format!(
        "{:#}",
        config
            .set("state.backend.rocksdb.blocksize=4kb")
            .unwrap_err()
    )
    .contains("did you mean `state.backend.rocksdb.block.blocksize`"));
}

#[test]
fn taskmanager_sizes_that_do_not_add_up_are_refused_with_flinks_reason() {
    let mut config = FlinkConfig::default();
    config.set("taskmanager.memory.process.size=300m").unwrap();
    let error = format!("{:#}", config.resolve(None).unwrap_err());
    assert!(
        error.contains("exceed configured Total Process Memory"),
        "{error}"
    );
}

#[test]
fn memory_modes_and_their_capacities_read_back_from_rocksdb() {
    let spec = common::mixed_spec(10, 10);
    let layout = common::layout(&spec);
    let cases = [
        ("", MemoryMode::DEFAULT_MANAGED_BYTES),
        ("taskmanager.memory.managed.size: 600mb\ntaskmanager.numberOfTaskSlots: 2\n", 300 << 20),
        // Flink's arithmetic: 4g process − 256m metaspace − 0.1f·4g overhead, × 0.4f, over 2 slots.
        ("taskmanager.memory.process.size: 4096m\ntaskmanager.numberOfTaskSlots: 2\n", 1_438_814_063 / 2),
        ("taskmanager.memory.flink.size: 2g\ntaskmanager.memory.managed.fraction: 0.5\n", 1 << 30),
        ("state.backend.rocksdb.memory.fixed-per-slot: 120mb\nstate.backend.rocksdb.memory.write-buffer-ratio: 0.25\n", 120 << 20),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (text, total)) in cases.into_iter().enumerate() {
        let config = FlinkConfig::from_file(&write(dir.path(), "flink-conf.yaml", text)).unwrap();
        let rocks = config.resolve(None).unwrap().rocksdb_config;
        let ratio = if text.contains("0.25") { 0.25 } else { 0.5 };
        let (cache, wbm) = MemoryMode::shared_capacities(total, ratio);
        assert_eq!(cache, ((3.0 - ratio) * total as f64 / 3.0) as u64);
        let shared = SharedMemory::new(&rocks.memory).unwrap().unwrap();
        assert_eq!(shared.native_write_buffer_size(), wbm, "case {i}");
        assert_eq!(shared.native_cache_capacity(), cache, "case {i}");
        let backend =
            RocksDbBackend::open(&rocks, &layout, &dir.path().join(format!("db{i}"))).unwrap();
        assert_eq!(
            backend.property("rocksdb.block-cache-capacity").unwrap(),
            Some(cache),
            "case {i}"
        );
    }
    let unmanaged = FlinkConfig::from_file(&write(
        dir.path(),
        "flink-conf.yaml",
        "state.backend.rocksdb.memory.managed: false\n",
    ))
    .unwrap();
    let rocks = unmanaged.resolve(None).unwrap().rocksdb_config;
    assert_eq!(rocks.memory, MemoryMode::Unmanaged);
    assert!(SharedMemory::new(&rocks.memory).unwrap().is_none());
    let backend = RocksDbBackend::open(&rocks, &layout, &dir.path().join("unmanaged")).unwrap();
    assert_eq!(
        backend.property("rocksdb.block-cache-capacity").unwrap(),
        Some(8 << 20),
        "per-CF block.cache-size"
    );
}

#[test]
fn user_settings_reach_the_options_file() {
    let spec = common::mixed_spec(10, 10);
    let dir = tempfile::tempdir().unwrap();
    let mut config = FlinkConfig::default();
    config
        .set("state.backend.rocksdb.writebuffer.size=32mb")
        .unwrap();
    config
        .set("state.backend.rocksdb.compression.per.level=LZ4_COMPRESSION")
        .unwrap();
    config
        .set("state.backend.rocksdb.memory.partitioned-index-filters=true")
        .unwrap();
    let rocks = config
        .resolve(Some(PredefinedProfile::Default))
        .unwrap()
        .rocksdb_config;
    let backend = BackendConfig::RocksDb(rocks)
        .open(&common::layout(&spec), &dir.path().join("db"))
        .unwrap();
    let options = parse_options_file(&backend.options_file().unwrap()).unwrap();
    let cf = &options["CFOptions \"v\""];
    assert_eq!(cf["write_buffer_size"], "33554432");
    assert_eq!(cf["compression_per_level"], "kLZ4Compression");
    let table = &options["TableOptions/BlockBasedTable \"v\""];
    assert_eq!(table["index_type"], "kTwoLevelIndexSearch");
    assert_eq!(table["partition_filters"], "true");
    // DEFAULT has no Bloom filter, and partitioned index/filters add none (as in Flink).
    assert_eq!(table["filter_policy"], "nullptr");
}

#[test]
fn partitioned_filters_turn_an_existing_bloom_filter_into_a_full_one_of_10_bits() {
    let spec = common::mixed_spec(10, 10);
    let dir = tempfile::tempdir().unwrap();
    let mut config = FlinkConfig::default();
    for key in [
        "state.backend.rocksdb.use-bloom-filter=true",
        "state.backend.rocksdb.bloom-filter.bits-per-key=20",
        "state.backend.rocksdb.memory.partitioned-index-filters=true",
    ] {
        config.set(key).unwrap();
    }
    let rocks = config.resolve(None).unwrap().rocksdb_config;
    let backend = BackendConfig::RocksDb(rocks)
        .open(&common::layout(&spec), &dir.path().join("db"))
        .unwrap();
    let options = parse_options_file(&backend.options_file().unwrap()).unwrap();
    let policy = &options["TableOptions/BlockBasedTable \"v\""]["filter_policy"];
    // The OPTIONS file names the policy but not its bits per key.
    assert_eq!(policy, "bloomfilter");
}

#[test]
fn user_profiles_load_and_run_beside_the_predefined_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "profiles.yaml",
        "BIG_BUFFERS:\n  state.backend.rocksdb.predefined-options: FLASH_SSD_OPTIMIZED\n  state.backend.rocksdb.writebuffer.size: 256mb\nBLOOM:\n  state:\n    backend:\n      rocksdb:\n        use-bloom-filter: true\n",
    );
    let profiles = load_user_profiles(&path).unwrap();
    assert_eq!(profiles.len(), 2);
    let big = profiles[0].config.resolve(None).unwrap().rocksdb_config;
    assert_eq!(big.profile, PredefinedProfile::FlashSsdOptimized);
    assert_eq!(big.settings.write_buffer_size, 256 << 20);
    assert!(
        profiles[1]
            .config
            .resolve(None)
            .unwrap()
            .rocksdb_config
            .settings
            .use_bloom_filter
    );
    for bad in [
        "DEFAULT:\n  state.backend.rocksdb.thread.num: 4\n",
        "X:\n  state.backend.rocksdb.thread.nums: 4\n",
        "X: 4\n",
        "X:\n  execution.checkpointing.interval: 1s\n",
    ] {
        let p = write(dir.path(), "bad.yaml", bad);
        let err = format!("{:#}", load_user_profiles(&p).unwrap_err());
        assert!(err.contains("bad.yaml"), "{err}");
    }
    // The matrix runs them: a tiny workload, every cell.
    let workload = write(
        dir.path(),
        "w.json",
        r#"{"name":"t","description":"d","seed":1,"events":400,"warmup_events":40,"max_parallelism":128,"keys":{"count":50,"distribution":{"type":"uniform"}},"value_size":{"type":"fixed","bytes":8},"states":[{"type":"value","name":"v","read_only_fraction":0.5}]}"#,
    );
    let out = Command::new(env!("CARGO_BIN_EXE_statebench"))
        .args([
            "matrix",
            workload.to_str().unwrap(),
            "--interval",
            "50ms",
            "--profiles",
            path.to_str().unwrap(),
            "--set",
            "state.backend.rocksdb.thread.num=3",
            "--repeats",
            "1",
            "--keep-page-cache",
            "--reports",
        ])
        .arg(dir.path().join("reports"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("rocksdb-BIG_BUFFERS-incremental") && stderr.contains("rocksdb-BLOOM-full"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[20/20]"),
        "2 heap cells + 6 RocksDB configurations × 3 modes: {stderr}"
    );
    assert_eq!(stderr.matches("verified").count(), 1 + 6 * 2, "{stderr}");
    let bad = Command::new(env!("CARGO_BIN_EXE_statebench"))
        .args([
            "matrix",
            workload.to_str().unwrap(),
            "--set",
            "state.backend.rocksdb.thread.num=many",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("thread.num"));
}

/// The high-priority pool ratio reaches the block cache RocksDB runs with: read back from the
/// cache object and from the DB's LOG, where RocksDB prints each column family's table options.
#[test]
fn high_priority_pool_ratio_is_applied_to_the_shared_cache() {
    let spec = common::mixed_spec(10, 10);
    let layout = common::layout(&spec);
    let dir = tempfile::tempdir().unwrap();
    for (i, (set, printed)) in [(None, "0.100"), (Some("0.25"), "0.250")]
        .into_iter()
        .enumerate()
    {
        let rocks =
            common::flink_config_with("state.backend.rocksdb.memory.high-prio-pool-ratio", set)
                .and_then(|c| c.resolve(None))
                .unwrap()
                .rocksdb_config;
        let shared = SharedMemory::new(&rocks.memory).unwrap().unwrap();
        let expected = format!("high_pri_pool_ratio: {printed}");
        assert!(
            shared.cache_options().contains(&expected),
            "{}",
            shared.cache_options()
        );
        let db = dir.path().join(format!("db{i}"));
        drop(RocksDbBackend::open(&rocks, &layout, &db).unwrap());
        let log = std::fs::read_to_string(db.join("LOG")).unwrap();
        // Every column family's table factory prints the cache it reads through.
        let printed_ratios: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("high_pri_pool_ratio:"))
            .collect();
        assert!(!printed_ratios.is_empty());
        assert!(
            printed_ratios.iter().all(|l| l.contains(&expected)),
            "{printed_ratios:?}"
        );
    }
}

/// Flink's `RocksDBMemoryConfiguration.validate`: 2·w/(3−w) + h must stay below 1.
#[test]
fn memory_ratios_follow_flinks_validation() {
    let resolve = |w: &str, h: &str| {
        let mut config = FlinkConfig::default();
        config
            .set(&format!(
                "state.backend.rocksdb.memory.write-buffer-ratio={w}"
            ))
            .unwrap();
        config
            .set(&format!(
                "state.backend.rocksdb.memory.high-prio-pool-ratio={h}"
            ))
            .unwrap();
        config.resolve(None).map(|r| r.rocksdb_config.memory)
    };
    // 2·0.9/2.1 + 0.1 = 0.957: accepted although w + h = 1.
    assert!(resolve("0.9", "0.1").is_ok());
    // 2·0.9/2.1 + 0.2 = 1.057; and 2·0.6/2.4 + 0.5 = 1 exactly.
    for (w, h) in [("0.9", "0.2"), ("0.6", "0.5")] {
        let err = format!("{:#}", resolve(w, h).unwrap_err());
        assert!(
            err.contains(&format!(
                "Invalid configuration: writeBufferRatio {w} with highPriPoolRatio {h}"
            )) && err.contains("state.backend.rocksdb.memory.high-prio-pool-ratio: --set"),
            "{err}"
        );
    }
}
