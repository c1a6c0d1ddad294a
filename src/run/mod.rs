//! Running cells: which cells to run and with what (the plan), the replay loop of one cell, running
//! cells into a run directory (each repeat in a child process, in a seeded interleaved order),
//! and the directory's name; the work directory's lock, interruption and resuming.

mod cell;
pub mod container;
mod coordinator;
pub mod interrupt;
mod matrix;
mod max_rate;
mod order;
mod output;
mod page_cache;
mod plan;
pub mod repeat;
mod replay;
pub mod resume;
pub mod slots;
pub mod workdir;

pub use cell::{run_cell, Cell, CellOptions, CellPaths, OpInput, MAX_EXTENSION};
pub use matrix::{resume_cells, run_cells, RunOptions, RunSummary, DEFAULT_REPEATS};
pub use max_rate::RateSearch;
pub use order::{run_order, Slot};
pub use output::{run_directory, utc_now_rfc3339};
pub use plan::{Plan, RocksDbRow, DEFAULT_INTERVAL};
pub use replay::{replay_only, Pacing, ReplayOnly};
