//! The checkpoint-storage and recovery part of a cell's section: where its checkpoints went and
//! at what upload rate, which failed and why, how long each restore took phase by phase, the
//! rescaled restore, and where retained checkpoints were left with how to inspect them.

use std::fmt::Write;

use anyhow::Result;

use super::format::{bytes, millis};
use crate::results::{CellResult, RecoveryPhases};

/// One restore's total time and its phases.
fn phases(p: &RecoveryPhases) -> String {
    format!(
        "{} (download {} of {} in {} requests, open {}, first op {})",
        millis(p.total_ms),
        millis(p.download_ms),
        bytes(p.download_bytes),
        p.download_requests,
        millis(p.open_ms),
        millis(p.first_op_ms)
    )
}

/// Writes the storage, failure and recovery paragraphs of cell `c`.
pub fn storage_and_recovery(md: &mut String, c: &CellResult) -> Result<()> {
    if let Some(storage) = &c.storage {
        let n = c.checkpoints.len().max(1) as f64;
        let mb_s = c.checkpoints.iter().map(|k| k.upload_mb_per_s).sum::<f64>() / n;
        let requests = c
            .checkpoints
            .iter()
            .map(|k| k.storage_requests)
            .sum::<u64>() as f64
            / n;
        writeln!(
            md,
            "Checkpoint storage: `{}` at {}; each checkpoint's async phase wrote {mb_s:.1} MB/s \
             on average in {requests:.0} requests.\n",
            storage.kind, storage.location
        )?;
    }
    if let Some(last) = c.failed_checkpoints.last() {
        let expired = c.failed_checkpoints.iter().filter(|f| f.expired).count();
        writeln!(
            md,
            "**{} checkpoint(s) failed** ({expired} expired past `execution.checkpointing.timeout`), \
             tolerated by `execution.checkpointing.tolerable-failed-checkpoints`; the last, \
             checkpoint {}: {}\n",
            c.failed_checkpoints.len(),
            last.id,
            last.reason
        )?;
    }
    if let Some(r) = &c.recovery {
        let restores: Vec<String> = r
            .restores
            .iter()
            .map(|p| {
                let check = match p.verified {
                    Some(true) => ", verified",
                    Some(false) => ", **does NOT match**",
                    None => "",
                };
                format!("checkpoint {}: {}{check}", p.checkpoint_id, phases(p))
            })
            .collect();
        writeln!(
            md,
            "Recovery into a fresh backend, as Flink restores after a failure: {}; {}.\n",
            millis(r.recovery_ms),
            restores.join("; ")
        )?;
        if let Some(rescale) = &r.rescale {
            let halves: Vec<String> = rescale.halves.iter().map(phases).collect();
            writeln!(
                md,
                "Rescaled from parallelism 1 to 2 (each half of the key groups restored on its \
                 own; RocksDB clips with delete-range): back after {}; halves {}; together {}.\n",
                millis(rescale.recovery_ms),
                halves.join(" and "),
                if rescale.verified {
                    "equal to the whole state"
                } else {
                    "**NOT equal to the whole state**"
                }
            )?;
        }
    }
    if let Some(at) = c.storage.as_ref().and_then(|s| s.retained_at.as_ref()) {
        let inspect = match (c.setup.backend.name(), c.setup.checkpoint_mode.name()) {
            ("rocksdb", "full") => "each `chk-<id>/` is a RocksDB directory: `ldb --db=<chk-dir> \
                                    list_column_families`, then `ldb --db=<chk-dir> \
                                    --column_family=<state> scan --hex`"
                .to_string(),
            ("rocksdb", _) => "`chk-<id>/` holds MANIFEST, CURRENT and OPTIONS, `shared/` the SST \
                               files: `sst_dump --file=<shared-dir> --command=scan` (copy both \
                               into one directory to open it with `ldb --db=`)"
                .to_string(),
            _ => "each `chk-<id>/heap-keyed-state.bin` is the heap backend's snapshot \
                  (`HeapSnapshotStrategy`'s key-group layout)"
                .to_string(),
        };
        writeln!(
            md,
            "Retained on cancellation (`RETAIN_ON_CANCELLATION`): the retained checkpoints are at \
             `{at}`, each with its `_metadata` (JSON: files and sizes); {inspect}.\n"
        )?;
    }
    Ok(())
}
