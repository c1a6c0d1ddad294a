//! Workloads: the validated workload file, the distributions it names and the generator that turns
//! it into a deterministic stream of [`StateOp`]s, or a trace that replays one. Nothing here
//! knows about backends.
//!
//! The parts depend on each other in one direction only, so each can be read and changed on its
//! own: `op.rs` (the op types) and `spec/` (the workload file) depend on nothing else here;
//! `generation/` (distributions, draws, event-time stream, the model traits) reads the spec;
//! `models/` (one file per operator model) builds on generation; `generator.rs` picks a model
//! for a spec and drives it; `trace/` stores op streams and reads them back through the
//! [`OpSource`] of `source.rs`. The files inside import what they use from where it is defined,
//! never from this module, which only re-exports the public API.

mod generation;
mod generator;
mod models;
mod op;
mod source;
mod spec;
pub mod trace;

pub use generation::{KeyChooser, SizeChooser};
pub use generator::OpGenerator;
pub(crate) use op::splitmix64;
pub use op::{
    append_value, append_values, fill_value, write_value, Namespace, OpClass, OpKind, StateId,
    StateOp, ValueRef,
};
pub use source::{EventBatch, OpSource};
pub use spec::{
    Aggregation, DedupState, GapDistribution, KeyDistribution, KeySpec, MapMix, OperatorSpec,
    StateKind, StateSpec, StreamSpec, TtlSpec, TtlUpdate, ValueSize, WorkloadSpec, YcsbWorkload,
    MAX_EVENT_TIME_MS, MAX_SPAN_MS, MAX_VALUE_BYTES, MAX_WINDOWS_PER_ELEMENT, MAX_YCSB_FIELDS,
    MAX_YCSB_SCAN, SPEC_VERSION,
};
