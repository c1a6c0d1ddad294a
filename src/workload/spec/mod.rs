//! The workload file: what a user writes to describe an operator's keyed state, read with serde
//! and checked before anything runs, so that a mistake is reported against the file and never
//! surfaces as a wrong benchmark. One file per part of the document; each part checks its own
//! fields and reports through `field_path::FieldPath`, so every error names file, field and expectation.
//!
//! Nothing here depends on the rest of the workload module: generation, models and traces all
//! read the spec, never the other way round.

mod field_path;
mod keys;
mod operator;
mod state;
mod stream;
mod value_size;
mod workload;

pub use keys::{KeyDistribution, KeySpec};
pub(crate) use operator::WINDOW_JOIN_AGGREGATION;
pub use operator::{
    Aggregation, DedupState, OperatorSpec, YcsbWorkload, MAX_WINDOWS_PER_ELEMENT, MAX_YCSB_FIELDS,
    MAX_YCSB_SCAN,
};
pub use state::{MapMix, StateKind, StateSpec, TtlSpec, TtlUpdate};
pub use stream::{GapDistribution, StreamSpec, MAX_EVENT_TIME_MS, MAX_SPAN_MS};
pub use value_size::{ValueSize, MAX_VALUE_BYTES};
pub use workload::{WorkloadSpec, SPEC_VERSION};
