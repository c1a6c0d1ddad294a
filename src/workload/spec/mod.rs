//! The workload file.

mod operator;
mod workload;

pub use operator::{Aggregation, DedupState, OperatorSpec, YcsbWorkload};
pub use workload::{
    GapDistribution, KeyDistribution, KeySpec, MapMix, StateKind, StateSpec, StreamSpec, TtlSpec,
    TtlUpdate, ValueSize, WorkloadSpec, MAX_VALUE_BYTES, SPEC_VERSION,
};
