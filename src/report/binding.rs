//! Which resource binds a cell on this hardware (CPU, memory or disk), from what the cell's process
//! was measured to use, and what would change it. Kept apart from the pick itself
//! (`recommend.rs`): the pick says which setting; this says what the hardware allows it.
//!
//! Evidence, over the measured part: the device bytes the process caused (`/proc/self/io`) against
//! what the probed disk serves, the machine's iowait, how many cores the process kept busy against
//! the one an operator thread can use per slot, RocksDB's block cache hit rate and SST size, and
//! the container memory with its peak.

use std::fmt::Write;

use anyhow::Result;

use super::format::{bytes, latency, rate};
use crate::results::{BoundMechanism, CellResult, Machine, Results};

/// A resource that can bind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// The operator thread's core.
    Cpu,
    /// The memory the state must fit in (container or machine).
    Memory,
    /// The device the state is read from and written to.
    Disk,
}

impl Resource {
    fn name(self) -> &'static str {
        match self {
            Resource::Cpu => "CPU",
            Resource::Memory => "memory",
            Resource::Disk => "disk",
        }
    }
}

/// Which resource binds a cell, why, and what would change it.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    /// The binding resource.
    pub resource: Resource,
    /// The measured figures that say so.
    pub evidence: String,
    /// What would move the limit.
    pub change: String,
}

/// Device reads above this share of the disk's measured 4 KiB random-read bandwidth at queue
/// depth 1 (the operator thread's gets wait for one read at a time) mean the disk is in the path.
const DISK_SHARE: f64 = 0.10;
/// Machine iowait above this share of CPU time means processes are waiting on the device.
const IOWAIT: f64 = 0.10;
/// Cores busy per slot above this: the operator thread (and RocksDB's work on it) is saturated.
const CPU_BUSY: f64 = 0.75;
/// Share of the time the operator thread waited for a core above which the CPUs are contended.
const CPU_WAIT: f64 = 0.25;

/// Bytes per second of 4 KiB random reads at queue depth 1 on the probed disk (None unprobed).
fn random_read_bandwidth(machine: &Machine) -> Option<f64> {
    machine
        .disk
        .as_ref()
        .filter(|d| d.direct_io && d.randread_4k_iops_qd1 > 0.0)
        .map(|d| d.randread_4k_iops_qd1 * 4096.0)
}

/// A container size in Flink's syntax, rounded up to whole GiB (or 256 MiB steps below 1 GiB).
fn container_text(bytes: u64) -> String {
    const GIB: u64 = 1 << 30;
    const STEP: u64 = 256 << 20;
    if bytes < GIB {
        format!("{}m", bytes.div_ceil(STEP) * 256)
    } else {
        format!("{}g", bytes.div_ceil(GIB))
    }
}

