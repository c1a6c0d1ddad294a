//! The Flink configuration keys statebench understands, how their values are parsed and written
//! back, and how they resolve onto a predefined profile (`RocksDBResourceContainer`'s rule:
//! configured value, else the profile's, else Flink's default). [`cell_values`] goes the other
//! way: from the settings a cell runs with to the value of every key.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};

use super::taskmanager::TaskManagerMemory;
use super::{BackendType, CheckpointKeys, Origin, Resolved};
use crate::backend::rocksdb::profile::{CompactionStyle, Compression};
use crate::backend::rocksdb::{
    MemoryMode, PredefinedProfile, RocksDbConfig, RocksSettings, TickerMetrics, TimerFactory,
    DEFAULT_TIMER_CACHE_SIZE, TICKER_METRIC_KEYS,
};
use crate::backend::BackendConfig;
use crate::checkpoint::{
    parse_duration, parse_interval, CheckpointDir, CheckpointMode, CheckpointSetting, Retention,
    S3Access, StorageKind, StorageSetting, DEFAULT_TIMEOUT, DEFAULT_TRANSFER_THREADS, MAX_DURATION,
    MIN_INTERVAL,
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
    /// Free text (a directory, an endpoint, a credential), at most [`MAX_TEXT`] bytes.
    Text,
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
/// Longest free-text value (a checkpoint directory, an S3 endpoint or credential).
pub const MAX_TEXT: usize = 4096;
/// Most concurrent checkpoints (`max-concurrent-checkpoints`).
pub const MAX_CONCURRENT: i64 = 64;
/// `i32::MAX` as RocksDB's `int` options take it.
const MAX_INT: i64 = i32::MAX as i64;
/// The codecs statebench is built with, by Flink's names.
const COMPRESSIONS: [(&str, Compression); 4] = [
    ("NO_COMPRESSION", Compression::None),
    ("SNAPPY_COMPRESSION", Compression::Snappy),
    ("LZ4_COMPRESSION", Compression::Lz4),
    ("ZSTD_COMPRESSION", Compression::Zstd),
];

const BACKEND_TYPE: &str = "state.backend.type";
pub(super) const PREDEFINED_OPTIONS: &str = "state.backend.rocksdb.predefined-options";
const MANAGED: &str = "state.backend.rocksdb.memory.managed";
const FIXED_PER_SLOT: &str = "state.backend.rocksdb.memory.fixed-per-slot";
const WRITE_BUFFER_RATIO: &str = "state.backend.rocksdb.memory.write-buffer-ratio";
const HIGH_PRIO_POOL_RATIO: &str = "state.backend.rocksdb.memory.high-prio-pool-ratio";
const TIMER_FACTORY: &str = "state.backend.rocksdb.timer-service.factory";
const TIMER_CACHE_SIZE: &str = "state.backend.rocksdb.timer-service.cache-size";
const TRANSFER_THREADS: &str = "state.backend.rocksdb.checkpoint.transfer.thread.num";
/// Flink's property-based native metrics (`RocksDBProperty`, read by a monitor thread once per
/// metrics report, no statistics object), and its column-family-as-variable switch: accepted and
/// recorded, not modelled.
const PROPERTY_METRICS: [&str; 28] = [
    "num-immutable-mem-table",
    "mem-table-flush-pending",
    "compaction-pending",
    "background-errors",
    "cur-size-active-mem-table",
    "cur-size-all-mem-tables",
    "size-all-mem-tables",
    "num-entries-active-mem-table",
    "num-entries-imm-mem-tables",
    "num-deletes-active-mem-table",
    "num-deletes-imm-mem-tables",
    "estimate-num-keys",
    "estimate-table-readers-mem",
    "num-snapshots",
    "num-live-versions",
    "estimate-live-data-size",
    "total-sst-files-size",
    "live-sst-files-size",
    "estimate-pending-compaction-bytes",
    "num-running-compactions",
    "num-running-flushes",
    "actual-delayed-write-rate",
    "is-write-stopped",
    "block-cache-capacity",
    "block-cache-usage",
    "block-cache-pinned-usage",
    "num-files-at-level",
    "column-family-as-variable",
];
const TM_MANAGED_SIZE: &str = "taskmanager.memory.managed.size";
const TM_SLOTS: &str = "taskmanager.numberOfTaskSlots";
const TM_PROCESS_SIZE: &str = "taskmanager.memory.process.size";
const TM_FLINK_SIZE: &str = "taskmanager.memory.flink.size";
const TM_MANAGED_FRACTION: &str = "taskmanager.memory.managed.fraction";
const TM_METASPACE: &str = "taskmanager.memory.jvm-metaspace.size";
const TM_OVERHEAD_FRACTION: &str = "taskmanager.memory.jvm-overhead.fraction";
const TM_OVERHEAD_MIN: &str = "taskmanager.memory.jvm-overhead.min";
const TM_OVERHEAD_MAX: &str = "taskmanager.memory.jvm-overhead.max";
/// The TaskManager keys that decide a slot's managed memory.
const TM_MEMORY_KEYS: [&str; 9] = [
    TM_PROCESS_SIZE,
    TM_FLINK_SIZE,
    TM_MANAGED_SIZE,
    TM_MANAGED_FRACTION,
    TM_METASPACE,
    TM_OVERHEAD_FRACTION,
    TM_OVERHEAD_MIN,
    TM_OVERHEAD_MAX,
    TM_SLOTS,
];
pub(super) const INTERVAL: &str = "execution.checkpointing.interval";
pub(super) const INCREMENTAL: &str = "execution.checkpointing.incremental";
const MIN_PAUSE: &str = "execution.checkpointing.min-pause";
const RETAINED: &str = "execution.checkpointing.num-retained";
const TIMEOUT: &str = "execution.checkpointing.timeout";
const TOLERABLE: &str = "execution.checkpointing.tolerable-failed-checkpoints";
const MAX_CONCURRENT_KEY: &str = "execution.checkpointing.max-concurrent-checkpoints";
const RETENTION: &str = "execution.checkpointing.externalized-checkpoint-retention";
pub(super) const STORAGE: &str = "execution.checkpointing.storage";
const DIR: &str = "execution.checkpointing.dir";
const S3_ENDPOINT: &str = "s3.endpoint";
/// Credentials: read, never recorded with a cell or written into a config.yaml.
pub(super) const S3_SECRETS: [&str; 2] = ["s3.access-key", "s3.secret-key"];
const S3_PATH_STYLE: &str = "s3.path.style.access";

/// Legacy names Flink 1.x reads, and the key each is in Flink 2.x.
const ALIASES: [(&str, &str); 7] = [
    ("state.backend", BACKEND_TYPE),
    ("state.backend.incremental", INCREMENTAL),
    ("state.checkpoints.num-retained", RETAINED),
    ("state.checkpoint-storage", STORAGE),
    ("state.checkpoints.dir", DIR),
    ("state.backend.fs.checkpointdir", DIR),
    ("s3.access.key", "s3.access-key"),
];

/// Every key statebench reads besides Flink's statistics-based metric keys
/// ([`TICKER_METRIC_KEYS`]; [`modelled_keys`] gives both).
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
    "state.backend.rocksdb.timer-service.cache-size",
    "state.backend.rocksdb.checkpoint.transfer.thread.num",
    "taskmanager.memory.process.size",
    "taskmanager.memory.flink.size",
    "taskmanager.memory.managed.size",
    "taskmanager.memory.managed.fraction",
    "taskmanager.memory.jvm-metaspace.size",
    "taskmanager.memory.jvm-overhead.fraction",
    "taskmanager.memory.jvm-overhead.min",
    "taskmanager.memory.jvm-overhead.max",
    "taskmanager.numberOfTaskSlots",
    "execution.checkpointing.interval",
    "execution.checkpointing.incremental",
    "execution.checkpointing.min-pause",
    "execution.checkpointing.num-retained",
    "execution.checkpointing.timeout",
    "execution.checkpointing.tolerable-failed-checkpoints",
    "execution.checkpointing.max-concurrent-checkpoints",
    "execution.checkpointing.externalized-checkpoint-retention",
    "execution.checkpointing.storage",
    "execution.checkpointing.dir",
    "s3.endpoint",
    "s3.access-key",
    "s3.secret-key",
    "s3.path.style.access",
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
        _ if TICKER_METRIC_KEYS.contains(&name) => Kind::Bool,
        (_, Some(metric))
            if metric
                .strip_prefix("metrics.")
                .is_some_and(|m| PROPERTY_METRICS.contains(&m)) =>
        {
            Kind::NotModelled
        }
        (_, Some("timer-service.factory")) => Kind::Choice(&["ROCKSDB", "HEAP"]),
        // `RocksDBPriorityQueueSetFactory`: checkArgument(cacheSize > 0).
        (_, Some("timer-service.cache-size")) => Kind::Int {
            min: 1,
            max: MAX_INT,
        },
        // Negative: the TaskManager's IO pool; 0 or 1: the async snapshot thread itself.
        (_, Some("checkpoint.transfer.thread.num")) => Kind::Int {
            min: -MAX_THREADS,
            max: MAX_THREADS,
        },
        (
            _,
            Some(
                "log.level"
                | "log.dir"
                | "log.max-file-size"
                | "log.file-num"
                | "localdir"
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
        (
            "taskmanager.memory.managed.size"
            | "taskmanager.memory.process.size"
            | "taskmanager.memory.flink.size"
            | "taskmanager.memory.jvm-metaspace.size"
            | "taskmanager.memory.jvm-overhead.min"
            | "taskmanager.memory.jvm-overhead.max",
            _,
        ) => Kind::Size {
            max: MAX_MEMORY_SIZE,
        },
        ("taskmanager.memory.managed.fraction" | "taskmanager.memory.jvm-overhead.fraction", _) => {
            Kind::Ratio {
                min: 0.0,
                max: 1.0 - f64::EPSILON,
            }
        }
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
        // Flink's `CheckpointCoordinatorConfiguration` minimum is 10 ms, as the interval's.
        ("execution.checkpointing.timeout", _) => Kind::Interval,
        ("execution.checkpointing.tolerable-failed-checkpoints", _) => Kind::Int {
            min: 0,
            max: MAX_INT,
        },
        ("execution.checkpointing.max-concurrent-checkpoints", _) => Kind::Int {
            min: 1,
            max: MAX_CONCURRENT,
        },
        ("execution.checkpointing.externalized-checkpoint-retention", _) => Kind::Choice(&[
            "NO_EXTERNALIZED_CHECKPOINTS",
            "DELETE_ON_CANCELLATION",
            "RETAIN_ON_CANCELLATION",
        ]),
        ("execution.checkpointing.storage" | "state.checkpoint-storage", _) => {
            Kind::Choice(&["jobmanager", "filesystem"])
        }
        (
            "execution.checkpointing.dir"
            | "state.checkpoints.dir"
            | "state.backend.fs.checkpointdir"
            | "s3.endpoint"
            | "s3.access-key"
            | "s3.access.key"
            | "s3.secret-key",
            _,
        ) => Kind::Text,
        ("s3.path.style.access", _) => Kind::Bool,
        (
            "execution.checkpointing.mode"
            | "execution.checkpointing.unaligned.enabled"
            | "execution.checkpointing.unaligned"
            | "execution.checkpointing.aligned-checkpoint-timeout"
            | "execution.checkpointing.savepoint-dir"
            | "execution.checkpointing.local-backup.enabled"
            | "execution.checkpointing.data-inline-threshold"
            | "execution.checkpointing.write-buffer-size"
            | "execution.checkpointing.file-merging.enabled"
            | "state.savepoints.dir"
            | "state.backend.local-recovery"
            | "state.backend.fs.memory-threshold"
            | "state.backend.changelog.enabled",
            _,
        ) => Kind::NotModelled,
        _ => return None,
    })
}

