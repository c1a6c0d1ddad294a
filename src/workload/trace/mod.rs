//! Traces: an op stream recorded once and replayed into every cell, so every backend sees exactly
//! the same ops; also the way to replay op streams captured elsewhere (through the CSV form).
//!
//! Binary format, version 1 (integers little-endian unless said otherwise):
//! ```text
//! header  "SBTR"  u32 version  u32 spec_len  spec_len bytes of workload JSON  u64 events
//! block*  u32 payload_len (1 ..= 16 MiB)  u32 crc32(payload)  payload
//! end     u32 0  u64 events  u64 ops
//! ```
//! A payload is whole events. Event: varint zigzag(event_time − previous event_time), varint op
//! count (≤ 65 536), ops. Op: varint state, varint key, namespace (u8 tag: 0 void; 1 window, then
//! zigzag varints start and end − start; 2 CLEANUP_LEFT; 3 CLEANUP_RIGHT), kind (u8 tag, fields):
//! 0 value.get; 1 value.put v; 2 value.clear; 3 list.get; 4 list.add v; 5 list.update v;
//! 6 list.clear; 7 map.get uk; 8 map.put uk v; 9 map.contains uk; 10 map.remove uk;
//! 11 map.iterate; 12 map.clear; 13 timer.register zigzag t; 14 timer.delete zigzag t, where a
//! value v is its u64 tag then varint length and uk is a varint.
//!
//! CSV form: a header line `event,time_ms,state,key,namespace,op,user_key,value_tag,value_len`,
//! then one row per op; rows of one event share `event` (counting from 0, increasing by one).
//! `namespace` is `void`, `window:<start>:<end>`, `cleanup_left` or `cleanup_right`; `op` is an op
//! class name (`value.get`, `map.put`, `timer.register`, ...); `user_key` holds the map user key
//! or the timer timestamp; `value_tag` and `value_len` name the written value (empty otherwise).
//! A CSV carries no workload: importing it takes a workload file for the states and settings.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, ensure, Context, Result};

use crate::atomic::{commit, temporary_path};

use super::{
    Namespace, OpClass, OpGenerator, OpKind, OpSource, StateKind, StateOp, ValueRef, WorkloadSpec,
};

const MAGIC: &[u8; 4] = b"SBTR";
const VERSION: u32 = 1;
/// Largest block payload; also bounds the memory a reader uses.
const MAX_BLOCK: usize = 16 << 20;
/// Payload size at which the writer closes a block.
const TARGET_BLOCK: usize = 1 << 20;
/// Largest embedded workload.
const MAX_SPEC: usize = 1 << 20;
/// Most ops one event may carry.
const MAX_OPS_PER_EVENT: u64 = 1 << 16;

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

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

fn encode_value(out: &mut Vec<u8>, v: ValueRef) {
    out.extend_from_slice(&v.tag.to_le_bytes());
    put_varint(out, v.len as u64);
}

/// Appends one op in the trace encoding.
fn encode_op(out: &mut Vec<u8>, op: &StateOp) {
    put_varint(out, op.state as u64);
    put_varint(out, op.key);
    match op.namespace {
        Namespace::Void => out.push(0),
        Namespace::Window { start, end } => {
            out.push(1);
            put_varint(out, zigzag(start));
            put_varint(out, zigzag(end.wrapping_sub(start)));
        }
        Namespace::CleanupLeft => out.push(2),
        Namespace::CleanupRight => out.push(3),
    }
    match op.kind {
        OpKind::ValueGet => out.push(0),
        OpKind::ValuePut(v) => {
            out.push(1);
            encode_value(out, v);
        }
        OpKind::ValueClear => out.push(2),
        OpKind::ListGet => out.push(3),
        OpKind::ListAdd(v) => {
            out.push(4);
            encode_value(out, v);
        }
        OpKind::ListUpdate(v) => {
            out.push(5);
            encode_value(out, v);
        }
        OpKind::ListClear => out.push(6),
        OpKind::MapGet(uk) => {
            out.push(7);
            put_varint(out, uk);
        }
        OpKind::MapPut(uk, v) => {
            out.push(8);
            put_varint(out, uk);
            encode_value(out, v);
        }
        OpKind::MapContains(uk) => {
            out.push(9);
            put_varint(out, uk);
        }
        OpKind::MapRemove(uk) => {
            out.push(10);
            put_varint(out, uk);
        }
        OpKind::MapIterate => out.push(11),
        OpKind::MapClear => out.push(12),
        OpKind::TimerRegister(t) => {
            out.push(13);
            put_varint(out, zigzag(t));
        }
        OpKind::TimerDelete(t) => {
            out.push(14);
            put_varint(out, zigzag(t));
        }
    }
}

