//! What a run measured, as results.json holds it (with a schema version): the machine, the
//! workload, and per cell what it ran with and what it measured. Reports are computed from this
//! alone, so any old run can be redrawn and runs from different machines compared.
//!
//! Version 3 repeats every cell: per cell the raw numbers of each repeat ([`RepeatRecord`]), the
//! median repeat's full measurements, and the run's [`Analysis`] (medians, intervals, steady
//! state, ranking); [`RunProtocol`] says how the repeats were run. Version 2 (one run per cell)
//! is read as one repeat per cell; version 2 recorded what each cell ran with as types and every
//! Flink key with its source; version 1 files are converted on reading ([`read_results`], see
//! `v1.rs` for what that conversion cannot know).

mod constraints;
mod repeats;
mod setup;
mod statistics;
mod v1;

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomically;
use crate::backend::rocksdb::RocksStatistics;
use crate::workload::WorkloadSpec;
pub use constraints::Constraints;
pub use repeats::RepeatRecord;
pub use setup::{CellProfile, CellSetup};
pub use statistics::{Analysis, CellStatistics, Estimate, Ranked, SteadyState, Trend};

/// Version of the results.json layout; bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 3;

/// The name of the results file in a run directory.
pub const RESULTS_FILE: &str = "results.json";

/// Writes `results` to `dir/results.json` (atomically: a reader never sees half a file).
pub fn write_results(dir: &Path, results: &Results) -> Result<()> {
    write_atomically(
        &dir.join(RESULTS_FILE),
        &serde_json::to_vec_pretty(results)?,
    )
}

/// Reads `dir/results.json`: the current version as it is, versions 1 and 2 converted (best
/// effort, marked in [`Results::converted_from`]); other versions are refused.
pub fn read_results(dir: &Path) -> Result<Results> {
    let path = dir.join(RESULTS_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    match json.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(SCHEMA_VERSION) => serde_json::from_value(json)
            .with_context(|| format!("{}: invalid results", path.display())),
        Some(2) => serde_json::from_value(json)
            .map(|results| once_each(results, 2))
            .with_context(|| format!("{}: invalid version-2 results", path.display())),
        Some(1) => v1::convert(json)
            .map(|results| once_each(results, 1))
            .with_context(|| {
                format!(
                    "{}: cannot convert these version-1 results to version {SCHEMA_VERSION}",
                    path.display()
                )
            }),
        Some(v) => bail!(
            "{}: field `schema_version`: expected 1 to {SCHEMA_VERSION}, got {v} \
             (written by a statebench this one does not know)",
            path.display()
        ),
        None => bail!("{}: field `schema_version`: missing", path.display()),
    }
}

/// Results of version `from` (1 or 2: every cell ran once, in the measuring process) as version
/// 3: each cell's measurements become its one repeat.
fn once_each(mut results: Results, from: u32) -> Results {
    results.schema_version = SCHEMA_VERSION;
    results.converted_from = Some(from);
    results.protocol = RunProtocol {
        repeats: 1,
        order_seed: results.workload.seed,
        order: results
            .cells
            .iter()
            .map(|c| format!("{}#1", c.id))
            .collect(),
        child_processes: false,
        page_cache_dropped: false,
        page_cache: format!("not recorded (results version {from})"),
    };
    for (i, cell) in results.cells.iter_mut().enumerate() {
        if cell.repeats.is_empty() {
            cell.repeats = vec![RepeatRecord::of(cell, 1, i + 1)];
            cell.representative_repeat = Some(1);
        }
    }
    results
}

