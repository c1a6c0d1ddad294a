//! Flink's predefined RocksDB option profiles (`PredefinedOptions`, Flink 1.15+ and 2.x) and the
//! `state.backend.rocksdb.*` defaults they override. Resolution is Flink's:
//! user setting > profile > Flink default.

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// One of Flink's four predefined profiles (`state.backend.rocksdb.predefined-options`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum PredefinedProfile {
    /// `DEFAULT`: Flink's defaults, no overrides.
    #[serde(rename = "DEFAULT")]
    Default,
    /// `SPINNING_DISK_OPTIMIZED`
    #[serde(rename = "SPINNING_DISK_OPTIMIZED")]
    SpinningDiskOptimized,
    /// `SPINNING_DISK_OPTIMIZED_HIGH_MEM`
    #[serde(rename = "SPINNING_DISK_OPTIMIZED_HIGH_MEM")]
    SpinningDiskOptimizedHighMem,
    /// `FLASH_SSD_OPTIMIZED`
    #[serde(rename = "FLASH_SSD_OPTIMIZED")]
    FlashSsdOptimized,
}

impl PredefinedProfile {
    /// All four, in Flink's declaration order.
    pub const ALL: [PredefinedProfile; 4] = [
        PredefinedProfile::Default,
        PredefinedProfile::SpinningDiskOptimized,
        PredefinedProfile::SpinningDiskOptimizedHighMem,
        PredefinedProfile::FlashSsdOptimized,
    ];

    /// Flink's name of the profile.
    pub fn name(self) -> &'static str {
        match self {
            PredefinedProfile::Default => "DEFAULT",
            PredefinedProfile::SpinningDiskOptimized => "SPINNING_DISK_OPTIMIZED",
            PredefinedProfile::SpinningDiskOptimizedHighMem => "SPINNING_DISK_OPTIMIZED_HIGH_MEM",
            PredefinedProfile::FlashSsdOptimized => "FLASH_SSD_OPTIMIZED",
        }
    }

    /// The profile's settings on top of Flink's defaults.
    pub fn settings(self) -> RocksSettings {
        let flink_default = RocksSettings::flink_default();
        match self {
            PredefinedProfile::Default => flink_default,
            PredefinedProfile::SpinningDiskOptimized => RocksSettings {
                compaction_style: CompactionStyle::Level,
                dynamic_level_bytes: true,
                max_background_jobs: 4,
                max_open_files: -1,
                ..flink_default
            },
            PredefinedProfile::SpinningDiskOptimizedHighMem => RocksSettings {
                block_cache_size: 256 << 20,
                block_size: 128 << 10,
                dynamic_level_bytes: true,
                max_background_jobs: 4,
                max_bytes_for_level_base: 1 << 30,
                max_open_files: -1,
                max_write_buffer_number: 4,
                min_write_buffer_number_to_merge: 3,
                target_file_size_base: 256 << 20,
                write_buffer_size: 64 << 20,
                use_bloom_filter: true,
                ..flink_default
            },
            PredefinedProfile::FlashSsdOptimized => RocksSettings {
                max_background_jobs: 4,
                max_open_files: -1,
                ..flink_default
            },
        }
    }
}

impl fmt::Display for PredefinedProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PredefinedProfile {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match PredefinedProfile::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
        {
            Some(p) => Ok(p),
            None => bail!(
                "unknown RocksDB profile {s:?}: expected one of {}",
                PredefinedProfile::ALL.map(|p| p.name()).join(", ")
            ),
        }
    }
}

/// `state.backend.rocksdb.compaction.style`
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompactionStyle {
    /// LEVEL
    Level,
    /// UNIVERSAL
    Universal,
    /// FIFO
    Fifo,
}

/// Compression codecs a Flink user can choose per level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compression {
    /// NO_COMPRESSION
    None,
    /// SNAPPY_COMPRESSION (Flink's default)
    Snappy,
    /// LZ4_COMPRESSION
    Lz4,
    /// ZSTD_COMPRESSION
    Zstd,
}

/// The RocksDB settings Flink controls, named after their `state.backend.rocksdb.*` keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RocksSettings {
    /// `thread.num` → max_background_jobs
    pub max_background_jobs: i32,
    /// `files.open` → max_open_files
    pub max_open_files: i32,
    /// `compaction.style`
    pub compaction_style: CompactionStyle,
    /// `compaction.level.use-dynamic-size` → level_compaction_dynamic_level_bytes
    pub dynamic_level_bytes: bool,
    /// `compression.per.level`
    pub compression_per_level: Vec<Compression>,
    /// `compaction.level.target-file-size-base`
    pub target_file_size_base: u64,
    /// `compaction.level.max-size-level-base` → max_bytes_for_level_base
    pub max_bytes_for_level_base: u64,
    /// `writebuffer.size`
    pub write_buffer_size: usize,
    /// `writebuffer.count` → max_write_buffer_number
    pub max_write_buffer_number: i32,
    /// `writebuffer.number-to-merge` → min_write_buffer_number_to_merge
    pub min_write_buffer_number_to_merge: i32,
    /// `block.blocksize`
    pub block_size: usize,
    /// `block.metadata-blocksize`
    pub metadata_block_size: usize,
    /// `block.cache-size`: per column family, used only when memory is not managed
    pub block_cache_size: usize,
    /// `use-bloom-filter`
    pub use_bloom_filter: bool,
    /// `bloom-filter.bits-per-key`
    pub bloom_bits_per_key: f64,
    /// `bloom-filter.block-based-mode`
    pub bloom_block_based: bool,
    /// `write-batch-size`: bytes after which a write batch is flushed
    pub write_batch_size: usize,
    /// `memory.partitioned-index-filters`: two-level index and partitioned filters (shared
    /// memory only)
    pub partitioned_index_filters: bool,
}

