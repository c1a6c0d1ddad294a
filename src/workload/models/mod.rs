//! The operator models, one file each: what one Flink operator does to its keyed state per
//! event. Every model builds on the generation primitives (`generation/`) and knows nothing of
//! the others or of the generator that picks it; `window_state.rs` holds what the window
//! operators share. A new model is a new file here plus its arm in the generator's dispatch.

mod continuous_aggregation;
mod dedup;
mod join;
mod keyed;
mod session;
mod window;
mod window_state;
mod ycsb;

pub(crate) use continuous_aggregation::ContinuousAggregation;
pub(crate) use dedup::Dedup;
pub(crate) use join::IntervalJoin;
pub(crate) use keyed::KeyedMix;
pub(crate) use session::SessionWindows;
pub(crate) use window::{FixedWindows, WindowOperator};
pub(crate) use ycsb::Ycsb;