/// A whole run: one workload, one or more cells of the matrix.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// statebench version that measured this.
    pub statebench_version: String,
    /// When the run started, UTC, RFC 3339.
    pub created: String,
    /// The workload, exactly as replayed (seed included).
    pub workload: WorkloadSpec,
    /// The machine it ran on.
    pub machine: Machine,
    /// RocksDB library version linked into statebench.
    pub rocksdb_version: String,
    /// The schema version these results were converted from when read, None when read as
    /// written (never written to a file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converted_from: Option<u32>,
    /// How the cells were repeated and ordered (the default for results written before repeats:
    /// one repeat each, in the plan's order, in the measuring process).
    #[serde(default)]
    pub protocol: RunProtocol,
    /// The user's limits the recommendation applies.
    #[serde(default, skip_serializing_if = "Constraints::is_empty")]
    pub constraints: Constraints,
    /// One entry per cell, in the plan's order.
    pub cells: Vec<CellResult>,
    /// The statistics of the repeats (medians, intervals, steady state, ranking), as the report
    /// shows them; None in results written before version 3 (the report computes them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
}

/// How a run repeated its cells.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RunProtocol {
    /// Repeats per cell (`--repeats`).
    pub repeats: u32,
    /// The seed of the run order (the workload's).
    pub order_seed: u64,
    /// The run order: `<cell>#<repeat>`.
    pub order: Vec<String>,
    /// Whether each repeat ran in a fresh child process.
    pub child_processes: bool,
    /// Whether the page cache was dropped before every repeat.
    pub page_cache_dropped: bool,
    /// How the page cache was handled, in words (why it was not dropped).
    pub page_cache: String,
}

/// What the numbers depend on: CPU, memory, disk.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Machine {
    /// Host name.
    pub hostname: String,
    /// Operating system and kernel release.
    pub os: String,
    /// CPU model name.
    pub cpu_model: String,
    /// Logical CPUs.
    pub cpus: usize,
    /// Physical memory in bytes.
    pub memory_bytes: u64,
    /// Directory the state backends wrote to.
    pub data_dir: String,
    /// Device holding `data_dir`.
    pub device: String,
    /// Filesystem type of `data_dir`.
    pub filesystem: String,
    /// The device under `data_dir`, measured (None when the probe could not run there, and in
    /// files written before it existed).
    #[serde(default)]
    pub disk: Option<DiskProbe>,
}

/// The device under the data directory as measured by a short probe with direct I/O, beside what
/// the kernel claims about it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DiskProbe {
    /// When it was measured, seconds since the Unix epoch (probes are cached for a day).
    pub measured_at_unix: u64,
    /// How long the probe took, seconds.
    pub probe_seconds: f64,
    /// What the kernel says about the device.
    pub kernel: KernelDiskClaims,
    /// Whether the probe bypassed the page cache (false on filesystems without `O_DIRECT`, such
    /// as tmpfs, where the figures are memory speed).
    pub direct_io: bool,
    /// Latency of a 4 KiB write + fdatasync, microseconds.
    pub fsync_latency_us: LatencySummary,
    /// 4 KiB random reads per second, one request in flight.
    pub randread_4k_iops_qd1: f64,
    /// 4 KiB random reads per second, 16 requests in flight.
    pub randread_4k_iops_qd16: f64,
    /// Sequential reads in 1 MiB requests, MB/s.
    pub seq_read_mb_s: f64,
    /// Sequential writes in 1 MiB requests then fsync, MB/s.
    pub seq_write_mb_s: f64,
}

/// The kernel's own description of a block device (`/sys/dev/block/M:m/queue`), which virtual
/// machines often get wrong.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct KernelDiskClaims {
    /// Device name (`vda`, `nvme0n1`), or `major:minor` when the kernel names none.
    pub device: String,
    /// `queue/rotational`: whether the kernel believes it is a spinning disk.
    pub rotational: Option<bool>,
    /// The selected I/O scheduler.
    pub scheduler: Option<String>,
}

/// Percentiles of a small sample of latencies (nearest rank).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Samples.
    pub count: usize,
}

impl LatencySummary {
    /// Summarizes `samples` (sorted in place); all zero when empty.
    pub fn of(samples: &mut [f64]) -> LatencySummary {
        samples.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            let i = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i]
        };
        if samples.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            p50: rank(0.5),
            p99: rank(0.99),
            max: samples[samples.len() - 1],
            count: samples.len(),
        }
    }
}

