//! Atomic file output: a file statebench writes (results, reports, checkpoints, traces) is
//! either complete or absent, never half-written. It is written under a temporary sibling name,
//! synced, renamed into place, and its directory synced; on every error path the temporary is
//! removed, so a full disk or an I/O error leaves the previous complete file and nothing else.
//! Outputs are also checked against the command's inputs, so an output never replaces an input.

use std::fs;
use std::io::{BufWriter, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The temporary sibling a file is written to before it is renamed into place. The original
/// extension is kept last, for writers that pick a format by extension.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial.{}", extension(path)))
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "tmp".to_string())
}

/// The temporary file of one output while it is written: deleted when dropped, unless
/// [`Temporary::commit`] moved it into place. Holding one across a write makes every early
/// return (`?`) clean up after itself.
#[derive(Debug)]
pub struct Temporary {
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Temporary {
    /// The temporary for the output `target` (nothing is created yet).
    pub fn new(target: &Path) -> Temporary {
        Temporary {
            tmp: temporary_path(target),
            target: target.to_path_buf(),
            committed: false,
        }
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Renames the finished temporary over the target and syncs the directory, so the rename
    /// itself survives a crash.
    pub fn commit(mut self) -> Result<()> {
        fs::rename(&self.tmp, &self.target)
            .with_context(|| format!("cannot write {}", self.target.display()))?;
        self.committed = true;
        sync_parent(&self.target)
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Syncs the directory holding `path`, making a rename or creation in it durable.
fn sync_parent(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync directory {}", dir.display()))
}

/// Writes `path` through a temporary: `fill` writes the content, which is then flushed, synced
/// and renamed into place. On any error the temporary is removed and `path` is left as it was;
/// the error names `path` and the cause (e.g. "No space left on device").
fn write_with<T>(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<fs::File>) -> Result<T>,
) -> Result<T> {
    let tmp = Temporary::new(path);
    let written = (|| {
        let mut out = BufWriter::new(fs::File::create(tmp.path())?);
        let value = fill(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok::<T, anyhow::Error>(value)
    })()
    .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.commit()?;
    Ok(written)
}

/// Writes `bytes` to `path` atomically (see [`write_with`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |out| Ok(out.write_all(bytes)?))
}

/// Refuses to write `output` when it is `input` under another name: the same path, a symbolic
/// link to it, or a hard link (same device and inode); both are compared by canonical path too.
/// `what` names the output's role in the error ("trace", "CSV file").
pub fn refuse_same_file(input: &Path, output: &Path, what: &str) -> Result<()> {
    let same = match (fs::metadata(input), fs::metadata(output)) {
        (Ok(i), Ok(o)) => i.dev() == o.dev() && i.ino() == o.ino(),
        _ => false,
    } || canonical(input).is_some_and(|i| canonical(output).is_some_and(|o| i == o));
    if same {
        bail!(
            "{what} {} is the input {}: refusing to overwrite it; choose another output file",
            output.display(),
            input.display()
        );
    }
    Ok(())
}

/// The canonical form of `path`, also when the file itself does not exist yet (its directory
/// canonicalized, the name appended).
fn canonical(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = fs::canonicalize(path) {
        return Some(p);
    }
    let name = path.file_name()?;
    fs::canonicalize(parent_dir(path))
        .ok()
        .map(|p| p.join(name))
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files_and_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        write_atomically(&path, b"first, longer content").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(temporary_path(&path).to_string_lossy().ends_with(".json"));
    }

    #[test]
    fn failed_writes_keep_the_old_file_and_remove_the_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        write_atomically(&path, b"complete").unwrap();
        let err = write_with(&path, |out| -> Result<()> {
            out.write_all(b"half")?;
            bail!("disk full")
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("cannot write"), "{err:#}");
        assert_eq!(fs::read(&path).unwrap(), b"complete");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // A rename that fails (the target is a non-empty directory) also cleans up.
        let blocked = dir.path().join("blocked");
        fs::create_dir_all(blocked.join("inner")).unwrap();
        assert!(write_atomically(&blocked, b"x").is_err());
        assert!(!temporary_path(&blocked).exists());
    }

    #[test]
    fn an_output_that_is_the_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("w.json");
        fs::write(&input, b"{}").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let hard = dir.path().join("hard.json");
        fs::hard_link(&input, &hard).unwrap();
        let dotted = dir.path().join(".").join("w.json");
        for output in [&input, &link, &hard, &dotted] {
            let err = refuse_same_file(&input, output, "trace").unwrap_err();
            assert!(err.to_string().contains("refusing to overwrite"), "{err}");
        }
        refuse_same_file(&input, &dir.path().join("other.sbt"), "trace").unwrap();
    }
}