impl RocksSettings {
    /// Flink 2.x's defaults (`RocksDBConfigurableOptions`).
    pub fn flink_default() -> RocksSettings {
        RocksSettings {
            max_background_jobs: 2,
            max_open_files: -1,
            compaction_style: CompactionStyle::Level,
            dynamic_level_bytes: false,
            compression_per_level: vec![Compression::Snappy],
            target_file_size_base: 64 << 20,
            max_bytes_for_level_base: 256 << 20,
            write_buffer_size: 64 << 20,
            max_write_buffer_number: 2,
            min_write_buffer_number_to_merge: 1,
            block_size: 4 << 10,
            metadata_block_size: 4 << 10,
            block_cache_size: 8 << 20,
            use_bloom_filter: false,
            bloom_bits_per_key: 10.0,
            bloom_block_based: false,
            write_batch_size: 2 << 20,
            partitioned_index_filters: false,
        }
    }
}

/// How RocksDB's memory is bounded (`state.backend.rocksdb.memory.*`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum MemoryMode {
    /// Flink's default: all states of the slot share one LRU block cache and one write buffer
    /// manager charged to it, sized from the slot's managed memory.
    Managed {
        /// Managed memory of the slot, bytes.
        total_bytes: u64,
        /// `memory.write-buffer-ratio`
        write_buffer_ratio: f64,
        /// `memory.high-prio-pool-ratio`
        high_prio_pool_ratio: f64,
    },
    /// `memory.fixed-per-slot`: the same shared cache and write buffer manager as managed
    /// memory, sized from a fixed amount instead of the slot's managed memory.
    FixedPerSlot {
        /// Memory per slot, bytes.
        total_bytes: u64,
        /// `memory.write-buffer-ratio`
        write_buffer_ratio: f64,
        /// `memory.high-prio-pool-ratio`
        high_prio_pool_ratio: f64,
    },
    /// No shared budget: each column family has its own `block.cache-size` cache and memtables,
    /// as flink-benchmarks' state micro-benchmarks run.
    Unmanaged,
}

impl MemoryMode {
    /// Managed memory of a default one-slot TaskManager: Flink's default 1728m process gives
    /// 536870920 bytes ("512.000mb (536870920 bytes)" in its log), as `config::taskmanager`
    /// derives (a test there checks the two agree).
    pub const DEFAULT_MANAGED_BYTES: u64 = 536_870_920;

    /// Flink's default: managed, ratio 0.5, high-priority pool 0.1.
    pub fn flink_default() -> MemoryMode {
        MemoryMode::Managed {
            total_bytes: Self::DEFAULT_MANAGED_BYTES,
            write_buffer_ratio: 0.5,
            high_prio_pool_ratio: 0.1,
        }
    }

    /// (block cache capacity, write buffer manager capacity) of a shared budget, as
    /// `RocksDBMemoryControllerUtils` computes them: cache = (3 − r)·M/3, WBM = 2·r·M/3.
    pub fn shared_capacities(total_bytes: u64, write_buffer_ratio: f64) -> (u64, u64) {
        let m = total_bytes as f64;
        let cache = ((3.0 - write_buffer_ratio) * m / 3.0) as u64;
        let wbm = (2.0 * m * write_buffer_ratio / 3.0) as u64;
        (cache, wbm)
    }
}

/// `state.backend.rocksdb.timer-service.factory`: where event-time timers live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimerFactory {
    /// In RocksDB column families (Flink's default).
    #[default]
    #[serde(rename = "ROCKSDB")]
    Rocksdb,
    /// In heap priority queues beside RocksDB.
    #[serde(rename = "HEAP")]
    Heap,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_parse_back() {
        for p in PredefinedProfile::ALL {
            assert_eq!(p.name().parse::<PredefinedProfile>().unwrap(), p);
        }
        assert!("FAST".parse::<PredefinedProfile>().is_err());
    }

    #[test]
    fn managed_memory_split_matches_flink() {
        let (cache, wbm) = MemoryMode::shared_capacities(300, 0.5);
        assert_eq!((cache, wbm), (250, 100));
    }
}