/// One cell of the matrix: backend × profile × checkpoint setting.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CellResult {
    /// Stable identifier, e.g. `rocksdb-FLASH_SSD_OPTIMIZED-incremental`.
    pub id: String,
    /// What the cell ran with.
    pub setup: CellSetup,
    /// Events applied after warm-up.
    pub measured_events: u64,
    /// Ops applied after warm-up.
    pub measured_ops: u64,
    /// Wall time of the measured part, seconds.
    pub elapsed_s: f64,
    /// Of that wall time, the seconds the operator thread spent generating the op batches
    /// (ops and their value bytes, before each batch's clock starts): the harness's work, not
    /// the operator's, so left out of the throughput (0 in results written before it was).
    #[serde(default)]
    pub generation_s: f64,
    /// The same per measured op, ns (0 in older results).
    #[serde(default)]
    pub generation_ns_per_op: f64,
    /// Measured ops per second of the operator's time (`elapsed_s − generation_s`): the state
    /// backend and the replay loop, checkpoint sync phases included.
    pub ops_per_s: f64,
    /// Measured events per second, over the same time.
    pub events_per_s: f64,
    /// How ops were timed: the stride of the seeded sample (None in results written when every
    /// op was timed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_sampling: Option<LatencySampling>,
    /// Latency of every measured op together.
    pub all_ops: OpLatency,
    /// Latency per op class (only classes that occurred).
    pub ops: Vec<OpLatency>,
    /// Per-second throughput and latency over the measured part.
    pub timeline: Vec<TimelinePoint>,
    /// The HdrHistogram interval log (one histogram per second), relative to the run directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram_log: Option<String>,
    /// Every checkpoint that completed, in order.
    pub checkpoints: Vec<CheckpointRecord>,
    /// Restore of the last completed checkpoint, None when checkpointing is off.
    pub restore: Option<RestoreRecord>,
    /// The canonical savepoint taken at the end of input, if the cell took one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub savepoint: Option<CheckpointRecord>,
    /// Restore of that savepoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub savepoint_restore: Option<RestoreRecord>,
    /// Checkpoints that failed or expired (tolerated: a cell with more than
    /// `tolerable-failed-checkpoints` consecutive failures has no result).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_checkpoints: Vec<FailedCheckpoint>,
    /// Recovery as Flink recovers a job: each retained checkpoint restored into a fresh backend
    /// with its phases timed, and the last one restored again as a rescale from 1 to 2. None
    /// when the cell did not checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Recovery>,
    /// Where the checkpoints were stored, and where they were left (externalized).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageRecord>,
    /// The effective RocksDB OPTIONS file, relative to the run directory.
    pub options_file: Option<String>,
    /// What RocksDB's own statistics say about the measured part (RocksDB cells).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rocksdb: Option<RocksDbStats>,
    /// The measured part's arrival rate and event latencies, when it ran in an open loop
    /// (`--rate`); None in a closed loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_loop: Option<OpenLoop>,
    /// The highest rate the cell sustained within a p99 target (`--find-max-rate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rate: Option<MaxRate>,
    /// What the cell's process used of the machine over the measured part: device bytes, CPU,
    /// iowait (None in files written before it was measured, and where `/proc` is unreadable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceUse>,
    /// The container memory the cell ran under (`--container-memory`), and what bounded it;
    /// None when memory was not bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bound: Option<MemoryBound>,
    /// With `--slots N` (N > 1): what each slot of the TaskManager did; the cell's own figures
    /// are then the slots together. Empty for one slot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slots: Vec<SlotResult>,
    /// Peak resident memory of the process that ran the cell (its repeat's own process), bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// Which repeat the measurements above are (the median-throughput one); None for a cell run
    /// once in-process (`run_cell`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representative_repeat: Option<u32>,
    /// The raw numbers of every repeat, by repeat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<RepeatRecord>,
}

