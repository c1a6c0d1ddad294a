//! Reading a trace: the header and its embedded workload checked on opening, then events
//! decoded block by block, each block's checksum and the trailer's counts verified, as an
//! [`OpSource`] the runner replays like a generator.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, ensure, Context, Result};

use super::check_op;
use super::codec::{
    decode_op, get_varint, unzigzag, MAGIC, MAX_BLOCK, MAX_OPS_PER_EVENT, MAX_SPEC, VERSION,
};
use crate::workload::op::StateOp;
use crate::workload::source::OpSource;
use crate::workload::spec::{StateKind, WorkloadSpec};

/// Whether a file starts like a trace.
pub fn is_trace(path: &Path) -> bool {
    let mut magic = [0; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == MAGIC
}

/// Replays a trace: an [`OpSource`] whose ops are read block by block. Every op is checked
/// against the embedded workload (state, op kind, value length: [`check_op`]) as it is read.
pub struct TraceReader {
    path: PathBuf,
    input: BufReader<Box<dyn Read + Send>>,
    spec: WorkloadSpec,
    states: Vec<(String, StateKind)>,
    events: u64,
    position: u64,
    ops_read: u64,
    time: i64,
    block: Vec<u8>,
    cursor: usize,
    blocks: u64,
    ended: bool,
}

impl TraceReader {
    /// Opens a trace and checks its header and embedded workload.
    pub fn open(path: &Path) -> Result<TraceReader> {
        let file =
            File::open(path).with_context(|| format!("cannot open trace {}", path.display()))?;
        TraceReader::from_reader(Box::new(file), path)
    }

    /// Reads a trace from `input`; `path` names it in errors.
    pub fn from_reader(input: Box<dyn Read + Send>, path: &Path) -> Result<TraceReader> {
        let mut input = BufReader::new(input);
        let name = path.display();
        let mut header = [0u8; 12];
        input.read_exact(&mut header).with_context(|| {
            format!("{name}: not a whole statebench trace: shorter than its 12-byte header")
        })?;
        ensure!(
            &header[..4] == MAGIC,
            "{name}: not a statebench trace: it does not start with \"SBTR\""
        );
        let version = u32::from_le_bytes(header[4..8].try_into()?);
        ensure!(
            version == VERSION,
            "{name}: trace version {version}, expected {VERSION}"
        );
        let spec_len = u32::from_le_bytes(header[8..12].try_into()?) as usize;
        ensure!(
            spec_len <= MAX_SPEC,
            "{name}: embedded workload of {spec_len} bytes is corrupt"
        );
        let mut json = vec![0; spec_len];
        input
            .read_exact(&mut json)
            .with_context(|| format!("{name}: truncated embedded workload"))?;
        let text = String::from_utf8(json)
            .map_err(|_| anyhow!("{name}: embedded workload is not UTF-8"))?;
        let spec = WorkloadSpec::parse(&text, &format!("{name} (embedded workload)"))?;
        let mut count = [0u8; 8];
        input
            .read_exact(&mut count)
            .with_context(|| format!("{name}: truncated trace header"))?;
        let events = u64::from_le_bytes(count);
        ensure!(
            events == spec.events,
            "{name}: trace has {events} events, its workload {}",
            spec.events
        );
        Ok(TraceReader {
            path: path.to_path_buf(),
            input,
            states: spec.layout(),
            spec,
            events,
            position: 0,
            ops_read: 0,
            time: 0,
            block: Vec::new(),
            cursor: 0,
            blocks: 0,
            ended: false,
        })
    }

    /// The workload the trace was recorded from.
    pub fn spec(&self) -> &WorkloadSpec {
        &self.spec
    }

    /// The error for a corrupt block.
    fn corrupt(&self, what: &str) -> anyhow::Error {
        anyhow!("{}: block {}: {what}", self.path.display(), self.blocks)
    }

    /// Fills `buf` from the file; the error names the block being read.
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        let name = self.path.display().to_string();
        let block = self.blocks;
        self.input
            .read_exact(buf)
            .with_context(|| format!("{name}: truncated in block {block}"))
    }

    /// Loads the next block; false at the (checked) end of the trace.
    fn load_block(&mut self) -> Result<bool> {
        let mut len = [0u8; 4];
        self.read_exact(&mut len)?;
        let len = u32::from_le_bytes(len) as usize;
        self.blocks += 1;
        if len == 0 {
            let mut trailer = [0u8; 16];
            self.read_exact(&mut trailer)?;
            let events = u64::from_le_bytes(trailer[..8].try_into()?);
            let ops = u64::from_le_bytes(trailer[8..].try_into()?);
            ensure!(
                events == self.position && ops == self.ops_read && events == self.events,
                "{}: trailer says {events} events and {ops} ops, the trace held {} and {}",
                self.path.display(),
                self.position,
                self.ops_read
            );
            let mut rest = [0u8; 1];
            ensure!(
                self.input.read(&mut rest)? == 0,
                "{}: bytes after the trailer, which ends a trace",
                self.path.display()
            );
            self.ended = true;
            return Ok(false);
        }
        if len > MAX_BLOCK {
            return Err(self.corrupt(&format!("length {len} exceeds the limit of {MAX_BLOCK}")));
        }
        let mut crc = [0u8; 4];
        self.read_exact(&mut crc)?;
        let mut block = std::mem::take(&mut self.block);
        block.resize(len, 0);
        self.read_exact(&mut block)?;
        if crc32fast::hash(&block) != u32::from_le_bytes(crc) {
            return Err(self.corrupt("checksum mismatch"));
        }
        self.block = block;
        self.cursor = 0;
        Ok(true)
    }
}

impl OpSource for TraceReader {
    fn append_event(&mut self, out: &mut Vec<StateOp>) -> Result<bool> {
        if self.ended || (self.cursor >= self.block.len() && !self.load_block()?) {
            return Ok(false);
        }
        ensure!(
            self.position < self.events,
            "{}: more events than the header says",
            self.path.display()
        );
        let mut at = self.cursor;
        let delta =
            get_varint(&self.block, &mut at).ok_or_else(|| self.corrupt("truncated event"))?;
        let count =
            get_varint(&self.block, &mut at).ok_or_else(|| self.corrupt("truncated event"))?;
        if count > MAX_OPS_PER_EVENT {
            return Err(self.corrupt(&format!(
                "op count {count} exceeds the limit of {MAX_OPS_PER_EVENT}"
            )));
        }
        for i in 0..count {
            let position = || format!("event {}, op {i}", self.position);
            let op = decode_op(&self.block, &mut at)
                .ok_or_else(|| self.corrupt(&format!("{}: invalid op", position())))?;
            check_op(&op, &self.states)
                .map_err(|e| self.corrupt(&format!("{}: {e}", position())))?;
            out.push(op);
        }
        self.cursor = at;
        self.time = self.time.wrapping_add(unzigzag(delta));
        self.position += 1;
        self.ops_read += count;
        Ok(true)
    }

    fn position(&self) -> u64 {
        self.position
    }

    fn events(&self) -> u64 {
        self.events
    }

    fn event_time(&self) -> i64 {
        self.time
    }
}
