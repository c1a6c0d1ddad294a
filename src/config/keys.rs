//! The Flink configuration keys statebench understands, how their values are parsed, and how
//! they resolve onto a predefined profile (`RocksDBResourceContainer`'s rule: configured value,
//! else the profile's, else Flink's default).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};

use super::{Origin, Resolved};
use crate::backend::rocksdb::profile::{CompactionStyle, Compression};
use crate::backend::rocksdb::{MemoryMode, PredefinedProfile, RocksDbConfig, TimerFactory};
use crate::checkpoint::{
    parse_duration, parse_interval, CheckpointMode, CheckpointSetting, MAX_DURATION, MIN_INTERVAL,
};

/// How a key's value is read, with the bounds statebench accepts (README, "Limits").
#[derive(Clone, Copy, Debug)]
enum Kind {
    Bool,
    /// An integer in `min..=max`; with `min` -1, 0 is refused (-1 means "unlimited").
    Int {
        min: i64,
        max: i64,
    },
    Ratio {
        min: f64,
        max: f64,
    },
    /// A memory size of at most `max` bytes.
    Size {
        max: u64,
    },
    /// A duration of at most [`crate::checkpoint::MAX_DURATION`].
    Duration,
    /// A checkpoint interval: a duration of at least [`crate::checkpoint::MIN_INTERVAL`].
    Interval,
    Choice(&'static [&'static str]),
    CompressionList,
    /// A valid Flink key whose effect statebench does not model; its value is not checked.
    NotModelled,
}

const R: &str = "state.backend.rocksdb.";

/// Most RocksDB background jobs (`thread.num`): more threads than this cannot help one
/// operator, and millions make RocksDB's thread creation abort the process.
pub const MAX_THREADS: i64 = 256;
/// Most write buffers per column family (`writebuffer.count`, `number-to-merge`).
pub const MAX_WRITE_BUFFERS: i64 = 64;
/// Most retained checkpoints (`num-retained`).
pub const MAX_RETAINED: i64 = 1000;
/// Largest memtable (`writebuffer.size`): RocksDB's own limit, 64 GiB.
pub const MAX_WRITE_BUFFER_SIZE: u64 = 64 << 30;
/// Largest block, metadata block and write batch: 1 GiB.
pub const MAX_BLOCK_SIZE: u64 = 1 << 30;
/// Largest other memory size (caches, managed memory, file and level sizes): 1 TiB.
pub const MAX_MEMORY_SIZE: u64 = 1 << 40;
/// `i32::MAX` as RocksDB's `int` options take it.
const MAX_INT: i64 = i32::MAX as i64;
const COMPRESSIONS: &[&str] = &[
    "NO_COMPRESSION",
    "SNAPPY_COMPRESSION",
    "LZ4_COMPRESSION",
    "ZSTD_COMPRESSION",
];

/// Every key statebench reads.
pub const KEYS: &[&str] = &[
    "state.backend.type",
    "state.backend.rocksdb.predefined-options",
    "state.backend.rocksdb.thread.num",
    "state.backend.rocksdb.files.open",
    "state.backend.rocksdb.compaction.style",
    "state.backend.rocksdb.compaction.level.use-dynamic-size",
    "state.backend.rocksdb.compression.per.level",
    "state.backend.rocksdb.compaction.level.target-file-size-base",
    "state.backend.rocksdb.compaction.level.max-size-level-base",
    "state.backend.rocksdb.writebuffer.size",
    "state.backend.rocksdb.writebuffer.count",
    "state.backend.rocksdb.writebuffer.number-to-merge",
    "state.backend.rocksdb.block.blocksize",
    "state.backend.rocksdb.block.metadata-blocksize",
    "state.backend.rocksdb.block.cache-size",
    "state.backend.rocksdb.write-batch-size",
    "state.backend.rocksdb.use-bloom-filter",
    "state.backend.rocksdb.bloom-filter.bits-per-key",
    "state.backend.rocksdb.bloom-filter.block-based-mode",
    "state.backend.rocksdb.memory.managed",
    "state.backend.rocksdb.memory.fixed-per-slot",
    "state.backend.rocksdb.memory.write-buffer-ratio",
    "state.backend.rocksdb.memory.high-prio-pool-ratio",
    "state.backend.rocksdb.memory.partitioned-index-filters",
    "state.backend.rocksdb.timer-service.factory",
    "taskmanager.memory.managed.size",
    "taskmanager.numberOfTaskSlots",
    "execution.checkpointing.interval",
    "execution.checkpointing.incremental",
    "execution.checkpointing.min-pause",
    "execution.checkpointing.num-retained",
];