/// An open-loop replay: events arrived at a fixed rate, and each event's latency was measured
/// from when it was meant to start (corrected for coordinated omission) and from when it did
/// start (uncorrected), as wrk2 keeps both.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct OpenLoop {
    /// The arrival rate asked for, events per second.
    pub rate_per_s: f64,
    /// From each event's intended start to the end of its last op: what a job's records wait,
    /// checkpoint sync phases and write stalls included.
    pub corrected: OpLatency,
    /// From each event's actual start to the end of its last op.
    pub uncorrected: OpLatency,
}

/// The search for the highest open-loop rate whose corrected event p99 stays within a target:
/// exponential steps from the cell's own throughput until a probe fails, then bisection.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MaxRate {
    /// The p99 target, ms.
    pub p99_target_ms: f64,
    /// The highest rate that passed, events per second; None when no probe passed.
    pub rate_per_s: Option<f64>,
    /// The lowest rate that failed, events per second (None when none failed: the search hit
    /// its probe limit going up).
    pub failed_at_per_s: Option<f64>,
    /// Every probe, in the order run.
    pub probes: Vec<RateProbe>,
}

/// One probe of a rate search: a fresh backend, the workload's warm-up, then a short open-loop
/// run at the rate.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RateProbe {
    /// The rate tried, events per second.
    pub rate_per_s: f64,
    /// Measured events in the probe.
    pub events: u64,
    /// Events per second it achieved (below the rate when the cell fell behind).
    pub achieved_per_s: f64,
    /// Corrected (from intended start) event p99, ms.
    pub p99_ms: f64,
    /// Uncorrected (from actual start) event p99, ms.
    pub uncorrected_p99_ms: f64,
    /// Whether the corrected p99 was within the target.
    pub passed: bool,
}

/// One slot of a multi-slot cell: an operator thread with its own backend over its share of the
/// key groups, in the same process as the others.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlotResult {
    /// Operator (subtask) index, from 0.
    pub slot: u32,
    /// The key groups it owns, first and last (inclusive), as Flink splits them.
    pub key_groups: (u16, u16),
    /// Ops it applied after warm-up.
    pub measured_ops: u64,
    /// Its measured part's wall time, seconds.
    pub elapsed_s: f64,
    /// Its ops per second.
    pub ops_per_s: f64,
    /// Its all-ops p99, ns.
    pub p99_ns: u64,
    /// Its interval log, relative to the run directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram_log: Option<String>,
}

/// What a cell's process used of the machine over its measured part: the evidence for which
/// resource binds (CPU, memory, disk).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceUse {
    /// Bytes the process (every thread: RocksDB's flushes and compactions too) caused to be read
    /// from the block device (`/proc/self/io` `read_bytes`): page-cache hits not included.
    pub device_read_bytes: u64,
    /// Bytes it caused to be written to the device (`write_bytes`, counted when dirtied).
    pub device_write_bytes: u64,
    /// CPU time of the process, user + system, seconds.
    pub cpu_s: f64,
    /// `cpu_s` over the measured part's wall time: how many cores the cell kept busy.
    pub cores_busy: f64,
    /// Logical CPUs of the machine.
    pub cores: usize,
    /// Share of the machine's CPU time spent waiting for I/O over the measured part (all
    /// processes: the kernel does not attribute iowait to one).
    pub iowait_fraction: f64,
    /// Share of the measured part the operator thread spent runnable but waiting for a core
    /// (`/proc/thread-self/schedstat`): other threads or processes held the CPUs.
    #[serde(default)]
    pub cpu_wait_fraction: f64,
}

/// The memory a cell's process was bounded to, and how: the report says which mechanism.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryBound {
    /// `--container-memory`, bytes.
    pub limit_bytes: u64,
    /// What enforced it.
    pub mechanism: BoundMechanism,
    /// Why the mechanism is not a cgroup, when it is not.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Peak memory charged to the cell's cgroup (page cache included), bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_bytes: Option<u64>,
    /// Whether the kernel killed the cell's process for want of memory.
    #[serde(default)]
    pub oom_killed: bool,
}

