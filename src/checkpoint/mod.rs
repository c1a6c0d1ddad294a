//! What checkpoints are, below the backends that take them and the coordinator that triggers
//! them: settings and modes, where checkpoints are stored (`chk-N/`, `shared/`) and the handles
//! and upload results that describe them, the transfer of files into and out of storage, and the
//! full-snapshot stream format (the canonical savepoint format). Nothing here knows a backend or
//! a run.

mod settings;
mod storage;
pub mod stream;
mod transfer;

pub use settings::{
    parse_duration, parse_interval, CheckpointMode, CheckpointSetting, MAX_DURATION, MIN_INTERVAL,
};
pub use storage::{
    CheckpointHandle, CheckpointStore, CheckpointTarget, SnapshotFormat, UploadResult,
};
pub use transfer::{transfer, transfer_threads, FileCopy, DEFAULT_TRANSFER_THREADS};