/// Which resource binds `cell` on `machine`; None when its process use was not measured.
pub fn binding(cell: &CellResult, machine: &Machine, slots: usize) -> Option<Binding> {
    let used = cell.resources.as_ref()?;
    let secs = cell.elapsed_s.max(1e-9);
    let read_rate = used.device_read_bytes as f64 / secs;
    let disk_share = random_read_bandwidth(machine).map(|b| read_rate / b);
    let per_slot = used.cores_busy / slots.max(1) as f64;
    let bound = cell.memory_bound.as_ref();
    let state = cell.rocksdb.as_ref().map(|r| r.sst_bytes);
    let figures = format!(
        "the process kept {:.2} of {} cores busy ({:.2} per slot), its operator thread waited \
         for a core {:.0}% of the time, read {}/s from the device{} and wrote {}/s, iowait {:.0}% \
         of the machine's CPU time{}{}",
        used.cores_busy,
        used.cores,
        per_slot,
        100.0 * used.cpu_wait_fraction,
        bytes(read_rate as u64),
        disk_share.map_or(String::new(), |s| format!(
            " ({:.2}× the disk's bandwidth in 4 KiB random reads one at a time)",
            s
        )),
        bytes((used.device_write_bytes as f64 / secs) as u64),
        100.0 * used.iowait_fraction,
        cell.rocksdb.as_ref().map_or(String::new(), |r| format!(
            ", {}SST files {}",
            r.block_cache_hit_rate.map_or(String::new(), |h| format!(
                "block cache hit rate {:.1}%, ",
                100.0 * h
            )),
            bytes(r.sst_bytes)
        )),
        bound.map_or(String::new(), |b| format!(
            ", container memory {}{}",
            bytes(b.limit_bytes),
            b.peak_bytes
                .map_or(String::new(), |p| format!(" (peak {})", bytes(p)))
        )),
    );
    let on_disk = disk_share.is_some_and(|s| s >= DISK_SHARE) || used.iowait_fraction >= IOWAIT;
    if bound.is_some_and(|b| b.oom_killed) {
        let limit = bound.map_or(0, |b| b.limit_bytes);
        return Some(Binding {
            resource: Resource::Memory,
            evidence: format!("the kernel killed the cell for want of memory; {figures}"),
            change: format!(
                "the state does not fit {}: give the container more (`--container-memory {}`) or \
                 use RocksDB, whose state lives on disk",
                bytes(limit),
                container_text(limit * 2)
            ),
        });
    }
    if on_disk {
        let cgroup = bound.filter(|b| b.mechanism != BoundMechanism::DirectIo);
        return Some(match (cgroup, state) {
            (Some(b), Some(state)) if state > b.limit_bytes / 2 => {
                let fits = b.limit_bytes + state;
                Binding {
                    resource: Resource::Memory,
                    evidence: format!(
                        "the state's SST files ({}) do not fit beside the process in the {} \
                         container, so reads miss the page cache and go to the disk: {figures}",
                        bytes(state),
                        bytes(b.limit_bytes)
                    ),
                    change: format!(
                        "with {:.1}× the container memory the working set fits: see \
                         `--container-memory {}`; at this size a faster disk (more random reads per \
                         second at queue depth 1) raises throughput",
                        fits as f64 / b.limit_bytes as f64,
                        container_text(fits)
                    ),
                }
            }
            _ => Binding {
                resource: Resource::Disk,
                evidence: format!("the disk is in the path of the ops: {figures}"),
                change: "a disk with more random reads per second at queue depth 1, or memory \
                         for the state to stay in the page cache (run with `--container-memory` to \
                         see where it starts to fit)"
                    .to_string(),
            },
        });
    }
    let headroom = if slots < used.cores {
        format!(
            "more slots per TaskManager (`--slots {}`) use the idle cores, each slot one operator thread",
            used.cores
        )
    } else {
        "every core already runs a slot: more cores, or faster ones".to_string()
    };
    Some(Binding {
        resource: Resource::Cpu,
        evidence: if per_slot >= CPU_BUSY {
            format!("the operator thread is saturated and the disk idle: {figures}")
        } else if used.cpu_wait_fraction >= CPU_WAIT {
            format!(
                "the operator thread was ready to run but waited for a core (other threads or \
                 processes held the CPUs) and the disk is idle: {figures}"
            )
        } else {
            format!(
                "no resource is saturated; the operator thread's own work per op (RocksDB's \
                 in-memory path, serialization, checkpoint stalls) sets the pace: {figures}"
            )
        },
        change: if used.cpu_wait_fraction >= CPU_WAIT && per_slot < CPU_BUSY {
            "a core of its own per slot: here other work took the CPUs, as it does when a \
             TaskManager's container is given fewer CPUs than it has slots"
                .to_string()
        } else {
            format!("a faster core per slot; {headroom}")
        },
    })
}

/// The paragraph after the recommendation: which resource binds the recommended cell here (the
/// fastest cell when none qualified).
pub fn binding_paragraph(md: &mut String, results: &Results, best: Option<usize>) -> Result<()> {
    let cells = &results.cells;
    let Some(cell) = best.map(|i| &cells[i]).or_else(|| {
        cells
            .iter()
            .max_by(|a, b| a.ops_per_s.total_cmp(&b.ops_per_s))
    }) else {
        return Ok(());
    };
    if let Some(b) = binding(cell, &results.machine, cell.slots.len().max(1)) {
        writeln!(
            md,
            "**What binds on this hardware: {}.** For `{}`, {}. What would change it: {}.\n",
            b.resource.name(),
            cell.id,
            b.evidence,
            b.change
        )?;
    }
    Ok(())
}