/// What enforced a cell's memory bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BoundMechanism {
    /// A cgroup v2 with `memory.max` (page cache included) and `memory.swap.max` 0.
    CgroupV2,
    /// A cgroup v1 memory controller with `memory.limit_in_bytes` (page cache included).
    CgroupV1,
    /// No cgroup: RocksDB read, flushed and compacted with direct I/O (the page cache bypassed;
    /// the process's own memory not bounded).
    DirectIo,
}

impl BoundMechanism {
    /// How the report names it.
    pub fn describe(self) -> &'static str {
        match self {
            BoundMechanism::CgroupV2 => "cgroup v2 (memory.max, page cache included, no swap)",
            BoundMechanism::CgroupV1 => {
                "cgroup v1 memory controller (memory.limit_in_bytes, page cache included)"
            }
            BoundMechanism::DirectIo => {
                "RocksDB direct I/O for reads, flushes and compactions (no cgroup: the page cache \
                 is bypassed, the process's own memory is not bounded)"
            }
        }
    }
}

/// RocksDB's statistics over a cell's measured part: why a profile is fast or slow. The figures
/// from tickers are None when the DB had no statistics object (Flink's default; see
/// [`RocksStatistics`]); the rest are properties, always read.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RocksDbStats {
    /// Which statistics object the DB had (files written before statistics became optional
    /// always had tickers on).
    #[serde(default = "tickers_were_on")]
    pub statistics: RocksStatistics,
    /// (flush + compaction bytes written) / bytes the application wrote.
    pub write_amplification: Option<f64>,
    /// SST bytes / estimated live data, at the end.
    pub space_amplification: f64,
    /// Block cache hits / (hits + misses).
    pub block_cache_hit_rate: Option<f64>,
    /// Block bytes read (from cache or files) per point read.
    pub block_bytes_per_get: Option<f64>,
    /// Time writes were stalled, ms.
    pub stall_ms: Option<f64>,
    /// Write delays and stops.
    pub stall_count: u64,
    /// Bytes the application wrote.
    pub user_bytes_written: Option<u64>,
    /// Bytes flushed from memtables.
    pub flush_bytes: Option<u64>,
    /// Bytes compactions read.
    pub compaction_read_bytes: Option<u64>,
    /// Bytes compactions wrote.
    pub compaction_write_bytes: Option<u64>,
    /// Memtable memory at the end.
    pub memtable_bytes: u64,
    /// Block cache memory at the end.
    pub block_cache_usage: u64,
    /// SST bytes at the end.
    pub sst_bytes: u64,
    /// Estimated live data at the end.
    pub live_data_bytes: u64,
    /// SST files per level at the end.
    pub files_per_level: Vec<u64>,
    /// One sample per second of the measured part.
    pub samples: Vec<StatsSample>,
}

/// What results written before RocksDB statistics became optional had: tickers on.
fn tickers_were_on() -> RocksStatistics {
    RocksStatistics::Tickers
}

/// RocksDB's gauges and the counters' progress at one moment of the measured part (the
/// counters None without a statistics object).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StatsSample {
    /// Seconds since the measured part started.
    pub t_s: f64,
    /// Memtable memory.
    pub memtable_bytes: u64,
    /// Block cache memory.
    pub block_cache_usage: u64,
    /// SST bytes.
    pub sst_bytes: u64,
    /// Bytes flushed since the measured part started.
    pub flush_bytes: Option<u64>,
    /// Bytes compactions wrote since the measured part started.
    pub compaction_write_bytes: Option<u64>,
    /// Stall time since the measured part started, ms.
    pub stall_ms: Option<f64>,
}

