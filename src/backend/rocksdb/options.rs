//! Builds RocksDB's options from resolved Flink settings, as Flink's `RocksDBResourceContainer`
//! does: base DB options, the profile's settings, the shared memory budget, and the options Flink
//! forces on every state column family (merge operator, cached index and filter blocks).

use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, Cache, ChecksumType, DBCompactionStyle,
    DBCompressionType, LogLevel, MergeOperands, Options, WriteBufferManager,
};

use super::profile::{CompactionStyle, Compression, MemoryMode, RocksSettings};

/// Flink's merge operator for list state (RocksDB's StringAppendTESTOperator, delimiter ',').
pub const MERGE_OPERATOR_NAME: &str = "stringappendtest";

/// The list delimiter Flink's `ListDelimitedSerializer` and the merge operator use.
pub const LIST_DELIMITER: u8 = b',';

/// Appends operands to the existing value, separated by ','.
fn string_append(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &MergeOperands,
) -> Option<Vec<u8>> {
    let size: usize =
        existing.map_or(0, |e| e.len() + 1) + operands.iter().map(|o| o.len() + 1).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    if let Some(e) = existing {
        out.extend_from_slice(e);
    }
    for op in operands.iter() {
        if !out.is_empty() {
            out.push(LIST_DELIMITER);
        }
        out.extend_from_slice(op);
    }
    Some(out)
}

/// The memory objects shared by all column families of one slot (managed mode).
#[derive(Clone)]
pub struct SharedMemory {
    /// The slot's LRU block cache.
    pub cache: Cache,
    /// The write buffer manager, charged to `cache`.
    pub write_buffer_manager: WriteBufferManager,
    /// Capacity of `cache`.
    pub cache_capacity: u64,
    /// Capacity of `write_buffer_manager`.
    pub write_buffer_capacity: u64,
}

impl SharedMemory {
    /// Creates the shared cache and write buffer manager, or None when memory is unmanaged.
    ///
    /// Known gap: rust-rocksdb (and RocksDB's C API) cannot set the cache's high-priority pool
    /// ratio, so `high_prio_pool_ratio` is recorded but not applied.
    pub fn new(mode: &MemoryMode) -> Option<SharedMemory> {
        match *mode {
            MemoryMode::Managed {
                total_bytes,
                write_buffer_ratio,
                ..
            }
            | MemoryMode::FixedPerSlot {
                total_bytes,
                write_buffer_ratio,
                ..
            } => {
                let (cache_capacity, write_buffer_capacity) =
                    MemoryMode::shared_capacities(total_bytes, write_buffer_ratio);
                let cache = Cache::new_lru_cache(cache_capacity as usize);
                let write_buffer_manager = WriteBufferManager::new_write_buffer_manager_with_cache(
                    write_buffer_capacity as usize,
                    false,
                    cache.clone(),
                );
                Some(SharedMemory {
                    cache,
                    write_buffer_manager,
                    cache_capacity,
                    write_buffer_capacity,
                })
            }
            MemoryMode::Unmanaged => None,
        }
    }
}

/// DB-wide options.
pub fn db_options(settings: &RocksSettings, shared: Option<&SharedMemory>) -> Options {
    let mut o = Options::default();
    o.create_if_missing(true);
    o.create_missing_column_families(true);
    o.set_use_fsync(false);
    o.set_stats_dump_period_sec(0);
    o.set_max_background_jobs(settings.max_background_jobs);
    o.set_max_open_files(settings.max_open_files);
    o.set_log_level(LogLevel::Info);
    o.set_max_log_file_size(25 << 20);
    o.set_keep_log_file_num(4);
    if let Some(shared) = shared {
        o.set_write_buffer_manager(&shared.write_buffer_manager);
    }
    o
}

/// Options of one column family. Every column family, "default" included, gets them: RocksDB
/// does not inherit column family options from the DB options.
pub fn cf_options(settings: &RocksSettings, shared: Option<&SharedMemory>) -> Options {
    let mut o = Options::default();
    o.set_compaction_style(match settings.compaction_style {
        CompactionStyle::Level => DBCompactionStyle::Level,
        CompactionStyle::Universal => DBCompactionStyle::Universal,
        CompactionStyle::Fifo => DBCompactionStyle::Fifo,
    });
    let per_level: Vec<DBCompressionType> = settings
        .compression_per_level
        .iter()
        .map(|c| match c {
            Compression::None => DBCompressionType::None,
            Compression::Snappy => DBCompressionType::Snappy,
            Compression::Lz4 => DBCompressionType::Lz4,
            Compression::Zstd => DBCompressionType::Zstd,
        })
        .collect();
    o.set_compression_per_level(&per_level);
    if let Some(first) = per_level.first() {
        o.set_compression_type(*first);
    }
    o.set_level_compaction_dynamic_level_bytes(settings.dynamic_level_bytes);
    o.set_target_file_size_base(settings.target_file_size_base);
    o.set_max_bytes_for_level_base(settings.max_bytes_for_level_base);
    o.set_write_buffer_size(settings.write_buffer_size);
    o.set_max_write_buffer_number(settings.max_write_buffer_number);
    o.set_min_write_buffer_number_to_merge(settings.min_write_buffer_number_to_merge);
    // RocksDB 8.10 (Flink 2.x's FRocksDB) defaults, set explicitly since newer RocksDB changed some.
    o.set_level_zero_file_num_compaction_trigger(4);
    o.set_level_zero_slowdown_writes_trigger(20);
    o.set_level_zero_stop_writes_trigger(36);
    o.set_merge_operator_associative(MERGE_OPERATOR_NAME, string_append);

    let mut table = BlockBasedOptions::default();
    table.set_block_size(settings.block_size);
    table.set_metadata_block_size(settings.metadata_block_size);
    table.set_format_version(5);
    table.set_checksum_type(ChecksumType::XXH3);
    if settings.use_bloom_filter {
        table.set_bloom_filter(settings.bloom_bits_per_key, settings.bloom_block_based);
    }
    match shared {
        Some(shared) => {
            table.set_block_cache(&shared.cache);
            table.set_cache_index_and_filter_blocks(true);
            table.set_cache_index_and_filter_blocks_with_high_priority(true);
            table.set_pin_l0_filter_and_index_blocks_in_cache(true);
            if settings.partitioned_index_filters {
                table.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
                table.set_partition_filters(true);
                table.set_pin_top_level_index_and_filter(true);
                // RocksDBResourceContainer.overwriteFilterIfExist: an existing filter becomes a
                // full Bloom filter of 10 bits per key; none is added where there was none.
                if settings.use_bloom_filter {
                    table.set_bloom_filter(10.0, false);
                }
            }
        }
        None => table.set_block_cache(&Cache::new_lru_cache(settings.block_cache_size)),
    }
    o.set_block_based_table_factory(&table);
    o
}
