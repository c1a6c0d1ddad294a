//! Each predefined profile reaches RocksDB with Flink 2.x's values: read back from the OPTIONS
//! file RocksDB itself writes, for every state column family.

use crate::common;

use statebench::backend::rocksdb::options_file::{
    parse_options_file, rocksdb_version, OptionsFile,
};
use statebench::backend::rocksdb::{MemoryMode, PredefinedProfile, RocksDbConfig};
use statebench::backend::BackendConfig;

/// Flink 2.x's effective settings per profile (flink-state-backends.md §1b):
/// (profile, max_background_jobs, dynamic level bytes, target file size base,
///  max bytes for level base, write buffer number, min to merge, block size, bloom filter).
struct Expected {
    profile: PredefinedProfile,
    jobs: &'static str,
    dynamic: &'static str,
    target: &'static str,
    base: &'static str,
    buffers: &'static str,
    merge: &'static str,
    block: &'static str,
    bloom: bool,
}

const fn row(
    profile: PredefinedProfile,
    [jobs, dynamic, target, base, buffers, merge, block]: [&'static str; 7],
    bloom: bool,
) -> Expected {
    Expected {
        profile,
        jobs,
        dynamic,
        target,
        base,
        buffers,
        merge,
        block,
        bloom,
    }
}

const EXPECTED: [Expected; 4] = [
    row(
        PredefinedProfile::Default,
        ["2", "false", "67108864", "268435456", "2", "1", "4096"],
        false,
    ),
    row(
        PredefinedProfile::SpinningDiskOptimized,
        ["4", "true", "67108864", "268435456", "2", "1", "4096"],
        false,
    ),
    row(
        PredefinedProfile::SpinningDiskOptimizedHighMem,
        ["4", "true", "268435456", "1073741824", "4", "3", "131072"],
        true,
    ),
    row(
        PredefinedProfile::FlashSsdOptimized,
        ["4", "false", "67108864", "268435456", "2", "1", "4096"],
        false,
    ),
];

fn options_of(config: RocksDbConfig) -> OptionsFile {
    let spec = common::mixed_spec(10, 10);
    let dir = tempfile::tempdir().unwrap();
    let backend = BackendConfig::RocksDb(config)
        .open(&common::layout(&spec), &dir.path().join("db"))
        .unwrap();
    let path = backend
        .options_file()
        .expect("RocksDB wrote an OPTIONS file");
    parse_options_file(&path).unwrap()
}

fn get<'a>(file: &'a OptionsFile, section: &str, key: &str) -> &'a str {
    file.get(section)
        .and_then(|s| s.get(key))
        .unwrap_or_else(|| panic!("[{section}] {key} missing"))
}

#[test]
fn every_profile_sets_flinks_values_on_every_state() {
    for e in EXPECTED {
        let profile = e.profile;
        let file = options_of(RocksDbConfig::new(profile));
        let db = "DBOptions";
        assert_eq!(get(&file, db, "max_background_jobs"), e.jobs, "{profile}");
        assert_eq!(get(&file, db, "max_open_files"), "-1", "{profile}");
        assert_eq!(get(&file, db, "use_fsync"), "false", "{profile}");
        assert!(rocksdb_version(&file).is_some_and(|v| v.starts_with("11.")));
        for state in ["v", "l", "m", "default"] {
            let cf = format!("CFOptions \"{state}\"");
            let table = format!("TableOptions/BlockBasedTable \"{state}\"");
            let what = format!("{profile} {state}");
            assert_eq!(
                get(&file, &cf, "level_compaction_dynamic_level_bytes"),
                e.dynamic,
                "{what}"
            );
            assert_eq!(get(&file, &cf, "target_file_size_base"), e.target, "{what}");
            assert_eq!(
                get(&file, &cf, "max_bytes_for_level_base"),
                e.base,
                "{what}"
            );
            assert_eq!(
                get(&file, &cf, "max_write_buffer_number"),
                e.buffers,
                "{what}"
            );
            assert_eq!(
                get(&file, &cf, "min_write_buffer_number_to_merge"),
                e.merge,
                "{what}"
            );
            assert_eq!(get(&file, &cf, "write_buffer_size"), "67108864", "{what}");
            assert_eq!(
                get(&file, &cf, "compaction_style"),
                "kCompactionStyleLevel",
                "{what}"
            );
            assert_eq!(
                get(&file, &cf, "compression_per_level"),
                "kSnappyCompression",
                "{what}"
            );
            assert_eq!(
                get(&file, &cf, "compression"),
                "kSnappyCompression",
                "{what}"
            );
            assert_eq!(
                get(&file, &cf, "merge_operator"),
                "stringappendtest",
                "{what}"
            );
            assert_eq!(
                get(&file, &cf, "level0_file_num_compaction_trigger"),
                "4",
                "{what}"
            );
            assert_eq!(get(&file, &table, "block_size"), e.block, "{what}");
            assert_eq!(get(&file, &table, "metadata_block_size"), "4096", "{what}");
            assert_eq!(
                get(&file, &table, "cache_index_and_filter_blocks"),
                "true",
                "{what}"
            );
            assert_eq!(
                get(
                    &file,
                    &table,
                    "cache_index_and_filter_blocks_with_high_priority"
                ),
                "true",
                "{what}"
            );
            assert_eq!(
                get(&file, &table, "pin_l0_filter_and_index_blocks_in_cache"),
                "true",
                "{what}"
            );
            let filter = get(&file, &table, "filter_policy");
            assert_eq!(
                filter.contains("bloomfilter"),
                e.bloom,
                "{what}: filter_policy={filter}"
            );
        }
    }
}

#[test]
fn unmanaged_memory_leaves_index_and_filter_blocks_out_of_the_cache() {
    let mut config = RocksDbConfig::new(PredefinedProfile::Default);
    config.memory = MemoryMode::Unmanaged;
    let file = options_of(config);
    let table = "TableOptions/BlockBasedTable \"v\"";
    assert_eq!(get(&file, table, "cache_index_and_filter_blocks"), "false");
    assert_eq!(
        get(&file, "CFOptions \"v\"", "merge_operator"),
        "stringappendtest"
    );
}