fn kind_of(name: &str) -> Option<Kind> {
    let rocks = name.strip_prefix(R);
    Some(match (name, rocks) {
        ("state.backend.type" | "state.backend", _) => {
            Kind::Choice(&["hashmap", "rocksdb", "filesystem"])
        }
        (_, Some("predefined-options")) => Kind::Choice(&[
            "DEFAULT",
            "SPINNING_DISK_OPTIMIZED",
            "SPINNING_DISK_OPTIMIZED_HIGH_MEM",
            "FLASH_SSD_OPTIMIZED",
        ]),
        (_, Some("thread.num")) => Kind::Int {
            min: 1,
            max: MAX_THREADS,
        },
        (_, Some("files.open")) => Kind::Int {
            min: -1,
            max: MAX_INT,
        },
        (_, Some("compaction.style")) => Kind::Choice(&["LEVEL", "UNIVERSAL", "FIFO"]),
        (
            _,
            Some(
                "compaction.level.use-dynamic-size"
                | "use-bloom-filter"
                | "bloom-filter.block-based-mode",
            ),
        )
        | (_, Some("memory.managed" | "memory.partitioned-index-filters")) => Kind::Bool,
        (_, Some("compression.per.level")) => Kind::CompressionList,
        (
            _,
            Some("compaction.level.target-file-size-base" | "compaction.level.max-size-level-base"),
        )
        | (_, Some("block.cache-size" | "memory.fixed-per-slot")) => Kind::Size {
            max: MAX_MEMORY_SIZE,
        },
        (_, Some("writebuffer.size")) => Kind::Size {
            max: MAX_WRITE_BUFFER_SIZE,
        },
        (_, Some("block.blocksize" | "block.metadata-blocksize" | "write-batch-size")) => {
            Kind::Size {
                max: MAX_BLOCK_SIZE,
            }
        }
        (_, Some("writebuffer.count" | "writebuffer.number-to-merge")) => Kind::Int {
            min: 1,
            max: MAX_WRITE_BUFFERS,
        },
        (_, Some("bloom-filter.bits-per-key")) => Kind::Ratio {
            min: f64::MIN_POSITIVE,
            max: 1e6,
        },
        (_, Some("memory.write-buffer-ratio")) => Kind::Ratio {
            min: f64::MIN_POSITIVE,
            max: 1.0 - f64::EPSILON,
        },
        (_, Some("memory.high-prio-pool-ratio")) => Kind::Ratio {
            min: 0.0,
            max: 1.0 - f64::EPSILON,
        },
        (_, Some("timer-service.factory")) => Kind::Choice(&["ROCKSDB", "HEAP"]),
        (
            _,
            Some(
                "log.level"
                | "log.dir"
                | "log.max-file-size"
                | "log.file-num"
                | "localdir"
                | "checkpoint.transfer.thread.num"
                | "timer-service.cache-size"
                | "options-factory"
                | "restore-overlap-fraction-threshold"
                | "use-ingest-db-restore-mode"
                | "incremental-restore-async-compact-after-rescale"
                | "rescaling.use-delete-files-in-range"
                | "compaction.filter.query-time-after-num-entries"
                | "compaction.filter.periodic-compaction-time"
                | "memory.fixed-per-tm"
                | "checkpoint.transfer.thread.num.restore",
            ),
        ) => Kind::NotModelled,
        ("taskmanager.memory.managed.size", _) => Kind::Size {
            max: MAX_MEMORY_SIZE,
        },
        ("taskmanager.numberOfTaskSlots", _) => Kind::Int {
            min: 1,
            max: MAX_INT,
        },
        ("execution.checkpointing.interval", _) => Kind::Interval,
        ("execution.checkpointing.min-pause", _) => Kind::Duration,
        ("execution.checkpointing.incremental" | "state.backend.incremental", _) => Kind::Bool,
        ("execution.checkpointing.num-retained" | "state.checkpoints.num-retained", _) => {
            Kind::Int {
                min: 1,
                max: MAX_RETAINED,
            }
        }
        (
            "execution.checkpointing.timeout"
            | "execution.checkpointing.tolerable-failed-checkpoints"
            | "execution.checkpointing.max-concurrent-checkpoints"
            | "execution.checkpointing.mode"
            | "execution.checkpointing.unaligned.enabled"
            | "execution.checkpointing.unaligned"
            | "execution.checkpointing.aligned-checkpoint-timeout"
            | "execution.checkpointing.externalized-checkpoint-retention"
            | "execution.checkpointing.dir"
            | "execution.checkpointing.savepoint-dir"
            | "execution.checkpointing.local-backup.enabled"
            | "execution.checkpointing.data-inline-threshold"
            | "execution.checkpointing.write-buffer-size"
            | "execution.checkpointing.file-merging.enabled"
            | "state.checkpoints.dir"
            | "state.savepoints.dir"
            | "state.backend.local-recovery"
            | "state.backend.fs.memory-threshold"
            | "state.backend.changelog.enabled",
            _,
        ) => Kind::NotModelled,
        _ => return None,
    })
}

