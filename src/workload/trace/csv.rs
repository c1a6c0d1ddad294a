//! The CSV form of a trace, for op streams captured elsewhere and for looking at one: a header
//! line `event,time_ms,state,key,namespace,op,user_key,value_tag,value_len`, then one row per
//! op; rows of one event share `event` (counting from 0, increasing by one). `namespace` is
//! `void`, `window:<start>:<end>`, `cleanup_left` or `cleanup_right`; `op` is an op class name
//! (`value.get`, `map.put`, `timer.register`, ...); `user_key` holds the map user key or the
//! timer timestamp; `value_tag` and `value_len` name the written value (empty otherwise). A CSV
//! carries no workload: importing it takes a workload file for the states and settings.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{anyhow, bail, ensure, Context, Result};

use super::check_op;
use super::reader::TraceReader;
use super::writer::{write_atomically, TraceSummary};
use crate::atomic::Temporary;
use crate::input::{excerpt, read_line, MAX_CSV_LINE};
use crate::workload::op::{Namespace, OpClass, OpKind, StateOp, ValueRef};
use crate::workload::source::OpSource;
use crate::workload::spec::{StateKind, WorkloadSpec, MAX_VALUE_BYTES};

/// The CSV header line.
const CSV_HEADER: &str = "event,time_ms,state,key,namespace,op,user_key,value_tag,value_len";

/// Writes a trace as CSV.
pub fn export_csv(trace: &Path, csv: &Path) -> Result<u64> {
    let mut reader = TraceReader::open(trace)?;
    // Removed on every error path unless committed.
    let tmp = Temporary::new(csv);
    let mut out = BufWriter::new(
        File::create(tmp.path()).with_context(|| format!("cannot create {}", csv.display()))?,
    );
    let failed = || format!("cannot write {}", csv.display());
    writeln!(out, "{CSV_HEADER}").with_context(failed)?;
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
                OpKind::ValueGet
                | OpKind::ValuePut(_)
                | OpKind::ValueClear
                | OpKind::ListGet
                | OpKind::ListAdd(_)
                | OpKind::ListUpdate(_)
                | OpKind::ListClear
                | OpKind::MapIterate
                | OpKind::MapClear => String::new(),
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
            )
            .with_context(failed)?;
            rows += 1;
        }
    }
    out.into_inner()
        .map_err(|e| anyhow!("{}: {}", failed(), e.error()))?
        .sync_all()
        .with_context(failed)?;
    tmp.commit()?;
    Ok(rows)
}

/// One parsed CSV row.
struct Row {
    /// The event the op belongs to.
    event: u64,
    /// The event's time, ms.
    time: i64,
    /// The op.
    op: StateOp,
}

/// Parses and checks one row against the workload's states ([`check_op`]).
fn parse_row(line: &str, states: &[(String, StateKind)]) -> std::result::Result<Row, String> {
    let fields: Vec<&str> = line.split(',').collect();
    if fields.len() != 9 {
        return Err(format!("expected 9 fields, got {}", fields.len()));
    }
    let num = |i: usize, name: &str| -> std::result::Result<u64, String> {
        fields[i].parse::<u64>().map_err(|_| {
            format!(
                "field `{name}`: expected a non-negative integer, got {}",
                excerpt(fields[i])
            )
        })
    };
    let int = |i: usize, name: &str| -> std::result::Result<i64, String> {
        fields[i].parse::<i64>().map_err(|_| {
            format!(
                "field `{name}`: expected an integer, got {}",
                excerpt(fields[i])
            )
        })
    };
    let event = num(0, "event")?;
    let time = int(1, "time_ms")?;
    let state = u16::try_from(num(2, "state")?)
        .ok()
        .filter(|s| (*s as usize) < states.len())
        .ok_or_else(|| {
            format!(
                "field `state`: expected a state id below {}, got {}",
                states.len(),
                excerpt(fields[2])
            )
        })?;
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
                    _ => return Err(format!("field `namespace`: bad window {}", excerpt(other))),
                },
                _ => return Err(format!("field `namespace`: expected void, window:<start>:<end>, cleanup_left or cleanup_right, got {}", excerpt(other))),
            }
        }
    };
    let class = OpClass::ALL
        .into_iter()
        .find(|c| c.name() == fields[5])
        .ok_or_else(|| format!("field `op`: unknown op {}", excerpt(fields[5])))?;
    let value = || -> std::result::Result<ValueRef, String> {
        let len = u32::try_from(num(8, "value_len")?)
            .ok()
            .filter(|len| *len <= MAX_VALUE_BYTES)
            .ok_or_else(|| {
                format!(
                    "field `value_len`: {} exceeds the limit of {MAX_VALUE_BYTES} bytes",
                    fields[8]
                )
            })?;
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
    let op = StateOp {
        state,
        key,
        namespace,
        kind: op_kind,
    };
    check_op(&op, states).map_err(|e| format!("field `op`: {e}"))?;
    Ok(Row { event, time, op })
}

