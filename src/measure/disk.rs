//! A short probe of the device under the data directory: the disk is measured, not believed.
//!
//! The kernel's own claims (`queue/rotational`, the I/O scheduler) are often wrong on virtual
//! machines: a virtio disk backed by SSDs reports itself as rotational. What a state backend feels
//! is fsync latency (checkpoints, flushes), small random reads that miss the block cache (RocksDB
//! point lookups once state outgrows memory) and sequential bandwidth (compaction, checkpoint
//! uploads). The probe measures those with direct I/O, so the page cache does not answer for the
//! disk, in about three seconds, and caches the figures per device for a day.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::atomic::write_atomically;
use crate::results::{DiskProbe, KernelDiskClaims, LatencySummary};

/// `O_DIRECT` on Linux (x86, x86-64, RISC-V and most others; arm and aarch64 use another value).
#[cfg(any(target_arch = "arm", target_arch = "aarch64"))]
const O_DIRECT: i32 = 0o200_000;
#[cfg(not(any(target_arch = "arm", target_arch = "aarch64")))]
const O_DIRECT: i32 = 0o40_000;

/// Direct I/O needs buffers, offsets and lengths aligned to the logical block size; 4 KiB covers
/// every common device.
const ALIGN: usize = 4096;
/// Size of the probe file: large enough that sequential figures are not one request's latency,
/// small enough to write in well under a second on an SSD.
const FILE_BYTES: usize = 64 << 20;
/// Request size of the sequential passes.
const SEQ_BLOCK: usize = 1 << 20;
/// How long each random-read pass runs.
const RANDOM_READ_TIME: Duration = Duration::from_millis(700);
/// fsyncs timed for the latency distribution (and at most this long in all).
const FSYNCS: usize = 100;
const FSYNC_TIME: Duration = Duration::from_secs(1);
/// Queue depth of the parallel random-read pass: one thread per outstanding request.
const DEEP_QUEUE: usize = 16;
/// A cached probe older than this is measured again.
const CACHE_TTL: Duration = Duration::from_secs(24 * 3600);

/// A buffer aligned for direct I/O.
struct AlignedBuffer {
    ptr: *mut u8,
    layout: Layout,
}

impl AlignedBuffer {
    fn new(len: usize) -> AlignedBuffer {
        let layout = Layout::from_size_align(len, ALIGN).expect("probe buffer layout");
        // SAFETY: the layout has a non-zero size; the pointer is checked below.
        let ptr = unsafe { alloc_zeroed(layout) };
        assert!(
            !ptr.is_null(),
            "cannot allocate {len} bytes for the disk probe"
        );
        AlignedBuffer { ptr, layout }
    }

    fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` holds `layout.size()` initialized (zeroed) bytes owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr, self.layout.size()) }
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, borrowed mutably through &mut self.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.layout.size()) }
    }
}

impl Drop for AlignedBuffer {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}

/// The device's probe: from the cache under `cache_dir` when it is younger than a day, else
/// measured now in `data_dir` (and cached). None, with the reason on stderr, when the probe
/// cannot run there (read-only directory, no space): a run does not fail for want of it.
pub fn probe_disk(data_dir: &Path, cache_dir: &Path) -> Option<DiskProbe> {
    match cached_or_measured(data_dir, cache_dir) {
        Ok(probe) => Some(probe),
        Err(e) => {
            eprintln!("disk probe of {} skipped: {e:#}", data_dir.display());
            None
        }
    }
}

fn cached_or_measured(data_dir: &Path, cache_dir: &Path) -> Result<DiskProbe> {
    let dev = fs::metadata(data_dir)
        .with_context(|| format!("cannot stat {}", data_dir.display()))?
        .dev();
    let (major, minor) = (major(dev), minor(dev));
    let cache = cache_dir.join(format!("disk-probe-{major}-{minor}.json"));
    if let Some(probe) = read_cache(&cache) {
        return Ok(probe);
    }
    let probe = measure(data_dir, major, minor)?;
    let json = serde_json::to_vec_pretty(&probe)?;
    if let Err(e) = fs::create_dir_all(cache_dir)
        .map_err(anyhow::Error::from)
        .and_then(|()| write_atomically(&cache, &json))
    {
        eprintln!("disk probe not cached in {}: {e:#}", cache.display());
    }
    Ok(probe)
}

/// A cached probe, if present, readable and younger than [`CACHE_TTL`].
fn read_cache(path: &Path) -> Option<DiskProbe> {
    let probe: DiskProbe = serde_json::from_slice(&fs::read(path).ok()?).ok()?;
    let age = unix_now().checked_sub(probe.measured_at_unix)?;
    (age < CACHE_TTL.as_secs()).then_some(probe)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Linux's `major()`/`minor()` of a `dev_t`.
fn major(dev: u64) -> u64 {
    ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0fff)
}

fn minor(dev: u64) -> u64 {
    ((dev >> 12) & 0xffff_ff00) | (dev & 0x00ff)
}

/// What the kernel says about block device `major:minor` (its whole disk's queue for a
/// partition); fields it does not expose stay None.
fn kernel_claims(major: u64, minor: u64) -> KernelDiskClaims {
    let base = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    // A partition has no queue of its own: its parent directory is the disk.
    let queue = [base.join("queue"), base.join("../queue")]
        .into_iter()
        .find(|q| q.is_dir());
    let read = |q: &Option<PathBuf>, name: &str| {
        q.as_ref()
            .and_then(|q| fs::read_to_string(q.join(name)).ok())
            .map(|s| s.trim().to_string())
    };
    let scheduler = read(&queue, "scheduler").map(|s| {
        // "none [mq-deadline] kyber": the selected one is in brackets.
        s.split_whitespace()
            .find_map(|w| w.strip_prefix('[').and_then(|w| w.strip_suffix(']')))
            .unwrap_or(&s)
            .to_string()
    });
    let name = fs::read_to_string(base.join("uevent")).ok().and_then(|u| {
        u.lines()
            .find_map(|l| l.strip_prefix("DEVNAME=").map(str::to_string))
    });
    KernelDiskClaims {
        device: name.unwrap_or_else(|| format!("{major}:{minor}")),
        rotational: read(&queue, "rotational").map(|r| r == "1"),
        scheduler,
    }
}

/// Runs the probe in `data_dir` on a file it creates and removes.
fn measure(data_dir: &Path, major: u64, minor: u64) -> Result<DiskProbe> {
    let started = Instant::now();
    let path = data_dir.join(format!(".statebench-disk-probe-{}", std::process::id()));
    let result = measure_file(&path);
    let _ = fs::remove_file(&path);
    let figures = result.with_context(|| format!("probing {}", path.display()))?;
    Ok(DiskProbe {
        measured_at_unix: unix_now(),
        probe_seconds: started.elapsed().as_secs_f64(),
        kernel: kernel_claims(major, minor),
        ..figures
    })
}

fn open(path: &Path, direct: bool, create: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(create);
    if direct {
        options.custom_flags(O_DIRECT);
    }
    options.open(path)
}

fn measure_file(path: &Path) -> Result<DiskProbe> {
    // Filesystems without direct I/O (tmpfs) refuse O_DIRECT: probe through the page cache then,
    // and say so, since those figures are memory speed.
    let (file, direct_io) = match open(path, true, true) {
        Ok(f) => (f, true),
        Err(_) => (open(path, false, true)?, false),
    };
    let mut block = AlignedBuffer::new(SEQ_BLOCK);
    // Not zeros: a compressing or deduplicating device would skip them.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for chunk in block.as_mut_slice().chunks_mut(8) {
        chunk.copy_from_slice(&xorshift(&mut x).to_le_bytes()[..chunk.len()]);
    }

    let t = Instant::now();
    for i in 0..FILE_BYTES / SEQ_BLOCK {
        file.write_all_at(block.as_slice(), (i * SEQ_BLOCK) as u64)?;
    }
    file.sync_all()?;
    let seq_write_mb_s = FILE_BYTES as f64 / 1e6 / t.elapsed().as_secs_f64();

    let t = Instant::now();
    for i in 0..FILE_BYTES / SEQ_BLOCK {
        file.read_exact_at(block.as_mut_slice(), (i * SEQ_BLOCK) as u64)?;
    }
    let seq_read_mb_s = FILE_BYTES as f64 / 1e6 / t.elapsed().as_secs_f64();

    let randread_4k_iops_qd1 = random_read_iops(path, direct_io, 1)?;
    let randread_4k_iops_qd16 = random_read_iops(path, direct_io, DEEP_QUEUE)?;
    let fsync_latency_us = fsync_latencies(&file)?;

    Ok(DiskProbe {
        measured_at_unix: 0,
        probe_seconds: 0.0,
        kernel: KernelDiskClaims::default(),
        direct_io,
        fsync_latency_us,
        randread_4k_iops_qd1,
        randread_4k_iops_qd16,
        seq_read_mb_s,
        seq_write_mb_s,
    })
}

/// Marsaglia's xorshift64: cheap pseudo-random bytes and offsets for the probe (not the
/// workload's seeded generator: nothing here needs to be reproducible).
fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// 4 KiB reads at random aligned offsets for [`RANDOM_READ_TIME`], `depth` requests in flight
/// (one thread each, as fio's `numjobs` does without an async engine); reads per second.
fn random_read_iops(path: &Path, direct: bool, depth: usize) -> Result<f64> {
    let blocks = (FILE_BYTES / ALIGN) as u64;
    let started = Instant::now();
    let reads: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..depth)
            .map(|worker| {
                scope.spawn(move || -> std::io::Result<u64> {
                    let file = open(path, direct, false)?;
                    let mut buf = AlignedBuffer::new(ALIGN);
                    let mut x = 0x2545_f491_4f6c_dd1du64 ^ (worker as u64 + 1);
                    let mut n = 0u64;
                    while started.elapsed() < RANDOM_READ_TIME {
                        let block = xorshift(&mut x) % blocks;
                        file.read_exact_at(buf.as_mut_slice(), block * ALIGN as u64)?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("disk probe reader panicked"))
            .sum::<std::io::Result<u64>>()
    })?;
    Ok(reads as f64 / started.elapsed().as_secs_f64())
}

/// 4 KiB write + fdatasync, [`FSYNCS`] times (fewer if the device is slower than
/// [`FSYNC_TIME`] allows): the latency a checkpoint's or flush's durability waits for.
fn fsync_latencies(file: &File) -> Result<LatencySummary> {
    let buf = AlignedBuffer::new(ALIGN);
    let mut us = Vec::with_capacity(FSYNCS);
    let started = Instant::now();
    for i in 0..FSYNCS {
        let t = Instant::now();
        file.write_all_at(buf.as_slice(), (i * ALIGN) as u64)?;
        file.sync_data()?;
        us.push(t.elapsed().as_secs_f64() * 1e6);
        if started.elapsed() > FSYNC_TIME {
            break;
        }
    }
    Ok(LatencySummary::of(&mut us))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// glibc's `makedev`.
    fn makedev(major: u64, minor: u64) -> u64 {
        ((major & 0xfff) << 8) | ((major & !0xfff) << 32) | (minor & 0xff) | ((minor & !0xff) << 12)
    }

    #[test]
    fn device_numbers_split_as_glibc_does() {
        assert_eq!((major(0xfe00), minor(0xfe00)), (254, 0));
        for (ma, mi) in [(8, 1), (259, 65539), (0x1234, 0x12345)] {
            assert_eq!((major(makedev(ma, mi)), minor(makedev(ma, mi))), (ma, mi));
        }
    }

    #[test]
    fn a_probe_measures_and_is_then_served_from_the_cache() {
        let data = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let probe = probe_disk(data.path(), cache.path()).expect("probe runs in a temp dir");
        assert!(probe.seq_write_mb_s > 0.0 && probe.seq_read_mb_s > 0.0);
        assert!(probe.randread_4k_iops_qd1 > 0.0 && probe.randread_4k_iops_qd16 > 0.0);
        assert!(probe.fsync_latency_us.p50 > 0.0);
        assert!(probe.fsync_latency_us.p50 <= probe.fsync_latency_us.p99);
        assert!(probe.fsync_latency_us.p99 <= probe.fsync_latency_us.max);
        // The probe file is gone, and the second call is the cached figures, not a new probe.
        assert_eq!(fs::read_dir(data.path()).unwrap().count(), 0);
        let again = probe_disk(data.path(), cache.path()).unwrap();
        assert_eq!(again.measured_at_unix, probe.measured_at_unix);
        // serde_json's float parsing may differ in the last bit: equal to 1e-12, not bitwise.
        assert!((again.seq_write_mb_s / probe.seq_write_mb_s - 1.0).abs() < 1e-12);
        assert!((again.probe_seconds / probe.probe_seconds - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_stale_or_broken_cache_is_measured_again() {
        let cache = tempfile::tempdir().unwrap();
        let path = cache.path().join("probe.json");
        assert!(read_cache(&path).is_none());
        fs::write(&path, b"{ not json").unwrap();
        assert!(read_cache(&path).is_none());
        let stale = DiskProbe {
            measured_at_unix: unix_now() - CACHE_TTL.as_secs() - 1,
            ..DiskProbe::default()
        };
        fs::write(&path, serde_json::to_vec(&stale).unwrap()).unwrap();
        assert!(read_cache(&path).is_none());
    }
}
