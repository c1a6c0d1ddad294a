//! Running cells: which cells to run and with what (the plan), the replay loop of one cell, running
//! cells into a run directory, and the directory's name.

mod cell;
mod coordinator;
mod matrix;
mod output;
mod plan;

pub use cell::{run_cell, Cell, CellOptions, CellPaths, OpInput};
pub use matrix::{run_cells, RunOptions, RunSummary};
pub use output::{run_directory, utc_now_rfc3339};
pub use plan::{Plan, RocksDbRow, DEFAULT_INTERVAL};
