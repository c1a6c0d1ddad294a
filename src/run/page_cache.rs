//! Dropping the kernel's page cache between repeats, so no repeat reads files an earlier one left
//! cached (SST files, checkpoints). Only root may (`sync`, then `3` into
//! `/proc/sys/vm/drop_caches`: clean page cache, dentries and inodes); elsewhere the run goes on
//! with the cache as it is, and results.json and the report say which it was.

use std::io::Write;

/// The kernel's switch.
const DROP_CACHES: &str = "/proc/sys/vm/drop_caches";

extern "C" {
    fn sync();
}

/// Writes dirty pages back and drops the clean page cache; Err says why it could not.
pub fn drop_page_cache() -> Result<(), String> {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { sync() };
    std::fs::OpenOptions::new()
        .write(true)
        .open(DROP_CACHES)
        .and_then(|mut f| f.write_all(b"3\n"))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => {
                format!("not dropped: writing {DROP_CACHES} needs root")
            }
            _ => format!("not dropped: cannot write {DROP_CACHES}: {e}"),
        })
}