/// Writes a trace, block by block.
struct TraceWriter {
    out: BufWriter<File>,
    block: Vec<u8>,
    last_time: i64,
    events: u64,
    ops: u64,
    bytes: u64,
}

impl TraceWriter {
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

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.bytes += bytes.len() as u64;
        self.out.write_all(bytes).context("writing trace")
    }

    fn event(&mut self, time: i64, ops: &[StateOp]) -> Result<()> {
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

/// Writes a trace through a temporary file renamed into place, so it is whole or absent.
fn write_trace_atomically(
    path: &Path,
    spec: &WorkloadSpec,
    fill: impl FnOnce(&mut TraceWriter) -> Result<()>,
) -> Result<TraceSummary> {
    let tmp = temporary_path(path);
    let result = (|| {
        let mut writer = TraceWriter::create(&tmp, spec, spec.events)?;
        fill(&mut writer)?;
        ensure!(
            writer.events == spec.events,
            "the trace has {} events, its workload says {}",
            writer.events,
            spec.events
        );
        writer.finish()
    })();
    match result {
        Ok(summary) => {
            commit(&tmp, path)?;
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Records the op stream of `spec` into a trace at `path`.
pub fn record(spec: &WorkloadSpec, path: &Path) -> Result<TraceSummary> {
    write_trace_atomically(path, spec, |writer| {
        let mut generator = OpGenerator::new(spec)?;
        let mut ops = Vec::new();
        while generator.next_event(&mut ops) {
            writer.event(generator.event_time(), &ops)?;
        }
        Ok(())
    })
}

/// Whether a file starts like a trace.
pub fn is_trace(path: &Path) -> bool {
    let mut magic = [0; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == MAGIC
}

/// Replays a trace: an [`OpSource`] whose ops are read block by block.
pub struct TraceReader {
    path: PathBuf,
    input: BufReader<File>,
    spec: WorkloadSpec,
    events: u64,
    position: u64,
    ops_read: u64,
    time: i64,
    block: Vec<u8>,
    cursor: usize,
    blocks: u64,
    ended: bool,
}

/// Reads one varint from `bytes` at `*at`.
fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn get_u8(bytes: &[u8], at: &mut usize) -> Option<u8> {
    let b = *bytes.get(*at)?;
    *at += 1;
    Some(b)
}

fn get_value(bytes: &[u8], at: &mut usize) -> Option<ValueRef> {
    let tag = u64::from_le_bytes(bytes.get(*at..*at + 8)?.try_into().ok()?);
    *at += 8;
    let len = u32::try_from(get_varint(bytes, at)?).ok()?;
    Some(ValueRef { tag, len })
}

/// Decodes one op; None if the bytes are not a valid op.
fn decode_op(bytes: &[u8], at: &mut usize) -> Option<StateOp> {
    let state = u16::try_from(get_varint(bytes, at)?).ok()?;
    let key = get_varint(bytes, at)?;
    let namespace = match get_u8(bytes, at)? {
        0 => Namespace::Void,
        1 => {
            let start = unzigzag(get_varint(bytes, at)?);
            let length = unzigzag(get_varint(bytes, at)?);
            Namespace::Window {
                start,
                end: start.wrapping_add(length),
            }
        }
        2 => Namespace::CleanupLeft,
        3 => Namespace::CleanupRight,
        _ => return None,
    };
    let kind = match get_u8(bytes, at)? {
        0 => OpKind::ValueGet,
        1 => OpKind::ValuePut(get_value(bytes, at)?),
        2 => OpKind::ValueClear,
        3 => OpKind::ListGet,
        4 => OpKind::ListAdd(get_value(bytes, at)?),
        5 => OpKind::ListUpdate(get_value(bytes, at)?),
        6 => OpKind::ListClear,
        7 => OpKind::MapGet(get_varint(bytes, at)?),
        8 => {
            let uk = get_varint(bytes, at)?;
            OpKind::MapPut(uk, get_value(bytes, at)?)
        }
        9 => OpKind::MapContains(get_varint(bytes, at)?),
        10 => OpKind::MapRemove(get_varint(bytes, at)?),
        11 => OpKind::MapIterate,
        12 => OpKind::MapClear,
        13 => OpKind::TimerRegister(unzigzag(get_varint(bytes, at)?)),
        14 => OpKind::TimerDelete(unzigzag(get_varint(bytes, at)?)),
        _ => return None,
    };
    Some(StateOp {
        state,
        key,
        namespace,
        kind,
    })
}

impl TraceReader {
    /// Opens a trace and checks its header and embedded workload.
    pub fn open(path: &Path) -> Result<TraceReader> {
        let file =
            File::open(path).with_context(|| format!("cannot open trace {}", path.display()))?;
        let mut input = BufReader::new(file);
        let name = path.display();
        let mut header = [0u8; 12];
        input
            .read_exact(&mut header)
            .with_context(|| format!("{name}: truncated trace header"))?;
        ensure!(&header[..4] == MAGIC, "{name}: not a statebench trace");
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

    fn corrupt(&self, what: &str) -> anyhow::Error {
        anyhow!("{}: block {}: {what}", self.path.display(), self.blocks)
    }

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
    fn next_event(&mut self, out: &mut Vec<StateOp>) -> Result<bool> {
        out.clear();
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
        let states = self.spec.layout().len();
        for _ in 0..count {
            let op = decode_op(&self.block, &mut at).ok_or_else(|| self.corrupt("invalid op"))?;
            if op.state as usize >= states {
                return Err(self.corrupt(&format!("state {} does not exist", op.state)));
            }
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

/// The CSV header line.
const CSV_HEADER: &str = "event,time_ms,state,key,namespace,op,user_key,value_tag,value_len";

/// Writes a trace as CSV.
pub fn export_csv(trace: &Path, csv: &Path) -> Result<u64> {
    let mut reader = TraceReader::open(trace)?;
    let tmp = temporary_path(csv);
    let mut out = BufWriter::new(
        File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?,
    );
    writeln!(out, "{CSV_HEADER}")?;
    let mut ops = Vec::new();
    let mut rows = 0;
    while reader.next_event(&mut ops)? {
        let event = reader.position() - 1;
        for op in &ops {
            let namespace = match op.namespace {
                Namespace::Void => "void".to_string(),
                Namespace::Window { start, end } => format!("window:{start}:{end}"),
                Namespace::CleanupLeft => "cleanup_left".to_string(),
                Namespace::CleanupRight => "cleanup_right".to_string(),
            };
            let user_key = match op.kind {
                OpKind::MapGet(uk)
                | OpKind::MapPut(uk, _)
                | OpKind::MapContains(uk)
                | OpKind::MapRemove(uk) => uk.to_string(),
                OpKind::TimerRegister(t) | OpKind::TimerDelete(t) => t.to_string(),
                _ => String::new(),
            };
            let (tag, len) = match op.kind.value() {
                Some(v) => (v.tag.to_string(), v.len.to_string()),
                None => (String::new(), String::new()),
            };
            writeln!(
                out,
                "{event},{},{},{},{namespace},{},{user_key},{tag},{len}",
                reader.event_time(),
                op.state,
                op.key,
                op.kind.class().name()
            )?;
            rows += 1;
        }
    }
    out.into_inner()
        .map_err(|e| anyhow!("writing {}: {}", tmp.display(), e.error()))?
        .sync_all()?;
    commit(&tmp, csv)?;
    Ok(rows)
}

/// One parsed CSV row.
struct Row {
    event: u64,
    time: i64,
    op: StateOp,
}

fn parse_row(line: &str, states: &[(String, StateKind)]) -> std::result::Result<Row, String> {
    let fields: Vec<&str> = line.split(',').collect();
    if fields.len() != 9 {
        return Err(format!("expected 9 fields, got {}", fields.len()));
    }
    let num = |i: usize, name: &str| -> std::result::Result<u64, String> {
        fields[i].parse::<u64>().map_err(|_| {
            format!(
                "field `{name}`: expected a non-negative integer, got {:?}",
                fields[i]
            )
        })
    };
    let int = |i: usize, name: &str| -> std::result::Result<i64, String> {
        fields[i]
            .parse::<i64>()
            .map_err(|_| format!("field `{name}`: expected an integer, got {:?}", fields[i]))
    };
    let event = num(0, "event")?;
    let time = int(1, "time_ms")?;
    let state = num(2, "state")?;
    let Some((_, kind)) = states.get(state as usize) else {
        return Err(format!(
            "field `state`: expected a state id below {}, got {state}",
            states.len()
        ));
    };
    let key = num(3, "key")?;
    let namespace = match fields[4] {
        "void" => Namespace::Void,
        "cleanup_left" => Namespace::CleanupLeft,
        "cleanup_right" => Namespace::CleanupRight,
        other => {
            let parts: Vec<&str> = other.split(':').collect();
            match parts.as_slice() {
                ["window", s, e] => match (s.parse(), e.parse()) {
                    (Ok(start), Ok(end)) => Namespace::Window { start, end },
                    _ => return Err(format!("field `namespace`: bad window {other:?}")),
                },
                _ => return Err(format!("field `namespace`: expected void, window:<start>:<end>, cleanup_left or cleanup_right, got {other:?}")),
            }
        }
    };
    let class = OpClass::ALL
        .into_iter()
        .find(|c| c.name() == fields[5])
        .ok_or_else(|| format!("field `op`: unknown op {:?}", fields[5]))?;
    let value = || -> std::result::Result<ValueRef, String> {
        let len = u32::try_from(num(8, "value_len")?)
            .map_err(|_| "field `value_len`: too large".to_string())?;
        Ok(ValueRef {
            tag: num(7, "value_tag")?,
            len,
        })
    };
    let op_kind = match class {
        OpClass::ValueGet => OpKind::ValueGet,
        OpClass::ValuePut => OpKind::ValuePut(value()?),
        OpClass::ValueClear => OpKind::ValueClear,
        OpClass::ListGet => OpKind::ListGet,
        OpClass::ListAdd => OpKind::ListAdd(value()?),
        OpClass::ListUpdate => OpKind::ListUpdate(value()?),
        OpClass::ListClear => OpKind::ListClear,
        OpClass::MapGet => OpKind::MapGet(num(6, "user_key")?),
        OpClass::MapPut => OpKind::MapPut(num(6, "user_key")?, value()?),
        OpClass::MapContains => OpKind::MapContains(num(6, "user_key")?),
        OpClass::MapRemove => OpKind::MapRemove(num(6, "user_key")?),
        OpClass::MapIterate => OpKind::MapIterate,
        OpClass::MapClear => OpKind::MapClear,
        OpClass::TimerRegister => OpKind::TimerRegister(int(6, "user_key")?),
        OpClass::TimerDelete => OpKind::TimerDelete(int(6, "user_key")?),
    };
    let expected = match class {
        OpClass::ValueGet | OpClass::ValuePut | OpClass::ValueClear => StateKind::Value,
        OpClass::ListGet | OpClass::ListAdd | OpClass::ListUpdate | OpClass::ListClear => {
            StateKind::List
        }
        OpClass::TimerRegister | OpClass::TimerDelete => StateKind::Timer,
        _ => StateKind::Map,
    };
    if expected != *kind {
        return Err(format!(
            "field `op`: {} on state {state}, which is {kind:?} state",
            class.name()
        ));
    }
    Ok(Row {
        event,
        time,
        op: StateOp {
            state: state as u16,
            key,
            namespace,
            kind: op_kind,
        },
    })
}

/// Imports a CSV op stream into a trace; `spec` supplies the states and settings (its `events`
/// is replaced by the CSV's event count).
pub fn import_csv(csv: &Path, spec: &WorkloadSpec, trace: &Path) -> Result<TraceSummary> {
    let name = csv.display().to_string();
    let file = File::open(csv).with_context(|| format!("cannot open {name}"))?;
    let mut lines = BufReader::new(file).lines();
    let header = lines.next().transpose()?.unwrap_or_default();
    ensure!(
        header.trim() == CSV_HEADER,
        "{name}: line 1: expected the header `{CSV_HEADER}`"
    );
    let states = spec.layout();
    // First pass: validate every row and count events, so the header can carry the count.
    let mut events = 0u64;
    for (i, line) in lines.enumerate() {
        let line = line.with_context(|| format!("{name}: line {}", i + 2))?;
        if line.trim().is_empty() {
            continue;
        }
        let row =
            parse_row(line.trim(), &states).map_err(|e| anyhow!("{name}: line {}: {e}", i + 2))?;
        if row.event == events {
            events += 1;
        } else if row.event + 1 != events {
            bail!(
                "{name}: line {}: field `event`: expected {} or {events}, got {}",
                i + 2,
                events.saturating_sub(1),
                row.event
            );
        }
    }
    ensure!(events > 0, "{name}: no ops");
    let mut spec = spec.clone();
    spec.events = events;
    spec.warmup_events = spec.warmup_events.min(events - 1);
    write_trace_atomically(trace, &spec, |writer| {
        let file = File::open(csv).with_context(|| format!("cannot open {name}"))?;
        let mut rows = BufReader::new(file)
            .lines()
            .skip(1)
            .filter_map(|l| l.ok())
            .filter(|l| !l.trim().is_empty());
        let (mut ops, mut current, mut time) = (Vec::new(), 0u64, 0i64);
        for line in rows.by_ref() {
            let row = parse_row(line.trim(), &states).map_err(|e| anyhow!("{name}: {e}"))?;
            if row.event != current {
                writer.event(time, &ops)?;
                ops.clear();
                current = row.event;
            }
            time = row.time;
            ops.push(row.op);
        }
        writer.event(time, &ops)
    })
}