/// Every key statebench models, in the order a config.yaml lists them: [`KEYS`], then Flink's
/// statistics-based metric keys.
pub(super) fn modelled_keys() -> impl Iterator<Item = &'static str> {
    KEYS.iter().copied().chain(TICKER_METRIC_KEYS)
}

/// Whether statebench knows the key.
pub(super) fn is_known(name: &str) -> bool {
    kind_of(name).is_some()
}

/// Whether the key is a valid Flink key whose effect statebench does not model: accepted, and
/// recorded with the cell as it was written.
pub(super) fn is_recorded_only(name: &str) -> bool {
    matches!(kind_of(name), Some(Kind::NotModelled))
}

/// Keys under these prefixes must be known; others are ignored (`s3.*` has many keys
/// statebench does not read, so only those it reads are taken from there).
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
    let closest = modelled_keys()
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

/// A memory size as Flink writes it, in the largest unit that divides it: `64mb`, `4kb`, `3b`.
fn memory_size_text(bytes: u64) -> String {
    const UNITS: [(&str, u32); 4] = [("tb", 40), ("gb", 30), ("mb", 20), ("kb", 10)];
    match UNITS
        .iter()
        .find(|(_, shift)| bytes != 0 && bytes.trailing_zeros() >= *shift)
    {
        Some((unit, shift)) => format!("{}{unit}", bytes >> shift),
        None => format!("{bytes}b"),
    }
}