/// Whether statebench knows the key.
pub(super) fn is_known(name: &str) -> bool {
    kind_of(name).is_some()
}

/// Keys under these prefixes must be known; others are ignored.
pub(super) fn in_scope(name: &str) -> bool {
    name.starts_with("state.backend")
        || name.starts_with("execution.checkpointing.")
        || name.starts_with("state.checkpoints.")
}

/// Levenshtein distance, for suggestions.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// "unknown key" with the closest known key, if one is close.
pub(super) fn unknown_key_message(name: &str, origin: &Origin) -> String {
    let closest = KEYS
        .iter()
        .min_by_key(|k| distance(name, k))
        .filter(|k| distance(name, k) <= name.len() / 3);
    match closest {
        Some(k) => format!("{origin}: unknown key `{name}`; did you mean `{k}`?"),
        None => format!("{origin}: unknown key `{name}`"),
    }
}

/// Flink's `MemorySize.parse`: a number with an optional unit (b, k/kb, m/mb, g/gb, t/tb, or
/// their long names), case-insensitive, binary multiples.
pub fn parse_memory_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: u64 = number.parse().ok()?;
    let multiplier: u64 = match unit.trim() {
        "" | "b" | "bytes" => 1,
        "k" | "kb" | "kibibytes" => 1 << 10,
        "m" | "mb" | "mebibytes" => 1 << 20,
        "g" | "gb" | "gibibytes" => 1 << 30,
        "t" | "tb" | "tebibytes" => 1 << 40,
        _ => return None,
    };
    value.checked_mul(multiplier)
}

/// A key's value, parsed.
enum Value {
    Bool(bool),
    Int(i64),
    Ratio(f64),
    Size(u64),
    Duration(Duration),
    Choice(String),
    Compressions(Vec<Compression>),
    Ignored,
}

