//! Writing a trace: events buffered into checksummed blocks, and the file written under a
//! temporary name and renamed into place, so a trace is whole or absent.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{anyhow, ensure, Context, Result};

use super::codec::{
    encode_op, put_varint, zigzag, MAGIC, MAX_OPS_PER_EVENT, MAX_SPEC, TARGET_BLOCK, VERSION,
};
use crate::atomic::Temporary;
use crate::workload::op::StateOp;
use crate::workload::spec::WorkloadSpec;

/// What recording wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceSummary {
    /// Events recorded.
    pub events: u64,
    /// Ops recorded.
    pub ops: u64,
    /// Size of the trace file.
    pub bytes: u64,
}

/// Writes a trace, block by block.
pub(super) struct TraceWriter {
    out: BufWriter<File>,
    block: Vec<u8>,
    last_time: i64,
    events: u64,
    ops: u64,
    bytes: u64,
}

impl TraceWriter {
    /// Creates the file at `path` and writes the header: `spec` embedded, `events` announced.
    fn create(path: &Path, spec: &WorkloadSpec, events: u64) -> Result<TraceWriter> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = TraceWriter {
            out: BufWriter::new(file),
            block: Vec::with_capacity(TARGET_BLOCK + 4096),
            last_time: 0,
            events: 0,
            ops: 0,
            bytes: 0,
        };
        let json = serde_json::to_vec(spec)?;
        ensure!(
            json.len() <= MAX_SPEC,
            "workload too large to embed in a trace"
        );
        w.write(MAGIC)?;
        w.write(&VERSION.to_le_bytes())?;
        w.write(&(json.len() as u32).to_le_bytes())?;
        w.write(&json)?;
        w.write(&events.to_le_bytes())?;
        Ok(w)
    }

    /// Writes bytes to the file, counting them.
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.bytes += bytes.len() as u64;
        self.out.write_all(bytes).context("writing trace")
    }

    /// Appends an event at event time `time`, ms, with its ops.
    pub(super) fn event(&mut self, time: i64, ops: &[StateOp]) -> Result<()> {
        ensure!(
            ops.len() as u64 <= MAX_OPS_PER_EVENT,
            "an event with {} ops is too large for a trace",
            ops.len()
        );
        put_varint(&mut self.block, zigzag(time.wrapping_sub(self.last_time)));
        self.last_time = time;
        put_varint(&mut self.block, ops.len() as u64);
        for op in ops {
            encode_op(&mut self.block, op);
        }
        self.events += 1;
        self.ops += ops.len() as u64;
        if self.block.len() >= TARGET_BLOCK {
            self.flush_block()?;
        }
        Ok(())
    }

    /// Writes the pending events as a block, if there are any.
    fn flush_block(&mut self) -> Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let block = std::mem::take(&mut self.block);
        self.write(&(block.len() as u32).to_le_bytes())?;
        self.write(&crc32fast::hash(&block).to_le_bytes())?;
        self.write(&block)?;
        self.block = block;
        self.block.clear();
        Ok(())
    }

    /// Writes the last block and the trailer, and syncs the file.
    fn finish(mut self) -> Result<TraceSummary> {
        self.flush_block()?;
        let (events, ops) = (self.events, self.ops);
        self.write(&0u32.to_le_bytes())?;
        self.write(&events.to_le_bytes())?;
        self.write(&ops.to_le_bytes())?;
        let file = self
            .out
            .into_inner()
            .map_err(|e| anyhow!("writing trace: {}", e.error()))?;
        file.sync_all().context("writing trace")?;
        Ok(TraceSummary {
            events,
            ops,
            bytes: self.bytes,
        })
    }
}

/// Writes a trace of `spec` to `path` with the events `fill` gives the writer, through a
/// temporary file renamed into place, so the trace is whole or absent.
pub(super) fn write_atomically(
    path: &Path,
    spec: &WorkloadSpec,
    fill: impl FnOnce(&mut TraceWriter) -> Result<()>,
) -> Result<TraceSummary> {
    let tmp = Temporary::new(path);
    let summary = (|| {
        let mut writer = TraceWriter::create(tmp.path(), spec, spec.events)?;
        fill(&mut writer)?;
        ensure!(
            writer.events == spec.events,
            "the trace has {} events, its workload says {}",
            writer.events,
            spec.events
        );
        writer.finish()
    })()
    .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.commit()?;
    Ok(summary)
}
