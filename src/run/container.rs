//! Bounded memory, as a TaskManager's container bounds it: a cell's process runs in a cgroup of
//! its own whose memory limit counts the page cache too, so state larger than the limit must come
//! from the disk, as it does in production.
//!
//! cgroup v2 (a child of this process's cgroup, `memory.max` and `memory.swap.max = 0`) where the
//! unified hierarchy has the memory controller and the tree is writable; else cgroup v1's memory
//! controller (`memory.limit_in_bytes`, and `memory.memsw.limit_in_bytes` where swap accounting
//! exists). Where neither can be made (not root, no controller, a read-only cgroupfs) the cell's
//! RocksDB reads, flushes and compactions use direct I/O instead, which keeps SSTs out of the page
//! cache (though not the heap backend's memory), and the result says which mechanism bounded
//! memory and why the cgroup could not.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::results::{BoundMechanism, MemoryBound};

/// How a run bounds its cells' memory, decided once per run by [`MemoryLimit::detect`].
#[derive(Clone, Debug, PartialEq)]
pub enum MemoryLimit {
    /// A fresh cgroup per cell under `parent`.
    Cgroup {
        /// Which hierarchy.
        version: CgroupVersion,
        /// The cgroup directory new cgroups are made in (this process's own cgroup).
        parent: PathBuf,
        /// The limit, bytes.
        bytes: u64,
    },
    /// No cgroup could be made: RocksDB bypasses the page cache.
    DirectIo {
        /// The limit asked for, bytes (not enforced: recorded and reported).
        bytes: u64,
        /// Why no cgroup could be made.
        reason: String,
    },
}

/// The cgroup hierarchy a limit is set in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CgroupVersion {
    /// The unified hierarchy.
    V2,
    /// The legacy memory controller.
    V1,
}

impl MemoryLimit {
    /// Decides how to bound memory to `bytes` on this machine: tries a cgroup (v2, then v1),
    /// creating and removing a probe cgroup to prove it can; else direct I/O with the reason.
    pub fn detect(bytes: u64) -> MemoryLimit {
        let cgroups = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut reasons = Vec::new();
        for version in [CgroupVersion::V2, CgroupVersion::V1] {
            match own_cgroup(version, &cgroups, &mountinfo).and_then(|parent| {
                let limit = MemoryLimit::Cgroup {
                    version,
                    parent,
                    bytes,
                };
                // Prove it: make, limit and remove one.
                limit.cgroup("probe")?;
                Ok(limit)
            }) {
                Ok(limit) => return limit,
                Err(e) => reasons.push(format!("{}: {e:#}", version.name())),
            }
        }
        MemoryLimit::DirectIo {
            bytes,
            reason: reasons.join("; "),
        }
    }

    /// The limit, bytes.
    pub fn bytes(&self) -> u64 {
        match self {
            MemoryLimit::Cgroup { bytes, .. } | MemoryLimit::DirectIo { bytes, .. } => *bytes,
        }
    }

    /// Whether the cells' RocksDB must use direct I/O (no cgroup bounds the page cache).
    pub fn direct_io(&self) -> bool {
        matches!(self, MemoryLimit::DirectIo { .. })
    }

    /// A new cgroup named `statebench-<pid>-<name>` with the limit set; removed when dropped.
    /// None when memory is bounded by direct I/O.
    pub fn cgroup(&self, name: &str) -> Result<Option<Cgroup>> {
        let MemoryLimit::Cgroup {
            version,
            parent,
            bytes,
        } = self
        else {
            return Ok(None);
        };
        let dir = parent.join(format!("statebench-{}-{name}", std::process::id()));
        if dir.exists() {
            // Left by a process that died with our pid; empty unless that process lives.
            let _ = fs::remove_dir(&dir);
        }
        fs::create_dir(&dir).with_context(|| format!("cannot create cgroup {}", dir.display()))?;
        let cgroup = Cgroup {
            dir,
            version: *version,
            bytes: *bytes,
        };
        cgroup.set_limit()?;
        Ok(Some(cgroup))
    }

    /// What the report says about a cell bounded by this limit, before the cell ran.
    pub fn bound(&self) -> MemoryBound {
        match self {
            MemoryLimit::Cgroup { version, bytes, .. } => MemoryBound {
                limit_bytes: *bytes,
                mechanism: match version {
                    CgroupVersion::V2 => BoundMechanism::CgroupV2,
                    CgroupVersion::V1 => BoundMechanism::CgroupV1,
                },
                note: String::new(),
                peak_bytes: None,
                oom_killed: false,
            },
            MemoryLimit::DirectIo { bytes, reason } => MemoryBound {
                limit_bytes: *bytes,
                mechanism: BoundMechanism::DirectIo,
                note: format!("no cgroup could be made ({reason})"),
                peak_bytes: None,
                oom_killed: false,
            },
        }
    }
}