/// A key's value, parsed.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    Bool(bool),
    Int(i64),
    Ratio(f64),
    Size(u64),
    Duration(Duration),
    Choice(String),
    Text(String),
    Compressions(Vec<Compression>),
}

impl Value {
    /// The value as Flink 2.x reads it: sizes in the largest whole unit, durations in whole
    /// milliseconds, lists `;`-separated.
    pub(super) fn text(&self) -> String {
        match self {
            Value::Bool(b) => b.to_string(),
            Value::Int(n) => n.to_string(),
            Value::Ratio(r) => r.to_string(),
            Value::Size(bytes) => memory_size_text(*bytes),
            Value::Duration(d) => format!("{}ms", d.as_millis()),
            Value::Choice(c) | Value::Text(c) => c.clone(),
            Value::Compressions(list) => list
                .iter()
                .map(|c| compression_name(*c))
                .collect::<Vec<_>>()
                .join(";"),
        }
    }
}

fn compression_name(compression: Compression) -> &'static str {
    COMPRESSIONS
        .iter()
        .find(|(_, c)| *c == compression)
        .map_or("NO_COMPRESSION", |(name, _)| name)
}

/// Whether `name` holds a list, which a YAML file writes as a YAML list.
pub(super) fn is_list(name: &str) -> bool {
    matches!(kind_of(name), Some(Kind::CompressionList))
}