fn parse_value(name: &str, raw: &str, origin: &Origin) -> Result<Value> {
    let kind = kind_of(name).ok_or_else(|| anyhow!("{}", unknown_key_message(name, origin)))?;
    let shown = crate::input::excerpt(raw);
    let bad =
        |expected: String| anyhow!("{origin}: `{name}`: {shown} is not valid: expected {expected}");
    Ok(match kind {
        Kind::Bool => match raw.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("true or false".into())),
        },
        Kind::Int { min, max } => match raw.parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) && (min != -1 || v != 0) => Value::Int(v),
            _ if min == -1 => return Err(bad(format!("-1 or a count from 1 to {max}"))),
            _ => return Err(bad(format!("an integer from {min} to {max}"))),
        },
        Kind::Ratio { min, max } => match raw.parse::<f64>() {
            Ok(v) if v >= min && v <= max => Value::Ratio(v),
            _ if min == 0.0 => return Err(bad("a number from 0 to below 1".into())),
            _ if max < 1.0 => return Err(bad("a number between 0 and 1".into())),
            _ => return Err(bad("a number above 0".into())),
        },
        Kind::Size { max } => match parse_memory_size(raw) {
            Some(v) if v <= max => Value::Size(v),
            _ => {
                return Err(bad(format!(
                    "a memory size such as 64mb, 512 kb, 1 gb, at most {max} bytes"
                )))
            }
        },
        Kind::Duration => Value::Duration(parse_duration(raw).map_err(|_| {
            bad(format!(
                "a duration such as 500ms, 10s, 1min, at most {} ms",
                MAX_DURATION.as_millis()
            ))
        })?),
        Kind::Interval => Value::Duration(parse_interval(raw).map_err(|_| {
            bad(format!(
                "a duration such as 500ms, 10s, 1min, from {} ms to {} ms",
                MIN_INTERVAL.as_millis(),
                MAX_DURATION.as_millis()
            ))
        })?),
        Kind::Choice(choices) => match choices.iter().find(|c| c.eq_ignore_ascii_case(raw)) {
            Some(c) => Value::Choice(c.to_string()),
            None => return Err(bad(format!("one of {}", choices.join(", ")))),
        },
        Kind::CompressionList => {
            let mut list = Vec::new();
            for item in raw
                .split([';', ','])
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                list.push(match item.to_ascii_uppercase().as_str() {
                    "NO_COMPRESSION" => Compression::None,
                    "SNAPPY_COMPRESSION" => Compression::Snappy,
                    "LZ4_COMPRESSION" => Compression::Lz4,
                    "ZSTD_COMPRESSION" => Compression::Zstd,
                    _ => {
                        return Err(bad(format!(
                        "a ';'-separated list of {} (other codecs are not built into statebench)",
                        COMPRESSIONS.join(", ")
                    )))
                    }
                });
            }
            if list.is_empty() {
                return Err(bad("at least one compression type".into()));
            }
            Value::Compressions(list)
        }
        Kind::NotModelled => Value::Ignored,
    })
}

/// Resolves `entries` over `profile` (or the profile the entries name, or DEFAULT).
pub(super) fn resolve(
    entries: &BTreeMap<String, (String, Origin)>,
    profile: Option<PredefinedProfile>,
) -> Result<Resolved> {
    let mut values = BTreeMap::new();
    for (name, (raw, origin)) in entries {
        if is_known(name) {
            values.insert(name.as_str(), parse_value(name, raw, origin)?);
        }
    }
    let get = |names: &[&str]| lookup(&values, names);
    let profile = match (profile, get(&["state.backend.rocksdb.predefined-options"])) {
        (Some(p), _) => p,
        (None, Some(Value::Choice(name))) => name.parse()?,
        _ => PredefinedProfile::Default,
    };
    let mut config = RocksDbConfig::new(profile);
    let s = &mut config.settings;
    for (name, value) in &values {
        let Some(option) = name.strip_prefix(R) else {
            continue;
        };
        match (option, value) {
            ("thread.num", Value::Int(v)) => s.max_background_jobs = *v as i32,
            ("files.open", Value::Int(v)) => s.max_open_files = *v as i32,
            ("compaction.style", Value::Choice(c)) => {
                s.compaction_style = match c.as_str() {
                    "UNIVERSAL" => CompactionStyle::Universal,
                    "FIFO" => CompactionStyle::Fifo,
                    _ => CompactionStyle::Level,
                }
            }
            ("compaction.level.use-dynamic-size", Value::Bool(b)) => s.dynamic_level_bytes = *b,
            ("compression.per.level", Value::Compressions(c)) => {
                s.compression_per_level = c.clone()
            }
            ("compaction.level.target-file-size-base", Value::Size(v)) => {
                s.target_file_size_base = *v
            }
            ("compaction.level.max-size-level-base", Value::Size(v)) => {
                s.max_bytes_for_level_base = *v
            }
            ("writebuffer.size", Value::Size(v)) => s.write_buffer_size = *v as usize,
            ("writebuffer.count", Value::Int(v)) => s.max_write_buffer_number = *v as i32,
            ("writebuffer.number-to-merge", Value::Int(v)) => {
                s.min_write_buffer_number_to_merge = *v as i32
            }
            ("block.blocksize", Value::Size(v)) => s.block_size = *v as usize,
            ("block.metadata-blocksize", Value::Size(v)) => s.metadata_block_size = *v as usize,
            ("block.cache-size", Value::Size(v)) => s.block_cache_size = *v as usize,
            ("write-batch-size", Value::Size(v)) => s.write_batch_size = *v as usize,
            ("use-bloom-filter", Value::Bool(b)) => s.use_bloom_filter = *b,
            ("bloom-filter.bits-per-key", Value::Ratio(v)) => s.bloom_bits_per_key = *v,
            ("bloom-filter.block-based-mode", Value::Bool(b)) => s.bloom_block_based = *b,
            ("memory.partitioned-index-filters", Value::Bool(b)) => {
                s.partitioned_index_filters = *b
            }
            _ => {}
        }
    }
    config.memory = memory_mode(&values)?;
    if let Some(Value::Choice(t)) = get(&["state.backend.rocksdb.timer-service.factory"]) {
        config.timers = if t == "HEAP" {
            TimerFactory::Heap
        } else {
            TimerFactory::Rocksdb
        };
    }
    if config.timers == TimerFactory::Heap {
        // Visible in cell ids: the timer service changes what a cell measures.
        config.label.push_str("+HEAP_TIMERS");
    }
    let checkpoint = match get(&["execution.checkpointing.interval"]) {
        Some(Value::Duration(interval)) => {
            let incremental = matches!(
                get(&[
                    "execution.checkpointing.incremental",
                    "state.backend.incremental"
                ]),
                Some(Value::Bool(true))
            );
            let mode = if incremental {
                CheckpointMode::Incremental
            } else {
                CheckpointMode::Full
            };
            let mut setting = CheckpointSetting::new(mode, *interval);
            if let Some(Value::Duration(pause)) = get(&["execution.checkpointing.min-pause"]) {
                setting.min_pause = *pause;
            }
            if let Some(Value::Int(n)) = get(&[
                "execution.checkpointing.num-retained",
                "state.checkpoints.num-retained",
            ]) {
                setting.retained = *n as usize;
            }
            Some(setting)
        }
        _ => None,
    };
    let rocksdb = match get(&["state.backend.type", "state.backend"]) {
        Some(Value::Choice(t)) => Some(t == "rocksdb"),
        _ => None,
    };
    Ok(Resolved {
        rocksdb,
        rocksdb_config: config,
        checkpoint,
    })
}

