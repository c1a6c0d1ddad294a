//! What checkpoints are, below the backends that take them and the coordinator that triggers
//! them: settings and modes, where checkpoints are stored (`chk-N/`, `shared/`) and the handles
//! and upload results that describe them, the transfer of files into and out of storage, and the
//! full-snapshot stream format (the canonical savepoint format). Nothing here knows a backend or
//! a run.

mod location;
mod s3;
mod settings;
mod storage;
pub mod stream;
mod transfer;

pub use location::{
    CheckpointDir, S3Access, StorageKind, StorageSetting, JOBMANAGER_MAX_STATE_SIZE,
};
pub use s3::{Requests, S3Bucket, MULTIPART_PART_BYTES};
pub use settings::{
    parse_duration, parse_interval, CheckpointMode, CheckpointSetting, Retention, DEFAULT_TIMEOUT,
    MAX_DURATION, MIN_INTERVAL,
};
pub use storage::{
    remove_dir_if_present, CheckpointHandle, CheckpointStore, CheckpointTarget, SnapshotFormat,
    UploadResult,
};
pub use transfer::{link, transfer, transfer_threads, FileCopy, DEFAULT_TRANSFER_THREADS};
