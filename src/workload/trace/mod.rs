//! Traces: an op stream recorded once and replayed into every cell, so every backend sees exactly
//! the same ops; also the way to replay op streams captured elsewhere (through the CSV form).
//!
//! The format depends on the op types and the workload it embeds, never on how ops are made:
//! `codec.rs` the bytes of the binary format, `writer.rs` and `reader.rs` the files, `csv.rs`
//! the CSV form. Only [`record`] here ties a trace to the generator.

mod codec;
mod csv;
mod reader;
mod writer;

use std::path::Path;

use anyhow::Result;

use crate::workload::generator::OpGenerator;
use crate::workload::op::{OpClass, StateOp};
use crate::workload::spec::{StateKind, WorkloadSpec, MAX_VALUE_BYTES};

pub use csv::{check_csv, export_csv, import_csv};
pub use reader::{is_trace, TraceReader};
pub use writer::TraceSummary;

/// Records the op stream of `spec` into a trace at `path`.
pub fn record(spec: &WorkloadSpec, path: &Path) -> Result<TraceSummary> {
    writer::write_atomically(path, spec, |writer| {
        let mut generator = OpGenerator::new(spec)?;
        let mut ops = Vec::new();
        while generator.next_event(&mut ops) {
            writer.event(generator.event_time(), &ops)?;
        }
        Ok(())
    })
}

/// Checks that `op` fits the workload whose states are `states` (in state-id order): its state
/// exists, its kind is one that state's kind takes (no `map.put` on a value state), and a value
/// it writes is at most [`MAX_VALUE_BYTES`] long, the workload's own cap. The error says what
/// is wrong; the caller adds where (file and position).
pub(crate) fn check_op(op: &StateOp, states: &[(String, StateKind)]) -> Result<(), String> {
    let Some((name, kind)) = states.get(op.state as usize) else {
        return Err(format!(
            "state {} does not exist (the workload has {})",
            op.state,
            states.len()
        ));
    };
    let class = op.kind.class();
    let expected = match class {
        OpClass::ValueGet | OpClass::ValuePut | OpClass::ValueClear => StateKind::Value,
        OpClass::ListGet | OpClass::ListAdd | OpClass::ListUpdate | OpClass::ListClear => {
            StateKind::List
        }
        OpClass::MapGet
        | OpClass::MapPut
        | OpClass::MapContains
        | OpClass::MapRemove
        | OpClass::MapIterate
        | OpClass::MapClear => StateKind::Map,
        OpClass::TimerRegister | OpClass::TimerDelete => StateKind::Timer,
    };
    if expected != *kind {
        return Err(format!(
            "{} on state {} ({name:?}), which is {kind:?} state",
            class.name(),
            op.state
        ));
    }
    match op.kind.value() {
        Some(v) if v.len > MAX_VALUE_BYTES => Err(format!(
            "value length {} exceeds the limit of {MAX_VALUE_BYTES} bytes",
            v.len
        )),
        _ => Ok(()),
    }
}