impl CgroupVersion {
    fn name(self) -> &'static str {
        match self {
            CgroupVersion::V2 => "cgroup v2",
            CgroupVersion::V1 => "cgroup v1",
        }
    }
}

/// This process's cgroup directory in `version`'s hierarchy, if that hierarchy has a memory
/// controller mounted: from `/proc/self/cgroup` and `/proc/self/mountinfo`.
fn own_cgroup(version: CgroupVersion, cgroups: &str, mountinfo: &str) -> Result<PathBuf> {
    let path = cgroups
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            Some((f.next()?, f.next()?, f.next()?))
        })
        .find(|(id, controllers, _)| match version {
            CgroupVersion::V2 => *id == "0" && controllers.is_empty(),
            CgroupVersion::V1 => controllers.split(',').any(|c| c == "memory"),
        })
        .map(|(_, _, path)| path.to_string())
        .context("this process is in no such cgroup (/proc/self/cgroup)")?;
    // mountinfo: id parent major:minor root mountpoint options - fstype source super-options
    let (root, mountpoint) = mountinfo
        .lines()
        .find_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let left: Vec<&str> = left.split_whitespace().collect();
            let right: Vec<&str> = right.split_whitespace().collect();
            let (fstype, options) = (*right.first()?, *right.get(2).unwrap_or(&""));
            let fits = match version {
                CgroupVersion::V2 => fstype == "cgroup2",
                CgroupVersion::V1 => {
                    fstype == "cgroup" && options.split(',').any(|o| o == "memory")
                }
            };
            fits.then(|| Some((left.get(3)?.to_string(), left.get(4)?.to_string())))
                .flatten()
        })
        .context("no such hierarchy is mounted (/proc/self/mountinfo)")?;
    let relative = path
        .strip_prefix(root.trim_end_matches('/'))
        .unwrap_or(&path)
        .trim_start_matches('/');
    let dir = Path::new(&mountpoint).join(relative);
    if version == CgroupVersion::V2 {
        let controllers = fs::read_to_string(dir.join("cgroup.controllers"))
            .with_context(|| format!("cannot read {}/cgroup.controllers", dir.display()))?;
        if !controllers.split_whitespace().any(|c| c == "memory") {
            bail!(
                "the memory controller is not enabled for {} (cgroup.controllers: {:?})",
                dir.display(),
                controllers.trim()
            );
        }
        let subtree = dir.join("cgroup.subtree_control");
        let enabled = fs::read_to_string(&subtree).unwrap_or_default();
        if !enabled.split_whitespace().any(|c| c == "memory") {
            fs::write(&subtree, "+memory").with_context(|| {
                format!(
                    "cannot enable memory for the children of {} (a cgroup with processes in it \
                     cannot delegate controllers; run statebench in a delegated subtree)",
                    dir.display()
                )
            })?;
        }
    }
    Ok(dir)
}

/// One cell's cgroup: made with its limit by [`MemoryLimit::cgroup`], removed when dropped (its
/// processes must have left or ended by then).
#[derive(Debug)]
pub struct Cgroup {
    dir: PathBuf,
    version: CgroupVersion,
    bytes: u64,
}

impl Cgroup {
    /// Writes the limit: memory (page cache included) and no swap beyond it.
    fn set_limit(&self) -> Result<()> {
        let bytes = self.bytes.to_string();
        match self.version {
            CgroupVersion::V2 => {
                self.write("memory.max", &bytes)?;
                // Absent without swap accounting; nothing to bound then.
                if self.dir.join("memory.swap.max").exists() {
                    self.write("memory.swap.max", "0")?;
                }
            }
            CgroupVersion::V1 => {
                self.write("memory.limit_in_bytes", &bytes)?;
                if self.dir.join("memory.memsw.limit_in_bytes").exists() {
                    self.write("memory.memsw.limit_in_bytes", &bytes)?;
                }
            }
        }
        Ok(())
    }

    fn write(&self, file: &str, value: &str) -> Result<()> {
        let path = self.dir.join(file);
        fs::write(&path, value)
            .with_context(|| format!("cannot write {value} to {}", path.display()))
    }

