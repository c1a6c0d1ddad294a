//! Workloads: the validated workload file, the distributions it names and the generator that turns
//! it into a deterministic stream of [`StateOp`]s. Nothing here knows about backends.

mod dedup;
mod distribution;
mod generator;
mod join;
mod keyed;
mod op;
mod operator;
mod session;
mod source;
mod spec;
mod stream;
mod timers;
pub mod trace;
mod window;
mod ycsb;

pub use distribution::{KeyChooser, SizeChooser};
pub use generator::OpGenerator;
use generator::OperatorModel;
pub use op::{fill_value, Namespace, OpClass, OpKind, StateId, StateOp, ValueRef};
pub use operator::{Aggregation, DedupState, OperatorSpec, YcsbWorkload};
pub use source::OpSource;
pub use spec::{
    GapDistribution, KeyDistribution, KeySpec, MapMix, StateKind, StateSpec, StreamSpec, TtlSpec,
    TtlUpdate, ValueSize, WorkloadSpec, SPEC_VERSION,
};