/// The value of a key statebench models, None for keys it reads but does not model.
fn parse_value(name: &str, raw: &str, origin: &Origin) -> Result<Option<Value>> {
    let kind = kind_of(name).ok_or_else(|| anyhow!("{}", unknown_key_message(name, origin)))?;
    let shown = crate::input::excerpt(raw);
    let bad =
        |expected: String| anyhow!("{origin}: `{name}`: {shown} is not valid: expected {expected}");
    Ok(Some(match kind {
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
        Kind::Text => match raw.trim() {
            "" => return Err(bad("a value".into())),
            t if t.len() > MAX_TEXT => return Err(bad(format!("at most {MAX_TEXT} bytes"))),
            t => Value::Text(t.to_string()),
        },
        Kind::CompressionList => {
            let mut list = Vec::new();
            for item in raw
                .split([';', ','])
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                match COMPRESSIONS
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(item))
                {
                    Some((_, compression)) => list.push(*compression),
                    None => {
                        return Err(bad(format!(
                        "a ';'-separated list of {} (other codecs are not built into statebench)",
                        COMPRESSIONS.map(|(name, _)| name).join(", ")
                    )))
                    }
                }
            }
            if list.is_empty() {
                return Err(bad("at least one compression type".into()));
            }
            Value::Compressions(list)
        }
        Kind::NotModelled => return Ok(None),
    }))
}

/// A field of [`RocksSettings`] as the value of its key.
trait SettingField: Sized {
    /// The field as its key's value.
    fn to_value(&self) -> Value;
    /// The field a value of its key's kind sets, None for a value of another kind.
    fn from_value(value: &Value) -> Option<Self>;
}

/// [`SettingField`] for types a [`Value`] variant holds as they are.
macro_rules! plain_setting_fields {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl SettingField for $ty {
            fn to_value(&self) -> Value {
                Value::$variant(self.clone())
            }
            fn from_value(value: &Value) -> Option<Self> {
                match value {
                    Value::$variant(v) => Some(v.clone()),
                    _ => None,
                }
            }
        }
    )*};
}

plain_setting_fields!(
    bool => Bool,
    u64 => Size,
    f64 => Ratio,
    Vec<Compression> => Compressions,
);

impl SettingField for i32 {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(n) => Some(*n as i32),
            _ => None,
        }
    }
}

impl SettingField for usize {
    fn to_value(&self) -> Value {
        (*self as u64).to_value()
    }
    fn from_value(value: &Value) -> Option<Self> {
        u64::from_value(value).map(|bytes| bytes as usize)
    }
}

impl SettingField for CompactionStyle {
    fn to_value(&self) -> Value {
        let name = match self {
            CompactionStyle::Level => "LEVEL",
            CompactionStyle::Universal => "UNIVERSAL",
            CompactionStyle::Fifo => "FIFO",
        };
        Value::Choice(name.to_string())
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Choice(c) => Some(match c.as_str() {
                "UNIVERSAL" => CompactionStyle::Universal,
                "FIFO" => CompactionStyle::Fifo,
                _ => CompactionStyle::Level,
            }),
            _ => None,
        }
    }
}

/// A `state.backend.rocksdb.*` key that is one field of [`RocksSettings`].
struct SettingKey {
    /// The key.
    name: &'static str,
    /// The field's value.
    get: fn(&RocksSettings) -> Value,
    /// Sets the field to a value of the key's kind.
    set: fn(&mut RocksSettings, &Value),
}

macro_rules! setting_keys {
    ($($option:literal => $field:ident),* $(,)?) => {
        [$(SettingKey {
            name: concat!("state.backend.rocksdb.", $option),
            get: |s| s.$field.to_value(),
            set: |s, value| {
                if let Some(v) = SettingField::from_value(value) {
                    s.$field = v;
                }
            },
        }),*]
    };
}

