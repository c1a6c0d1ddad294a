//! Running cells: the replay loop of one cell, the matrix of cells, and the run directory; the
//! work directory's lock, interruption and resuming.

mod cell;
mod coordinator;
pub mod interrupt;
mod matrix;
mod output;
pub mod resume;
pub mod workdir;

pub use cell::{run_cell, Cell, CellPaths, OpInput};
pub use matrix::{
    matrix_cells, predefined_configs, resume_cells, run_cells, RunOptions, RunSummary,
    DEFAULT_INTERVAL,
};
pub use output::{run_directory, utc_now_rfc3339};
