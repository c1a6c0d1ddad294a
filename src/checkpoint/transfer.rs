//! File transfer between a backend's local files and checkpoint storage, as Flink's
//! `RocksDBStateUploader` and `RocksDBStateDownloader` do it: one task per file, run by
//! `state.backend.rocksdb.checkpoint.transfer.thread.num` threads, each file read in 16 KiB
//! chunks and written to its own output. The bytes are really copied: no hard link or reflink
//! (which `std::fs::copy` may make through `copy_file_range`) could stand in for an upload to a
//! remote file system, and a checkpoint must not share blocks with the live DB.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{Context, Result};

use crate::atomic::Temporary;

/// Flink's default `state.backend.rocksdb.checkpoint.transfer.thread.num`.
pub const DEFAULT_TRANSFER_THREADS: i32 = 4;

/// `RocksDBStateUploader.READ_BUFFER_SIZE`.
const READ_BUFFER_BYTES: usize = 16 * 1024;

/// Threads a transfer runs on for a configured `checkpoint.transfer.thread.num`, as
/// `RocksDBStateDataTransferHelper.forThreadNumIfSpecified` picks them: more than one, a pool of
/// that many; 0 or 1, the calling thread; negative, the TaskManager's IO pool, whose size
/// (`cluster.io-pool.size`) defaults to 4 × the CPUs.
pub fn transfer_threads(configured: i32) -> usize {
    match configured {
        n if n > 1 => n as usize,
        0 | 1 => 1,
        _ => 4 * std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// One file to copy: from where, to where.
#[derive(Clone, Debug)]
pub struct FileCopy {
    /// The source file.
    pub from: PathBuf,
    /// The destination, written through a temporary name so it is whole or absent.
    pub to: PathBuf,
}

/// Copies every file on `threads` threads (see [`transfer_threads`]) and returns the bytes
/// copied. The first failure stops the threads from starting further files and is returned.
pub fn transfer(files: &[FileCopy], threads: usize) -> Result<u64> {
    in_parallel(files, threads, |file| copy_bytes(&file.from, &file.to))
}

/// Hard-links every file instead of copying it: for files staged on this machine on their way
/// to remote storage (whose upload is the real transfer) or downloaded from it for one restore.
pub fn link(files: &[FileCopy]) -> Result<u64> {
    let mut bytes = 0;
    for file in files {
        std::fs::hard_link(&file.from, &file.to).with_context(|| {
            format!(
                "cannot link {} to {}",
                file.from.display(),
                file.to.display()
            )
        })?;
        bytes += file.to.metadata()?.len();
    }
    Ok(bytes)
}

/// Runs `task` on every item on `threads` threads, one task per item as Flink's transfer pools
/// do, and returns the sum of what the tasks returned. The first failure stops the threads from
/// starting further items and is returned.
pub fn in_parallel<T: Sync>(
    items: &[T],
    threads: usize,
    task: impl Fn(&T) -> Result<u64> + Sync,
) -> Result<u64> {
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let bytes = AtomicUsize::new(0);
    let work = || {
        while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
            match task(item) {
                Ok(n) => {
                    bytes.fetch_add(n as usize, Ordering::Relaxed);
                }
                Err(e) => {
                    // Claim every remaining item so no thread starts another.
                    next.store(items.len(), Ordering::Relaxed);
                    failure
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                }
            }
        }
    };
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(work);
            }
        });
    }
    match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(bytes.into_inner() as u64),
    }
}

/// Copies one file chunk by chunk into a temporary sibling of `to`, then renames it into place
/// (the temporary is removed if the copy fails).
fn copy_bytes(from: &Path, to: &Path) -> Result<u64> {
    let mut input = File::open(from).with_context(|| format!("cannot open {}", from.display()))?;
    let tmp = Temporary::new(to);
    let mut output =
        File::create(tmp.path()).with_context(|| format!("cannot create {}", to.display()))?;
    let mut buffer = vec![0u8; READ_BUFFER_BYTES];
    let mut copied = 0u64;
    loop {
        let n = input
            .read(&mut buffer)
            .with_context(|| format!("cannot read {}", from.display()))?;
        if n == 0 {
            break;
        }
        output
            .write_all(&buffer[..n])
            .with_context(|| format!("cannot write {}", to.display()))?;
        copied += n as u64;
    }
    drop(output);
    tmp.commit()?;
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn files_are_copied_byte_for_byte_into_new_inodes_on_every_thread_count() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<FileCopy> = (0..9)
            .map(|i| {
                let from = dir.path().join(format!("in-{i}"));
                let bytes: Vec<u8> = (0..i * 7_001).map(|b| (b * 31 + i) as u8).collect();
                std::fs::write(&from, bytes).unwrap();
                FileCopy {
                    from,
                    to: dir.path().join(format!("out-{i}")),
                }
            })
            .collect();
        for threads in [1, 4] {
            let copied = transfer(&files, threads).unwrap();
            assert_eq!(copied, (0..9).map(|i| i * 7_001).sum::<u64>());
            for f in &files {
                assert_eq!(
                    std::fs::read(&f.from).unwrap(),
                    std::fs::read(&f.to).unwrap()
                );
                let (a, b) = (f.from.metadata().unwrap(), f.to.metadata().unwrap());
                assert_ne!(a.ino(), b.ino());
                assert_eq!(b.nlink(), 1);
            }
        }
        let missing = FileCopy {
            from: dir.path().join("absent"),
            to: dir.path().join("never"),
        };
        assert!(transfer(&[missing], 4).is_err());
    }

    #[test]
    fn thread_counts_follow_flink() {
        assert_eq!(transfer_threads(4), 4);
        assert_eq!(transfer_threads(1), 1);
        assert_eq!(transfer_threads(0), 1);
        assert!(transfer_threads(-1) >= 4);
    }
}
