//! Generation primitives: what every operator model draws from and builds on. The key and
//! value-size distributions, the random draws of one workload, the event-time stream with its
//! watermarks, a model's timer queue, and the traits a model implements. Models (`models/`)
//! import these; nothing here knows any particular model.

mod distribution;
mod draws;
mod model;
mod stream;
mod timers;
mod zipf;

pub use distribution::{KeyChooser, SizeChooser};
pub(crate) use draws::Draws;
pub(crate) use model::{EventTimeModel, EventTimeOperator, OperatorModel};
pub(crate) use stream::{Event, EventStream};
pub(crate) use timers::TimerQueue;