/// How a cell's ops were timed, as results.json records it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySampling {
    /// 1 in `stride` ops was timed (1: every op).
    pub stride: u32,
    /// Ops timed in the measured part (every op counts for throughput and op counts).
    pub timed_ops: u64,
    /// Whether every op was timed because `--time-every-op` asked for it.
    pub every_op_forced: bool,
    /// What an op cost when timed one by one (the median), ns, from which the stride was chosen (None when
    /// it was forced, or the input ended before the ops to choose it from were timed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_ns: Option<f64>,
    /// What one clock read cost, ns.
    pub clock_read_ns: f64,
}

/// Latency summary of one op class, in nanoseconds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct OpLatency {
    /// Op class name, e.g. `value.get`, or `all`.
    pub op: String,
    /// Ops of the class applied in the measured part (every op, timed or not).
    pub count: u64,
    /// Ops whose latency was timed: the histogram's count (None in results written when every
    /// op was timed). With a stride above 1 a seeded sample ([`LatencySampling`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timed: Option<u64>,
    /// Mean.
    pub mean_ns: f64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Largest.
    pub max_ns: u64,
    /// (percentile, value) pairs on a log ladder up to the max, for distribution plots.
    pub distribution: Vec<(f64, u64)>,
    /// The whole HdrHistogram, V2 deflate serialized, base64.
    pub histogram: String,
}

impl OpLatency {
    /// The same summary with `count` ops applied (the histogram holds the timed ones).
    pub fn counting(mut self, count: u64) -> OpLatency {
        self.count = count;
        self
    }
}

/// One second of the measured part.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TimelinePoint {
    /// Seconds since the measured part started (end of the interval).
    pub t_s: f64,
    /// Ops completed in the interval.
    pub ops: u64,
    /// Median latency in the interval, ns.
    pub p50_ns: u64,
    /// 99th percentile latency in the interval, ns.
    pub p99_ns: u64,
    /// Largest latency in the interval, ns.
    pub max_ns: u64,
}

/// One completed checkpoint.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CheckpointRecord {
    /// Checkpoint id, from 1.
    pub id: u64,
    /// Seconds since the measured part started when it was triggered (negative in warm-up).
    pub triggered_s: f64,
    /// Synchronous phase on the operator thread, ms: the stall ops saw.
    pub sync_ms: f64,
    /// Asynchronous phase (upload) on the checkpoint thread, ms.
    pub async_ms: f64,
    /// Bytes this checkpoint wrote to checkpoint storage.
    pub bytes_written: u64,
    /// Total size of the checkpoint, including shared files reused from earlier ones.
    pub size_bytes: u64,
    /// Files written by this checkpoint.
    pub files_written: u64,
    /// Shared files reused from earlier checkpoints.
    pub files_reused: u64,
    /// True for the checkpoint taken when the input ended (as Flink's final checkpoint).
    pub is_final: bool,
    /// Requests sent to checkpoint storage (S3: PUTs, multipart parts and completions; the
    /// JobManager: state handles; a file system: files).
    #[serde(default)]
    pub storage_requests: u64,
    /// Bytes written per second of the asynchronous phase, MB/s.
    #[serde(default)]
    pub upload_mb_per_s: f64,
    /// Whether its restore equalled the state it captured; checked only when every checkpoint
    /// is verified (which perturbs the run), None otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// A checkpoint that failed or expired.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FailedCheckpoint {
    /// Checkpoint id.
    pub id: u64,
    /// Seconds since the measured part started when it was triggered (negative in warm-up).
    pub triggered_s: f64,
    /// Expired: not completed within `execution.checkpointing.timeout`.
    pub expired: bool,
    /// Why, with its causes.
    pub reason: String,
}

/// Where a cell's checkpoints were stored.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StorageRecord {
    /// `jobmanager` or `filesystem`.
    pub kind: String,
    /// The directory, `s3://` URL or the JobManager's memory.
    pub location: String,
    /// Where the retained checkpoints were left (RETAIN_ON_CANCELLATION), None when deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retained_at: Option<String>,
}

