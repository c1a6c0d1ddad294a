//! Workloads: the validated workload file, the distributions it names and the generator that turns
//! it into a deterministic stream of [`StateOp`]s. Nothing here knows about backends.

mod distribution;
mod generator;
mod keyed;
mod op;
mod spec;
mod stream;
mod window;

pub use distribution::{KeyChooser, SizeChooser};
pub use generator::OpGenerator;
pub use op::{fill_value, Namespace, OpClass, OpKind, StateId, StateOp, ValueRef};
pub use spec::{
    Aggregation, GapDistribution, KeyDistribution, KeySpec, MapMix, OperatorSpec, StateKind,
    StateSpec, StreamSpec, ValueSize, WorkloadSpec, SPEC_VERSION, WINDOW_CONTENTS, WINDOW_TIMERS,
};