/// Every key that is a field of [`RocksSettings`].
const SETTING_KEYS: [SettingKey; 18] = setting_keys![
    "thread.num" => max_background_jobs,
    "files.open" => max_open_files,
    "compaction.style" => compaction_style,
    "compaction.level.use-dynamic-size" => dynamic_level_bytes,
    "compression.per.level" => compression_per_level,
    "compaction.level.target-file-size-base" => target_file_size_base,
    "compaction.level.max-size-level-base" => max_bytes_for_level_base,
    "writebuffer.size" => write_buffer_size,
    "writebuffer.count" => max_write_buffer_number,
    "writebuffer.number-to-merge" => min_write_buffer_number_to_merge,
    "block.blocksize" => block_size,
    "block.metadata-blocksize" => metadata_block_size,
    "block.cache-size" => block_cache_size,
    "write-batch-size" => write_batch_size,
    "use-bloom-filter" => use_bloom_filter,
    "bloom-filter.bits-per-key" => bloom_bits_per_key,
    "bloom-filter.block-based-mode" => bloom_block_based,
    "memory.partitioned-index-filters" => partitioned_index_filters,
];

/// The keys a configuration sets that statebench models, parsed, by their Flink 2.x name (a key
/// set under its current name wins over its legacy alias), with where each was set.
pub(super) type Values = BTreeMap<&'static str, (Value, Origin)>;

/// The Flink 2.x name of a modelled key (its own, or the one a legacy alias stands for).
fn current_name(name: &str) -> Option<&'static str> {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map(|(_, current)| *current)
        .or_else(|| modelled_keys().find(|key| *key == name))
}

/// Parses the modelled keys of `entries`.
pub(super) fn parse_values(entries: &BTreeMap<String, (String, Origin)>) -> Result<Values> {
    let mut values = Values::new();
    // Aliases first, so that a key set under its current name wins.
    for aliases in [true, false] {
        for (name, (raw, origin)) in entries {
            let Some(current) = current_name(name) else {
                continue;
            };
            if (current != name) != aliases {
                continue;
            }
            if let Some(value) = parse_value(name, raw, origin)? {
                values.insert(current, (value, origin.clone()));
            }
        }
    }
    Ok(values)
}

/// What a key is when nobody sets it: `profile`'s value (Flink's default under it); None for keys
/// without one (backend type, fixed-per-slot memory, the TaskManager's, checkpoint interval).
pub(super) fn default_value(name: &str, profile: PredefinedProfile) -> Option<Value> {
    if let Some(key) = SETTING_KEYS.iter().find(|k| k.name == name) {
        return Some((key.get)(&profile.settings()));
    }
    Some(match name {
        PREDEFINED_OPTIONS => Value::Choice(PredefinedProfile::Default.name().to_string()),
        MANAGED => Value::Bool(true),
        WRITE_BUFFER_RATIO => Value::Ratio(0.5),
        HIGH_PRIO_POOL_RATIO => Value::Ratio(0.1),
        TIMER_FACTORY => Value::Choice(timer_factory_name(TimerFactory::Rocksdb).to_string()),
        TIMER_CACHE_SIZE => Value::Int(DEFAULT_TIMER_CACHE_SIZE as i64),
        TRANSFER_THREADS => Value::Int(DEFAULT_TRANSFER_THREADS.into()),
        INCREMENTAL => Value::Bool(false),
        MIN_PAUSE => Value::Duration(Duration::ZERO),
        RETAINED => Value::Int(1),
        TIMEOUT => Value::Duration(DEFAULT_TIMEOUT),
        TOLERABLE => Value::Int(0),
        MAX_CONCURRENT_KEY => Value::Int(1),
        RETENTION => Value::Choice(Retention::NoExternalizedCheckpoints.name().to_string()),
        S3_PATH_STYLE => Value::Bool(false),
        _ => return None,
    })
}

/// The value `values` sets for `name`, else Flink's default.
fn value_or_default(values: &Values, name: &str) -> Option<Value> {
    match values.get(name) {
        Some((value, _)) => Some(value.clone()),
        None => default_value(name, PredefinedProfile::Default),
    }
}

fn timer_factory_name(timers: TimerFactory) -> &'static str {
    match timers {
        TimerFactory::Rocksdb => "ROCKSDB",
        TimerFactory::Heap => "HEAP",
    }
}

