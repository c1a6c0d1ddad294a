//! Describes the machine a run measured: CPU, memory, and the disk the backends wrote to.

use std::path::Path;

use super::disk::probe_disk;
use crate::results::Machine;

/// Where statebench keeps what it measured about this machine (as `scripts/setup.sh` keeps the
/// RocksDB build): `$STATEBENCH_CACHE`, else `~/.cache/statebench`, else the system temp dir.
fn cache_dir() -> std::path::PathBuf {
    std::env::var_os("STATEBENCH_CACHE")
        .map(Into::into)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/statebench")))
        .unwrap_or_else(std::env::temp_dir)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Describes this machine and the filesystem holding `data_dir` (Linux `/proc`; fields it cannot
/// read stay empty rather than guessed), with the device under `data_dir` measured by a short
/// probe (cached for a day per device).
pub fn describe_machine(data_dir: &Path) -> Machine {
    let cpuinfo = read("/proc/cpuinfo");
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default();
    let memory_bytes = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024);
    let data_dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    // The mount with the longest prefix of data_dir holds it.
    let (device, filesystem) = read("/proc/mounts")
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, at, fs) = (f.next()?, f.next()?, f.next()?);
            data_dir
                .starts_with(at)
                .then(|| (at.len(), dev.to_string(), fs.to_string()))
        })
        .max_by_key(|(len, _, _)| *len)
        .map(|(_, d, f)| (d, f))
        .unwrap_or_default();
    Machine {
        hostname: read("/proc/sys/kernel/hostname").trim().to_string(),
        os: format!(
            "{} {}",
            std::env::consts::OS,
            read("/proc/sys/kernel/osrelease").trim()
        ),
        cpu_model,
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_bytes,
        data_dir: data_dir.display().to_string(),
        device,
        filesystem,
        disk: probe_disk(&data_dir, &cache_dir()),
    }
}
