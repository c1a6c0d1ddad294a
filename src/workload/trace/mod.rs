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
use crate::workload::spec::WorkloadSpec;

pub use csv::{export_csv, import_csv};
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