/// Reads the CSV op stream in `input` (named `name` in errors): the header, then each row,
/// parsed, checked ([`parse_row`]) and in event order, handed to `each`. Lines are at most
/// [`MAX_CSV_LINE`] bytes. Returns the number of events.
fn read_rows(
    mut input: impl BufRead,
    name: &str,
    states: &[(String, StateKind)],
    mut each: impl FnMut(Row) -> Result<()>,
) -> Result<u64> {
    let mut line = String::new();
    let mut number = 1u64;
    let at = |number: u64| move || format!("{name}: line {number}");
    let header = read_line(&mut input, &mut line, MAX_CSV_LINE, &at(number))?;
    ensure!(
        header && line.trim() == CSV_HEADER,
        "{name}: line 1: expected the header `{CSV_HEADER}`"
    );
    let mut events = 0u64;
    loop {
        number += 1;
        if !read_line(&mut input, &mut line, MAX_CSV_LINE, &at(number))? {
            return Ok(events);
        }
        if line.trim().is_empty() {
            continue;
        }
        let row =
            parse_row(line.trim(), states).map_err(|e| anyhow!("{name}: line {number}: {e}"))?;
        if row.event == events {
            events += 1;
        } else if row.event + 1 != events {
            bail!(
                "{name}: line {number}: field `event`: expected {} or {events}, got {}",
                events.saturating_sub(1),
                row.event
            );
        }
        each(row)?;
    }
}

/// Checks a CSV op stream against the workload `spec` without writing anything: every row
/// parsed and fitting the workload's states, events in order. Returns the number of events.
pub fn check_csv(input: impl BufRead, name: &str, spec: &WorkloadSpec) -> Result<u64> {
    read_rows(input, name, &spec.layout(), |_| Ok(()))
}

/// Imports a CSV op stream into a trace; `spec` supplies the states and settings (its `events`
/// is replaced by the CSV's event count).
pub fn import_csv(csv: &Path, spec: &WorkloadSpec, trace: &Path) -> Result<TraceSummary> {
    let name = csv.display().to_string();
    let open = || -> Result<BufReader<File>> {
        Ok(BufReader::new(
            File::open(csv).with_context(|| format!("cannot open {name}"))?,
        ))
    };
    // First pass: validate every row and count events, so the header can carry the count.
    let events = check_csv(open()?, &name, spec)?;
    ensure!(events > 0, "{name}: no ops");
    let states = spec.layout();
    let mut spec = spec.clone();
    spec.events = events;
    spec.warmup_events = spec.warmup_events.min(events - 1);
    write_atomically(trace, &spec, |writer| {
        let (mut ops, mut current, mut time) = (Vec::new(), 0u64, 0i64);
        read_rows(open()?, &name, &states, |row| {
            if row.event != current {
                writer.event(time, &ops)?;
                ops.clear();
                current = row.event;
            }
            time = row.time;
            ops.push(row.op);
            Ok(())
        })?;
        writer.event(time, &ops)
    })
}
