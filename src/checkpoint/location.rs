//! Where checkpoints are stored, as Flink's `execution.checkpointing.storage` and
//! `execution.checkpointing.dir` say, with the `s3.*` keys Flink's S3 file systems read.

use std::fmt;
use std::path::PathBuf;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// `execution.checkpointing.storage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageKind {
    /// `jobmanager` (`JobManagerCheckpointStorage`): every state handle held in the
    /// coordinator's memory, each at most [`JOBMANAGER_MAX_STATE_SIZE`] bytes.
    JobManager,
    /// `filesystem` (`FileSystemCheckpointStorage`): files under `execution.checkpointing.dir`.
    FileSystem,
}

impl StorageKind {
    /// Flink's shortcut name.
    pub fn name(self) -> &'static str {
        match self {
            StorageKind::JobManager => "jobmanager",
            StorageKind::FileSystem => "filesystem",
        }
    }
}

/// `JobManagerCheckpointStorage.DEFAULT_MAX_STATE_SIZE`: the largest state handle (one file,
/// one stream) the JobManager storage accepts. Flink 2.x has no configuration key for it.
pub const JOBMANAGER_MAX_STATE_SIZE: u64 = 5 * 1024 * 1024;

/// `execution.checkpointing.dir`: a local path or `s3://bucket/prefix`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointDir {
    /// A local directory.
    Local(PathBuf),
    /// An S3 bucket and a key prefix (without leading or trailing `/`; may be empty).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix.
        prefix: String,
    },
}

impl CheckpointDir {
    /// Parses a directory as Flink takes it: `s3://bucket/prefix` (also `s3a://`, `s3p://`),
    /// `file:///path`, or a path.
    pub fn parse(text: &str) -> Result<CheckpointDir> {
        let t = text.trim();
        let shown = crate::input::excerpt(text);
        if let Some(rest) = ["s3://", "s3a://", "s3p://"]
            .iter()
            .find_map(|scheme| t.strip_prefix(scheme))
        {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                bail!("{shown}: expected s3://bucket/prefix, with a bucket name");
            }
            return Ok(CheckpointDir::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if let Some((scheme, _)) = t.split_once("://") {
            if scheme != "file" {
                bail!("{shown}: expected a local path, file:///path or s3://bucket/prefix (statebench has no {scheme} file system)");
            }
        }
        let path = t.strip_prefix("file://").unwrap_or(t);
        if path.is_empty() {
            bail!("{shown}: expected a directory");
        }
        Ok(CheckpointDir::Local(PathBuf::from(path)))
    }
}

impl fmt::Display for CheckpointDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointDir::Local(path) => write!(f, "{}", path.display()),
            CheckpointDir::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            CheckpointDir::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// The `s3.*` keys Flink's S3 file systems read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Access {
    /// `s3.endpoint`: an S3-compatible server's URL; None for AWS.
    pub endpoint: Option<String>,
    /// `s3.access-key`; None to use the environment's credentials.
    pub access_key: Option<String>,
    /// `s3.secret-key`.
    pub secret_key: Option<String>,
    /// `s3.path.style.access`: bucket in the path rather than the host name.
    pub path_style: bool,
}

/// Where a cell's checkpoints go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageSetting {
    /// `execution.checkpointing.storage`.
    pub kind: StorageKind,
    /// `execution.checkpointing.dir`; None: statebench's work directory (file system storage),
    /// or nowhere (JobManager storage).
    pub dir: Option<CheckpointDir>,
    /// The S3 keys, used when `dir` is on S3.
    pub s3: S3Access,
}

impl Default for StorageSetting {
    /// statebench's default: file system storage in the cell's work directory.
    fn default() -> StorageSetting {
        StorageSetting {
            kind: StorageKind::FileSystem,
            dir: None,
            s3: S3Access::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_parse_as_flink_names_them() {
        assert_eq!(
            CheckpointDir::parse("s3://bucket/a/b/").unwrap(),
            CheckpointDir::S3 {
                bucket: "bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            CheckpointDir::parse("s3a://bucket").unwrap().to_string(),
            "s3://bucket"
        );
        assert_eq!(
            CheckpointDir::parse("file:///tmp/x").unwrap(),
            CheckpointDir::Local("/tmp/x".into())
        );
        assert!(CheckpointDir::parse("hdfs://nn/x").is_err());
        assert!(CheckpointDir::parse("s3:///x").is_err());
    }
}
