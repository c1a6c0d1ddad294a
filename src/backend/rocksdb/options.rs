//! Builds RocksDB's options from resolved Flink settings, as Flink's `RocksDBResourceContainer`
//! does: base DB options, the profile's settings, the shared memory budget, and the options Flink
//! forces on every state column family (merge operator, cached index and filter blocks).

use std::ffi::{c_char, c_int, c_void};
use std::ptr::NonNull;
use std::sync::Arc;

use anyhow::{Context, Result};
use rocksdb::{
    AsRawPtr, BlockBasedIndexType, BlockBasedOptions, Cache, ChecksumType, DBCompactionStyle,
    DBCompressionType, LogLevel, MergeOperands, Options,
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

/// The shim's shared cache and write buffer manager (src/backend/rocksdb/native/shared_memory.cc).
#[repr(C)]
struct NativeSharedMemory {
    _private: [u8; 0],
}

extern "C" {
    fn statebench_shared_memory_create(
        cache_capacity: usize,
        high_pri_pool_ratio: f64,
        write_buffer_capacity: usize,
    ) -> *mut NativeSharedMemory;
    fn statebench_shared_memory_destroy(memory: *mut NativeSharedMemory);
    fn statebench_options_set_shared_block_cache(
        options: *mut c_void,
        memory: *const NativeSharedMemory,
    ) -> c_int;
    fn statebench_options_set_shared_write_buffer_manager(
        options: *mut c_void,
        memory: *const NativeSharedMemory,
    );
    fn statebench_shared_memory_cache_options(
        memory: *const NativeSharedMemory,
        out: *mut c_char,
        len: usize,
    ) -> usize;
    fn statebench_shared_memory_cache_capacity(memory: *const NativeSharedMemory) -> usize;
    fn statebench_shared_memory_write_buffer_size(memory: *const NativeSharedMemory) -> usize;
}

/// Owns the shim's object; options that use it hold their own references to the cache and the
/// write buffer manager, so dropping this never invalidates an open DB.
struct NativeHandle(NonNull<NativeSharedMemory>);

// SAFETY: the object holds two `std::shared_ptr`s to RocksDB's thread-safe cache and write buffer
// manager and is never mutated after creation.
unsafe impl Send for NativeHandle {}
unsafe impl Sync for NativeHandle {}

impl Drop for NativeHandle {
    fn drop(&mut self) {
        // SAFETY: created by statebench_shared_memory_create, destroyed once, here.
        unsafe { statebench_shared_memory_destroy(self.0.as_ptr()) }
    }
}

/// The memory objects shared by all column families of one slot (managed and fixed-per-slot
/// memory), as `RocksDBMemoryControllerUtils` makes them: an LRU block cache with
/// `high-prio-pool-ratio` of it reserved for index and filter blocks, and a write buffer manager
/// charged to that cache.
#[derive(Clone)]
pub struct SharedMemory {
    native: Arc<NativeHandle>,
    /// Capacity of the cache.
    pub cache_capacity: u64,
    /// Capacity of the write buffer manager.
    pub write_buffer_capacity: u64,
    /// The cache's high-priority pool ratio.
    pub high_prio_pool_ratio: f64,
}

impl SharedMemory {
    /// Creates the shared cache and write buffer manager, or None when memory is unmanaged.
    pub fn new(mode: &MemoryMode) -> Result<Option<SharedMemory>> {
        let (total_bytes, write_buffer_ratio, high_prio_pool_ratio) = match *mode {
            MemoryMode::Managed {
                total_bytes,
                write_buffer_ratio,
                high_prio_pool_ratio,
            }
            | MemoryMode::FixedPerSlot {
                total_bytes,
                write_buffer_ratio,
                high_prio_pool_ratio,
            } => (total_bytes, write_buffer_ratio, high_prio_pool_ratio),
            MemoryMode::Unmanaged => return Ok(None),
        };
        let (cache_capacity, write_buffer_capacity) =
            MemoryMode::shared_capacities(total_bytes, write_buffer_ratio);
        // SAFETY: plain values in, an owned pointer (or null) out.
        let native = unsafe {
            statebench_shared_memory_create(
                cache_capacity as usize,
                high_prio_pool_ratio,
                write_buffer_capacity as usize,
            )
        };
        let native = NonNull::new(native).with_context(|| {
            format!("RocksDB rejected the block cache (high-priority pool ratio {high_prio_pool_ratio})")
        })?;
        Ok(Some(SharedMemory {
            native: Arc::new(NativeHandle(native)),
            cache_capacity,
            write_buffer_capacity,
            high_prio_pool_ratio,
        }))
    }

    /// The cache's options as RocksDB prints them (`high_pri_pool_ratio: 0.100` among them),
    /// read back from the cache object itself.
    pub fn cache_options(&self) -> String {
        let mut buf = vec![0u8; 1024];
        loop {
            // SAFETY: `buf` is writable for its length; the object is alive.
            let len = unsafe {
                statebench_shared_memory_cache_options(
                    self.native.0.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if len <= buf.len() {
                buf.truncate(len);
                return String::from_utf8_lossy(&buf).into_owned();
            }
            buf.resize(len, 0);
        }
    }

    /// The cache's capacity as RocksDB reports it.
    pub fn native_cache_capacity(&self) -> u64 {
        // SAFETY: the object is alive.
        unsafe { statebench_shared_memory_cache_capacity(self.native.0.as_ptr()) as u64 }
    }

    /// The write buffer manager's buffer size as RocksDB reports it.
    pub fn native_write_buffer_size(&self) -> u64 {
        // SAFETY: the object is alive.
        unsafe { statebench_shared_memory_write_buffer_size(self.native.0.as_ptr()) as u64 }
    }

    /// Makes the DB's memtables charge the shared write buffer manager.
    fn install_write_buffer_manager(&self, options: &mut Options) {
        // SAFETY: `as_raw_ptr` is the C API handle `options` owns, valid for this call; the shim
        // only assigns a shared_ptr inside it.
        unsafe {
            statebench_options_set_shared_write_buffer_manager(
                options.as_raw_ptr().cast(),
                self.native.0.as_ptr(),
            )
        }
    }

    /// Makes a column family read blocks through the shared cache (its table factory, set
    /// before, is replaced by one with the same table options and this cache).
    fn install_block_cache(&self, options: &mut Options) {
        // SAFETY: as in `install_write_buffer_manager`.
        let installed = unsafe {
            statebench_options_set_shared_block_cache(
                options.as_raw_ptr().cast(),
                self.native.0.as_ptr(),
            )
        };
        assert_eq!(
            installed, 1,
            "column family options without a block-based table factory"
        );
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
        shared.install_write_buffer_manager(&mut o);
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
        Some(_) => {
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
    if let Some(shared) = shared {
        shared.install_block_cache(&mut o);
    }
    o
}
