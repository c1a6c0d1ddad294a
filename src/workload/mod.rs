//! Workloads: the validated workload file, the distributions it names and the generator that turns
//! it into a deterministic stream of [`StateOp`]s. Nothing here knows about backends.

mod distribution;
mod generator;
mod op;
mod spec;

pub use distribution::{KeyChooser, SizeChooser};
pub use generator::OpGenerator;
pub use op::{fill_value, Namespace, OpClass, OpKind, StateId, StateOp, ValueRef};
pub use spec::{
    KeyDistribution, KeySpec, MapMix, StateKind, StateSpec, ValueSize, WorkloadSpec, SPEC_VERSION,
};