    fn read_u64(&self, file: &str) -> Option<u64> {
        fs::read_to_string(self.dir.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Moves the process `pid` (all its threads) into the cgroup: its memory from then on, page
    /// cache it reads or writes included, is charged here.
    pub fn enter(&self, pid: u32) -> Result<()> {
        self.write("cgroup.procs", &pid.to_string())
    }

    /// The cgroup's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What bounded the cell, with the peak memory charged to the cgroup and whether the kernel
    /// killed a process of it for want of memory. Read before the cgroup is removed.
    pub fn bound(&self) -> MemoryBound {
        // (mechanism, peak usage file, the file whose `oom_kill N` line counts OOM kills)
        let (mechanism, peak, events) = match self.version {
            CgroupVersion::V2 => (BoundMechanism::CgroupV2, "memory.peak", "memory.events"),
            CgroupVersion::V1 => (
                BoundMechanism::CgroupV1,
                "memory.max_usage_in_bytes",
                "memory.oom_control",
            ),
        };
        MemoryBound {
            limit_bytes: self.bytes,
            mechanism,
            note: String::new(),
            peak_bytes: self.read_u64(peak),
            oom_killed: fs::read_to_string(self.dir.join(events))
                .unwrap_or_default()
                .lines()
                .any(|l| l.strip_prefix("oom_kill ").is_some_and(|n| n.trim() != "0")),
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // Charges left (page cache) move to the parent; fails only while a process is inside.
        if let Err(e) = fs::remove_dir(&self.dir) {
            eprintln!("warning: cannot remove cgroup {}: {e}", self.dir.display());
        }
    }
}

/// Parses a memory size as `--container-memory` takes it: Flink's size syntax (`1g`, `512m`,
/// `1536mb`, bytes without a unit).
pub fn parse_container_memory(text: &str) -> Result<u64> {
    let bytes = crate::config::parse_memory_size(text).with_context(|| {
        format!("--container-memory {text:?}: expected a size such as 1g or 512m")
    })?;
    if bytes < 64 << 20 {
        bail!("--container-memory {text:?}: at least 64m (a RocksDB cell needs more than that to start)");
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_CGROUPS: &str = "4:memory:/process_api/abc\n1:cpu:/\n0::/\n";
    const HYBRID_MOUNTS: &str = "\
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn the_v1_memory_cgroup_is_found_in_a_hybrid_hierarchy() {
        let dir = own_cgroup(CgroupVersion::V1, HYBRID_CGROUPS, HYBRID_MOUNTS).unwrap();
        assert_eq!(dir, Path::new("/sys/fs/cgroup/memory/process_api/abc"));
        // The unified hierarchy of a machine without it, or one without a v1 memory controller.
        assert!(own_cgroup(CgroupVersion::V1, "0::/x\n", HYBRID_MOUNTS).is_err());
        assert!(own_cgroup(
            CgroupVersion::V1,
            HYBRID_CGROUPS,
            "41 31 0:38 / /sys/fs/cgroup cgroup2 - cgroup2 cgroup2 rw\n"
        )
        .is_err());
    }

    #[test]
    fn a_mount_of_a_subtree_is_joined_relative_to_its_root() {
        let mounts = "35 31 0:32 /process_api /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        let dir = own_cgroup(CgroupVersion::V1, HYBRID_CGROUPS, mounts).unwrap();
        assert_eq!(dir, Path::new("/sys/fs/cgroup/memory/abc"));
    }

    #[test]
    fn sizes_are_flinks_and_tiny_limits_are_refused() {
        assert_eq!(parse_container_memory("1g").unwrap(), 1 << 30);
        assert_eq!(parse_container_memory("1536mb").unwrap(), 1536 << 20);
        assert!(parse_container_memory("1k")
            .unwrap_err()
            .to_string()
            .contains("at least 64m"));
        assert!(parse_container_memory("lots")
            .unwrap_err()
            .to_string()
            .contains("1g or 512m"));
    }

    /// The cgroup this machine lets statebench make bounds a child process's page cache, and is
    /// removed afterwards; skipped (with the reason) where no cgroup can be made.
    #[test]
    fn a_cgroup_bounds_the_page_cache_of_the_process_in_it() {
        let limit = MemoryLimit::detect(64 << 20);
        let MemoryLimit::Cgroup { .. } = &limit else {
            eprintln!("SKIPPED: no cgroup can be made here: {limit:?}");
            return;
        };
        let scratch = tempfile::tempdir().unwrap();
        let file = scratch.path().join("big");
        let cgroup = limit.cgroup("test").unwrap().unwrap();
        let dir = cgroup.dir().to_path_buf();
        // A shell that joins the cgroup, then writes 256 MiB through the page cache.
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "echo $$ > {}/cgroup.procs && dd if=/dev/zero of={} bs=1M count=256 status=none",
                dir.display(),
                file.display()
            ))
            .status()
            .unwrap();
        assert!(status.success());
        let bound = cgroup.bound();
        let peak = bound.peak_bytes.expect("the cgroup reports its peak");
        assert!(peak <= 64 << 20, "peak {peak} above the 64 MiB limit");
        assert!(peak > 1 << 20, "peak {peak}: nothing was charged");
        drop(cgroup);
        assert!(!dir.exists(), "the cgroup is removed");
    }
}