/// Resolves `entries` over `profile` (or the profile the entries name, or DEFAULT).
pub(super) fn resolve(
    entries: &BTreeMap<String, (String, Origin)>,
    profile: Option<PredefinedProfile>,
) -> Result<Resolved> {
    let values = parse_values(entries)?;
    let get = |name: &str| values.get(name).map(|(value, _)| value);
    let profile = match (profile, get(PREDEFINED_OPTIONS)) {
        (Some(p), _) => p,
        (None, Some(Value::Choice(name))) => name.parse()?,
        _ => PredefinedProfile::Default,
    };
    let mut config = RocksDbConfig::new(profile);
    for key in &SETTING_KEYS {
        if let Some(value) = get(key.name) {
            (key.set)(&mut config.settings, value);
        }
    }
    config.memory = memory_mode(&values)?;
    if let Some(Value::Choice(t)) = get(TIMER_FACTORY) {
        if t == timer_factory_name(TimerFactory::Heap) {
            config.timers = TimerFactory::Heap;
        }
    }
    if let Some(Value::Int(n)) = get(TIMER_CACHE_SIZE) {
        config.timer_cache_size = *n as usize;
    }
    if let Some(Value::Int(n)) = get(TRANSFER_THREADS) {
        config.transfer_threads = (*n).clamp(i32::MIN.into(), i32::MAX.into()) as i32;
    }
    config.ticker_metrics = TICKER_METRIC_KEYS
        .into_iter()
        .filter(|name| get(name) == Some(&Value::Bool(true)))
        .fold(TickerMetrics::default(), TickerMetrics::with);
    if config.timers == TimerFactory::Heap {
        // Visible in cell ids: the timer service changes what a cell measures.
        config.label.push_str("+HEAP_TIMERS");
    }
    let duration = |name| match value_or_default(&values, name) {
        Some(Value::Duration(d)) => Some(d),
        _ => None,
    };
    let int = |name, default: i64| match value_or_default(&values, name) {
        Some(Value::Int(n)) => n,
        _ => default,
    };
    let retention = match get(RETENTION) {
        Some(Value::Choice(name)) => Retention::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .unwrap_or(Retention::NoExternalizedCheckpoints),
        _ => Retention::NoExternalizedCheckpoints,
    };
    let checkpoint = CheckpointKeys {
        interval: duration(INTERVAL),
        incremental: value_or_default(&values, INCREMENTAL) == Some(Value::Bool(true)),
        min_pause: duration(MIN_PAUSE).unwrap_or_default(),
        retained: int(RETAINED, 1) as usize,
        timeout: duration(TIMEOUT).unwrap_or(DEFAULT_TIMEOUT),
        tolerable_failures: int(TOLERABLE, 0) as u32,
        max_concurrent: int(MAX_CONCURRENT_KEY, 1) as usize,
        retention,
    };
    let backend = match get(BACKEND_TYPE) {
        Some(Value::Choice(t)) if t == BackendType::RocksDb.name() => Some(BackendType::RocksDb),
        Some(_) => Some(BackendType::HashMap),
        None => None,
    };
    let process_bytes = match values.get(TM_PROCESS_SIZE) {
        Some((Value::Size(bytes), _)) => Some(*bytes),
        _ => None,
    };
    Ok(Resolved {
        backend,
        rocksdb_config: config,
        checkpoint,
        process_bytes,
        storage: storage_setting(&values)?,
    })
}

/// The checkpoint storage the keys describe, as Flink's `CheckpointStorageLoader` picks it:
/// `execution.checkpointing.storage` when set, else `filesystem` when a directory is set.
/// Neither set: statebench's default, the file system in the cell's work directory (Flink would
/// keep the state in the JobManager's memory, whose 5 MiB limit fails most benchmarks).
fn storage_setting(values: &Values) -> Result<StorageSetting> {
    let text = |name| match values.get(name) {
        Some((Value::Text(t), origin)) => Some((t.clone(), origin)),
        _ => None,
    };
    let dir = match text(DIR) {
        Some((t, origin)) => {
            Some(CheckpointDir::parse(&t).map_err(|e| anyhow!("{origin}: `{DIR}`: {e}"))?)
        }
        None => None,
    };
    let kind = match values.get(STORAGE) {
        Some((Value::Choice(c), _)) if c == StorageKind::JobManager.name() => {
            StorageKind::JobManager
        }
        Some((_, origin)) if dir.is_none() => bail!(
            "{origin}: `{STORAGE}` is filesystem, but `{DIR}` is not set: Flink's \
             FileSystemCheckpointStorage needs a directory (a path or s3://bucket/prefix)"
        ),
        _ => StorageKind::FileSystem,
    };
    let [access, secret] = S3_SECRETS.map(|name| text(name).map(|(t, _)| t));
    Ok(StorageSetting {
        kind,
        dir,
        s3: S3Access {
            endpoint: text(S3_ENDPOINT).map(|(t, _)| t),
            access_key: access,
            secret_key: secret,
            path_style: values.get(S3_PATH_STYLE).map(|(v, _)| v) == Some(&Value::Bool(true)),
        },
    })
}

