//! The work directory a run's cells write into (RocksDB, checkpoints, restores): locked by the
//! run that uses it, and holding only directories statebench made and marked, so statebench
//! never deletes a file it did not create.
//!
//! The lock is `statebench.lock` holding the owner's pid. A lock whose pid no longer runs is
//! stale (a run killed with `kill -9`) and is taken over with a note; a live one refuses the
//! run with "work dir D is in use by pid N". Each cell directory `D/<cell-id>/` is created by
//! statebench with a `.statebench-cell` mark; an existing one without the mark is refused.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The lock file in a work directory.
const LOCK_FILE: &str = "statebench.lock";
/// The mark statebench puts in every cell directory it creates.
const CELL_MARK: &str = ".statebench-cell";

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

/// Whether process `pid` exists (signal 0 probes without sending anything).
fn alive(pid: i32) -> bool {
    // SAFETY: kill(2) with signal 0 only checks for the process.
    let probed = unsafe { kill(pid, 0) };
    probed == 0 || std::io::Error::last_os_error().raw_os_error() != Some(3) // ESRCH
}

/// A locked work directory; dropping it removes the cell directories left in it (after a failed
/// or interrupted cell), the lock, and the directory itself if this run created it and it is
/// empty.
#[derive(Debug)]
pub struct WorkDir {
    root: PathBuf,
    created: bool,
}

impl WorkDir {
    /// Creates `root` if needed and locks it for this process.
    pub fn lock(root: &Path) -> Result<WorkDir> {
        let created = !root.exists();
        fs::create_dir_all(root)
            .with_context(|| format!("cannot create work dir {}", root.display()))?;
        let lock = root.join(LOCK_FILE);
        let pid = std::process::id();
        // The pid is written to a private file first and hard-linked into place, so the lock
        // appears with its content or not at all.
        let mine = root.join(format!(".{LOCK_FILE}.{pid}"));
        fs::File::create(&mine)
            .and_then(|mut f| writeln!(f, "{pid}"))
            .with_context(|| format!("cannot write {}", mine.display()))?;
        let locked = loop {
            match fs::hard_link(&mine, &lock) {
                Ok(()) => break Ok(()),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => {
                    break Err(e).with_context(|| format!("cannot lock {}", lock.display()));
                }
            }
            let text = fs::read_to_string(&lock).unwrap_or_default();
            let owner = match text.trim().parse::<i32>() {
                Ok(owner) => owner,
                Err(_) => {
                    break Err(anyhow::anyhow!(
                        "work dir {} has a lock file {LOCK_FILE} without a pid; \
                         delete it if no statebench run uses the directory",
                        root.display()
                    ));
                }
            };
            if alive(owner) {
                break Err(anyhow::anyhow!(
                    "work dir {} is in use by pid {owner}",
                    root.display()
                ));
            }
            eprintln!(
                "note: work dir {}: taking over the stale lock of pid {owner}, which is no \
                 longer running",
                root.display()
            );
            if let Err(e) = fs::remove_file(&lock) {
                break Err(e)
                    .with_context(|| format!("cannot remove stale lock {}", lock.display()));
            }
        };
        let _ = fs::remove_file(&mine);
        locked?;
        Ok(WorkDir {
            root: root.to_path_buf(),
            created,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.root
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Ok(entries) = fs::read_dir(&self.root) {
            for entry in entries.flatten() {
                if entry.path().join(CELL_MARK).is_file() {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        let _ = fs::remove_file(self.root.join(LOCK_FILE));
        if self.created {
            // Only succeeds when empty: nothing but statebench's files is ever removed.
            let _ = fs::remove_dir(&self.root);
        }
    }
}

/// Makes `dir` a fresh cell directory: creates and marks it, or clears it if statebench made it
/// (a cell of an interrupted run); refuses a directory statebench did not make.
pub fn claim_cell_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        if !dir.join(CELL_MARK).is_file() {
            bail!(
                "{} already exists and was not made by statebench: refusing to delete it; \
                 move it away or choose another --work-dir",
                dir.display()
            );
        }
        fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    fs::write(
        dir.join(CELL_MARK),
        b"made by statebench; deleted with this directory\n",
    )
    .with_context(|| format!("cannot write {}", dir.join(CELL_MARK).display()))
}

/// Deletes a cell directory made by [`claim_cell_dir`].
pub fn remove_cell_dir(dir: &Path) -> Result<()> {
    fs::remove_dir_all(dir).with_context(|| format!("cannot delete {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_lock_refuses_and_a_stale_one_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("work");
        let held = WorkDir::lock(&root).unwrap();
        let err = WorkDir::lock(&root).unwrap_err().to_string();
        assert!(
            err.contains(&format!("is in use by pid {}", std::process::id())),
            "{err}"
        );
        drop(held);
        assert!(
            !root.exists(),
            "a work dir the run created is removed when empty"
        );
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join(LOCK_FILE), format!("{dead}\n")).unwrap();
        let taken = WorkDir::lock(&root).unwrap();
        assert_eq!(
            fs::read_to_string(root.join(LOCK_FILE)).unwrap().trim(),
            std::process::id().to_string()
        );
        drop(taken);
        assert!(root.exists() && fs::read_dir(&root).unwrap().count() == 0);
    }

    #[test]
    fn only_marked_cell_directories_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = dir.path().join("hashmap-none");
        fs::create_dir_all(&foreign).unwrap();
        fs::write(foreign.join("precious"), b"x").unwrap();
        let err = claim_cell_dir(&foreign).unwrap_err().to_string();
        assert!(err.contains("not made by statebench"), "{err}");
        assert!(foreign.join("precious").exists());
        let ours = dir.path().join("hashmap-full");
        claim_cell_dir(&ours).unwrap();
        fs::write(ours.join("db"), b"left by a killed run").unwrap();
        claim_cell_dir(&ours).unwrap();
        assert!(!ours.join("db").exists());
        let work = WorkDir::lock(dir.path()).unwrap();
        drop(work);
        assert!(!ours.exists() && foreign.join("precious").exists());
    }
}
