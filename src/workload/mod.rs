//! Workloads: the validated workload file, the distributions it names and the generator that turns
//! it into a deterministic stream of [`StateOp`]s. Nothing here knows about backends.

mod generation;
mod generator;
mod models;
mod op;
mod source;
mod spec;
pub mod trace;

pub use generation::distribution::{KeyChooser, SizeChooser};
pub use generator::OpGenerator;
pub use op::{fill_value, Namespace, OpClass, OpKind, StateId, StateOp, ValueRef};
pub use source::OpSource;
pub use spec::{
    Aggregation, DedupState, GapDistribution, KeyDistribution, KeySpec, MapMix, OperatorSpec,
    StateKind, StateSpec, StreamSpec, TtlSpec, TtlUpdate, ValueSize, WorkloadSpec, YcsbWorkload,
    SPEC_VERSION,
};