/// The managed memory of one slot: the TaskManager's (derived from its memory keys by Flink's
/// arithmetic, [`TaskManagerMemory`]) over `taskmanager.numberOfTaskSlots`.
fn managed_bytes_per_slot(values: &Values) -> Result<u64> {
    let slots = match values.get(TM_SLOTS) {
        Some((Value::Int(n), _)) => *n as u64,
        _ => 1,
    };
    let size = |name| match values.get(name) {
        Some((Value::Size(bytes), _)) => Some(*bytes),
        _ => None,
    };
    let fraction = |name, default| match values.get(name) {
        Some((Value::Ratio(r), _)) => *r as f32,
        _ => default,
    };
    let defaults = TaskManagerMemory::default();
    let memory = TaskManagerMemory {
        process: size(TM_PROCESS_SIZE),
        flink: size(TM_FLINK_SIZE),
        managed: size(TM_MANAGED_SIZE),
        managed_fraction: fraction(TM_MANAGED_FRACTION, defaults.managed_fraction),
        metaspace: size(TM_METASPACE).unwrap_or(defaults.metaspace),
        overhead_fraction: fraction(TM_OVERHEAD_FRACTION, defaults.overhead_fraction),
        overhead_min: size(TM_OVERHEAD_MIN).unwrap_or(defaults.overhead_min),
        overhead_max: size(TM_OVERHEAD_MAX).unwrap_or(defaults.overhead_max),
    };
    Ok(memory.managed_bytes()? / slots)
}

/// `RocksDBMemoryConfiguration.validate`: the write buffer manager's share of the cache,
/// 2·w/(3−w) (the cache is (3−w)·M/3, the manager 2·w·M/3), plus the high-priority pool must stay
/// below the whole cache, or Flink refuses the configuration with this message.
fn check_memory_ratios(values: &Values, write_buffer: f64, high_prio: f64) -> Result<()> {
    if 2.0 * write_buffer / (3.0 - write_buffer) + high_prio < 1.0 {
        return Ok(());
    }
    let source = |name| match values.get(name) {
        Some((_, origin)) => format!("{name}: {origin}"),
        None => format!("{name}: Flink's default"),
    };
    bail!(
        "Invalid configuration: writeBufferRatio {write_buffer} with highPriPoolRatio {high_prio} \
         ({}; {}): Flink requires 2*w/(3-w) + h < 1, i.e. the write buffer manager's share of the \
         block cache plus the high-priority pool below the whole cache",
        source(WRITE_BUFFER_RATIO),
        source(HIGH_PRIO_POOL_RATIO)
    )
}

/// `RocksDBSharedResourcesFactory`'s choice: fixed-per-slot, else managed, else per-CF caches.
fn memory_mode(values: &Values) -> Result<MemoryMode> {
    let ratio = |name| match value_or_default(values, name) {
        Some(Value::Ratio(r)) => r,
        _ => 0.0,
    };
    let (ratio, high_prio) = (ratio(WRITE_BUFFER_RATIO), ratio(HIGH_PRIO_POOL_RATIO));
    check_memory_ratios(values, ratio, high_prio)?;
    if let Some((Value::Size(bytes), _)) = values.get(FIXED_PER_SLOT) {
        return Ok(MemoryMode::FixedPerSlot {
            total_bytes: *bytes,
            write_buffer_ratio: ratio,
            high_prio_pool_ratio: high_prio,
        });
    }
    if let Some((Value::Bool(false), _)) = values.get(MANAGED) {
        return Ok(MemoryMode::Unmanaged);
    }
    Ok(MemoryMode::Managed {
        total_bytes: managed_bytes_per_slot(values)?,
        write_buffer_ratio: ratio,
        high_prio_pool_ratio: high_prio,
    })
}