/// Recovery of a cell's job from its checkpoints, as Flink recovers.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Recovery {
    /// Recovery from the last retained checkpoint: what an operator waits for after a failure
    /// (download + open + first op), ms. The figure to set beside throughput.
    pub recovery_ms: f64,
    /// Each retained checkpoint restored, oldest first (the last is the one `recovery_ms` is).
    pub restores: Vec<RecoveryPhases>,
    /// The last checkpoint restored as a rescale from parallelism 1 to 2: each half of the
    /// key-group range restored into its own fresh backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescale: Option<Rescale>,
}

/// One restore into a fresh backend, phase by phase.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RecoveryPhases {
    /// The checkpoint restored.
    pub checkpoint_id: u64,
    /// Bringing its files to this machine (from S3, the JobManager, a file system), ms.
    pub download_ms: f64,
    /// Bytes downloaded.
    pub download_bytes: u64,
    /// Requests to storage.
    pub download_requests: u64,
    /// Opening the files (RocksDB) or reading the stream (heap, canonical), ms.
    pub open_ms: f64,
    /// The first op served by the restored backend, ms.
    pub first_op_ms: f64,
    /// Sum of the three, ms.
    pub total_ms: f64,
    /// Its digest equals the state it captured (checked for the final checkpoint, taken at the
    /// end of input, and for every checkpoint when each is verified); None when not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// A restore with a different parallelism: the key-group range split in two, as a rescale from
/// 1 to 2 restores it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Rescale {
    /// Each half's restore: RocksDB opens the whole checkpoint and clips it to its key groups
    /// with delete-range (`RocksDBIncrementalCheckpointUtils.clipDBWithKeyGroupRange`), or
    /// writes only its key groups from a stream; the heap reads only its key groups.
    pub halves: Vec<RecoveryPhases>,
    /// The longer half: the rescaled job is back when both are.
    pub recovery_ms: f64,
    /// The two halves' digests add up to the whole state's.
    pub verified: bool,
}

/// Restore of the last completed checkpoint (or the savepoint) into a fresh backend, and its
/// verification.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RestoreRecord {
    /// The checkpoint (or savepoint) restored.
    pub checkpoint_id: u64,
    /// Time to restore, ms: downloading files and opening them, or replaying a stream.
    pub restore_ms: f64,
    /// Digest of the restored state equals the digest of the live state at the end of input
    /// (and, when every checkpoint is verified, every checkpoint restored to what it captured).
    pub verified: bool,
    /// Logical entries in the restored state.
    pub entries: u64,
    /// Logical payload bytes in the restored state.
    pub bytes: u64,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Results of a tiny workload holding `cells`.
    pub(crate) fn results_with(cells: Vec<CellResult>) -> Results {
        let spec = WorkloadSpec::parse(
            r#"{"name":"t","description":"d","seed":1,"events":100,"warmup_events":10,
            "max_parallelism":128,"keys":{"count":10,"distribution":{"type":"uniform"}},
            "value_size":{"type":"fixed","bytes":8},
            "states":[{"type":"value","name":"v","read_only_fraction":0.5}]}"#,
            "test",
        )
        .unwrap();
        Results {
            schema_version: SCHEMA_VERSION,
            statebench_version: "test".into(),
            created: "2026-11-24T00:00:00Z".into(),
            workload: spec,
            machine: Machine::default(),
            rocksdb_version: "11.8.1".into(),
            converted_from: None,
            protocol: RunProtocol::default(),
            constraints: Constraints::default(),
            cells,
            analysis: None,
        }
    }

    #[test]
    fn the_current_version_reads_back_as_written() {
        let results = results_with(vec![]);
        let dir = tempfile::tempdir().unwrap();
        write_results(dir.path(), &results).unwrap();
        let back = read_results(dir.path()).unwrap();
        assert_eq!(back.converted_from, None);
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&results).unwrap()
        );
    }
}
