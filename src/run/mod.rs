//! Running cells: the replay loop of one cell, the matrix of cells, and the run directory.

mod cell;
mod coordinator;
mod matrix;
mod output;

pub use cell::{replay_only, run_cell, Cell, CellPaths, OpInput, ReplayOnly};
pub use matrix::{
    matrix_cells, predefined_configs, run_cells, RunOptions, RunSummary, DEFAULT_INTERVAL,
};
pub use output::{run_directory, utc_now_rfc3339};