/// Every key a cell of `backend` under `checkpoint` runs with and its value, in [`modelled_keys`]
/// order:
/// the backend type; for RocksDB the profile, each setting, the keys of its memory mode and the
/// timer service; with checkpoints, the checkpointing keys. The TaskManager's memory keys are
/// `config`'s when they give the managed memory the cell has, else that memory on one slot.
pub(super) fn cell_values(
    backend: &BackendConfig,
    checkpoint: &CheckpointSetting,
    storage: &StorageSetting,
    config: &Values,
) -> Vec<(&'static str, Value)> {
    let mut values: BTreeMap<&str, Value> = BTreeMap::new();
    values.insert(
        BACKEND_TYPE,
        Value::Choice(BackendType::of(backend).name().to_string()),
    );
    if let BackendConfig::RocksDb(rocks) = backend {
        values.insert(
            PREDEFINED_OPTIONS,
            Value::Choice(rocks.profile.name().to_string()),
        );
        for key in &SETTING_KEYS {
            values.insert(key.name, (key.get)(&rocks.settings));
        }
        let ratios = match rocks.memory {
            MemoryMode::Managed {
                total_bytes,
                write_buffer_ratio,
                high_prio_pool_ratio,
            } => {
                values.insert(MANAGED, Value::Bool(true));
                if managed_bytes_per_slot(config).ok() == Some(total_bytes) {
                    for name in TM_MEMORY_KEYS {
                        if let Some((value, _)) = config.get(name) {
                            values.insert(name, value.clone());
                        }
                    }
                } else {
                    values.insert(TM_MANAGED_SIZE, Value::Size(total_bytes));
                    values.insert(TM_SLOTS, Value::Int(1));
                }
                Some((write_buffer_ratio, high_prio_pool_ratio))
            }
            MemoryMode::FixedPerSlot {
                total_bytes,
                write_buffer_ratio,
                high_prio_pool_ratio,
            } => {
                values.insert(FIXED_PER_SLOT, Value::Size(total_bytes));
                Some((write_buffer_ratio, high_prio_pool_ratio))
            }
            MemoryMode::Unmanaged => {
                values.insert(MANAGED, Value::Bool(false));
                None
            }
        };
        if let Some((write_buffer, high_prio)) = ratios {
            values.insert(WRITE_BUFFER_RATIO, Value::Ratio(write_buffer));
            values.insert(HIGH_PRIO_POOL_RATIO, Value::Ratio(high_prio));
        }
        values.insert(
            TIMER_FACTORY,
            Value::Choice(timer_factory_name(rocks.timers).to_string()),
        );
        values.insert(TIMER_CACHE_SIZE, Value::Int(rocks.timer_cache_size as i64));
        values.insert(TRANSFER_THREADS, Value::Int(rocks.transfer_threads.into()));
        for name in rocks.ticker_metrics.keys() {
            values.insert(name, Value::Bool(true));
        }
    }
    if checkpoint.mode != CheckpointMode::None {
        values.insert(INTERVAL, Value::Duration(checkpoint.interval));
        values.insert(
            INCREMENTAL,
            Value::Bool(checkpoint.mode == CheckpointMode::Incremental),
        );
        values.insert(MIN_PAUSE, Value::Duration(checkpoint.min_pause));
        values.insert(RETAINED, Value::Int(checkpoint.retained as i64));
        values.insert(TIMEOUT, Value::Duration(checkpoint.timeout));
        values.insert(TOLERABLE, Value::Int(checkpoint.tolerable_failures.into()));
        values.insert(
            MAX_CONCURRENT_KEY,
            Value::Int(checkpoint.max_concurrent as i64),
        );
        values.insert(
            RETENTION,
            Value::Choice(checkpoint.retention.name().to_string()),
        );
        // statebench's default storage (the work directory) is no setting of the job's.
        if storage.dir.is_some() || storage.kind == StorageKind::JobManager {
            values.insert(STORAGE, Value::Choice(storage.kind.name().to_string()));
        }
        if let Some(dir) = &storage.dir {
            values.insert(DIR, Value::Text(dir.to_string()));
        }
        if let Some(endpoint) = &storage.s3.endpoint {
            values.insert(S3_ENDPOINT, Value::Text(endpoint.clone()));
        }
        if storage.s3.path_style {
            values.insert(S3_PATH_STYLE, Value::Bool(true));
        }
    }
    modelled_keys()
        .filter_map(|key| values.remove(key).map(|value| (key, value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_as_flink_reads_them_and_read_back_equal() {
        for (bytes, text) in [
            (0, "0b"),
            (1536, "1536b"),
            (4 << 10, "4kb"),
            (64 << 20, "64mb"),
            (3 << 30, "3gb"),
            (MemoryMode::DEFAULT_MANAGED_BYTES, "536870920b"),
        ] {
            assert_eq!(memory_size_text(bytes), text);
        }
        let origin = Origin::CommandLine;
        for (name, value) in [
            (
                "state.backend.rocksdb.writebuffer.size",
                Value::Size(96 << 20),
            ),
            (INTERVAL, Value::Duration(Duration::from_millis(1500))),
            ("state.backend.rocksdb.files.open", Value::Int(-1)),
            (WRITE_BUFFER_RATIO, Value::Ratio(0.375)),
            (
                "state.backend.rocksdb.compression.per.level",
                Value::Compressions(vec![Compression::None, Compression::Zstd]),
            ),
            (
                "state.backend.rocksdb.compaction.style",
                CompactionStyle::Universal.to_value(),
            ),
        ] {
            let text = value.text();
            assert_eq!(
                parse_value(name, &text, &origin).unwrap(),
                Some(value),
                "{text}"
            );
        }
        assert_eq!(
            Value::Compressions(vec![Compression::Lz4, Compression::Snappy]).text(),
            "LZ4_COMPRESSION;SNAPPY_COMPRESSION"
        );
    }
}
