//! What checkpoints are, below the backends that take them and the coordinator that triggers
//! them: settings and modes, where checkpoints are stored (`chk-N/`, `shared/`) and the handles
//! and upload results that describe them, and the full-snapshot stream format. Nothing here
//! knows a backend or a run.

mod settings;
mod storage;
pub mod stream;

pub use settings::{
    parse_duration, parse_interval, CheckpointMode, CheckpointSetting, MAX_DURATION, MIN_INTERVAL,
};
pub use storage::{CheckpointHandle, CheckpointStore, CheckpointTarget, UploadResult};