/// The first of `names` that is set.
fn lookup<'a>(values: &'a BTreeMap<&str, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| values.get(*n))
}

/// `RocksDBSharedResourcesFactory`'s choice: fixed-per-slot, else managed, else per-CF caches.
fn memory_mode(values: &BTreeMap<&str, Value>) -> Result<MemoryMode> {
    let get = |names: &[&str]| lookup(values, names);
    let ratio = match get(&["state.backend.rocksdb.memory.write-buffer-ratio"]) {
        Some(Value::Ratio(r)) => *r,
        _ => 0.5,
    };
    let high_prio = match get(&["state.backend.rocksdb.memory.high-prio-pool-ratio"]) {
        Some(Value::Ratio(r)) => *r,
        _ => 0.1,
    };
    if ratio + high_prio > 1.0 {
        bail!("state.backend.rocksdb.memory.write-buffer-ratio ({ratio}) + high-prio-pool-ratio ({high_prio}) must not exceed 1");
    }
    if let Some(Value::Size(bytes)) = get(&["state.backend.rocksdb.memory.fixed-per-slot"]) {
        return Ok(MemoryMode::FixedPerSlot {
            total_bytes: *bytes,
            write_buffer_ratio: ratio,
            high_prio_pool_ratio: high_prio,
        });
    }
    if let Some(Value::Bool(false)) = get(&["state.backend.rocksdb.memory.managed"]) {
        return Ok(MemoryMode::Unmanaged);
    }
    let slots = match get(&["taskmanager.numberOfTaskSlots"]) {
        Some(Value::Int(n)) => *n as u64,
        _ => 1,
    };
    let total = match get(&["taskmanager.memory.managed.size"]) {
        Some(Value::Size(bytes)) => bytes / slots,
        _ => MemoryMode::DEFAULT_MANAGED_BYTES,
    };
    Ok(MemoryMode::Managed {
        total_bytes: total,
        write_buffer_ratio: ratio,
        high_prio_pool_ratio: high_prio,
    })
}