/// A cell's slots, device bytes, CPU and memory bound (beside RocksDB's own counters), for its
/// section.
pub fn resources_line(md: &mut String, cell: &CellResult) -> Result<()> {
    if !cell.slots.is_empty() {
        let each: Vec<String> = cell
            .slots
            .iter()
            .map(|s| {
                format!(
                    "slot {} (key groups {}–{}) {} ops/s, p99 {}",
                    s.slot,
                    s.key_groups.0,
                    s.key_groups.1,
                    rate(s.ops_per_s),
                    latency(s.p99_ns as f64)
                )
            })
            .collect();
        writeln!(
            md,
            "{} slots in one TaskManager process, each its own backend over its key groups with \
             1/{} of the managed memory: {}; together {} ops/s.\n",
            cell.slots.len(),
            cell.slots.len(),
            each.join("; "),
            rate(cell.ops_per_s)
        )?;
    }
    if let Some(u) = &cell.resources {
        write!(
            md,
            "The process over the measured part: {} read from the device and {} written to it \
             (`/proc/self/io`{}), {:.2} s of CPU ({:.2} of {} cores busy), machine iowait {:.1}%.",
            bytes(u.device_read_bytes),
            bytes(u.device_write_bytes),
            cell.rocksdb
                .as_ref()
                .and_then(|r| Some((r.compaction_read_bytes?, r.flush_bytes? + r.compaction_write_bytes?)))
                .map_or(String::new(), |(read, written)| format!(
                    "; RocksDB's own counters: compactions read {}, flushes and compactions wrote {}",
                    bytes(read),
                    bytes(written)
                )),
            u.cpu_s,
            u.cores_busy,
            u.cores,
            100.0 * u.iowait_fraction
        )?;
    }
    if let Some(b) = &cell.memory_bound {
        write!(
            md,
            " Memory bounded to {} by {}{}{}{}.",
            bytes(b.limit_bytes),
            b.mechanism.describe(),
            b.peak_bytes
                .map_or(String::new(), |p| format!("; peak {}", bytes(p))),
            if b.note.is_empty() {
                String::new()
            } else {
                format!("; {}", b.note)
            },
            if b.oom_killed {
                "; **the kernel killed the cell for want of memory**"
            } else {
                ""
            }
        )?;
    }
    if cell.resources.is_some() || cell.memory_bound.is_some() {
        writeln!(md, "\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointMode;
    use crate::report::tests::cell;
    use crate::results::{DiskProbe, MemoryBound, ResourceUse, RocksDbStats};

    fn machine() -> Machine {
        Machine {
            disk: Some(DiskProbe {
                direct_io: true,
                randread_4k_iops_qd1: 10_000.0, // 40.96 MB/s of random reads
                ..DiskProbe::default()
            }),
            ..Machine::default()
        }
    }

    fn measured(read_mb_s: f64, busy: f64, iowait: f64) -> CellResult {
        let mut c = cell("c", CheckpointMode::Full, 1000.0, 1, Some(true));
        c.elapsed_s = 10.0;
        c.resources = Some(ResourceUse {
            device_read_bytes: (read_mb_s * 1e6 * 10.0) as u64,
            device_write_bytes: 0,
            cpu_s: busy * 10.0,
            cores_busy: busy,
            cores: 2,
            iowait_fraction: iowait,
            cpu_wait_fraction: 0.0,
        });
        c
    }

    #[test]
    fn a_busy_core_and_an_idle_disk_is_cpu() {
        let b = binding(&measured(0.1, 0.98, 0.0), &machine(), 1).unwrap();
        assert_eq!(b.resource, Resource::Cpu);
        assert!(b.evidence.contains("saturated"), "{}", b.evidence);
        assert!(b.change.contains("--slots 2"), "{}", b.change);
    }

    #[test]
    fn state_beyond_the_container_that_reads_the_disk_is_memory_with_the_size_that_fits() {
        let mut c = measured(20.48, 0.4, 0.3);
        c.rocksdb = Some(RocksDbStats {
            sst_bytes: 3 << 30,
            block_cache_hit_rate: Some(0.4),
            ..RocksDbStats::default()
        });
        c.memory_bound = Some(MemoryBound {
            limit_bytes: 1 << 30,
            mechanism: BoundMechanism::CgroupV1,
            note: String::new(),
            peak_bytes: Some(1 << 30),
            oom_killed: false,
        });
        let b = binding(&c, &machine(), 1).unwrap();
        assert_eq!(b.resource, Resource::Memory);
        assert!(b.change.contains("`--container-memory 4g`"), "{}", b.change);
        assert!(b.evidence.contains("0.50×"), "{}", b.evidence);
    }

    #[test]
    fn waiting_for_a_core_is_cpu_contention() {
        let mut c = measured(0.1, 0.2, 0.0);
        c.resources.as_mut().unwrap().cpu_wait_fraction = 0.7;
        let b = binding(&c, &machine(), 1).unwrap();
        assert_eq!(b.resource, Resource::Cpu);
        assert!(
            b.evidence.contains("waited for a core 70%"),
            "{}",
            b.evidence
        );
    }

    #[test]
    fn disk_reads_without_a_container_are_disk() {
        let b = binding(&measured(20.0, 0.3, 0.05), &machine(), 1).unwrap();
        assert_eq!(b.resource, Resource::Disk);
        assert_eq!(
            binding(
                &cell("x", CheckpointMode::Full, 1.0, 1, None),
                &machine(),
                1
            ),
            None
        );
    }

    #[test]
    fn container_sizes_round_up() {
        assert_eq!(container_text(3 << 29), "2g");
        assert_eq!(container_text(300 << 20), "512m");
    }
}
