//! Running cells: which cells to run and with what (the plan), the replay loop of one cell, running
//! cells into a run directory, and the directory's name; the work directory's lock, interruption
//! and resuming.

mod cell;
mod coordinator;
pub mod interrupt;
mod matrix;
mod max_rate;
mod output;
mod plan;
mod replay;
pub mod resume;
pub mod workdir;

pub use cell::{run_cell, Cell, CellOptions, CellPaths, OpInput};
pub use matrix::{resume_cells, run_cells, RunOptions, RunSummary};
pub use max_rate::RateSearch;
pub use output::{run_directory, utc_now_rfc3339};
pub use plan::{Plan, RocksDbRow, DEFAULT_INTERVAL};
pub use replay::{replay_only, Pacing, ReplayOnly};
