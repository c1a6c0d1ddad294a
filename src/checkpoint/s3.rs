//! Checkpoint files on S3 (or any S3-protocol server) through the `object_store` crate, as
//! Flink's S3 file systems write them: one object per file, files above
//! [`MULTIPART_PART_BYTES`] in a multipart upload of parts that size (Flink's
//! `s3.upload.min.part.size`, S3's own minimum). Every call blocks the calling thread on a small
//! runtime of its own, so transfer threads run requests in parallel as Flink's do.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};

use super::location::S3Access;

/// Part size of a multipart upload, and the size above which a file is uploaded in parts.
pub const MULTIPART_PART_BYTES: usize = 5 * 1024 * 1024;

/// Requests a transfer made and the bytes it moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requests {
    /// Requests sent (a multipart upload counts its create, each part and its completion).
    pub count: u64,
    /// Payload bytes sent or received.
    pub bytes: u64,
}

impl Requests {
    /// Adds another transfer's requests.
    pub fn add(&mut self, other: Requests) {
        self.count += other.count;
        self.bytes += other.bytes;
    }
}

/// A bucket and key prefix on an S3-protocol server.
#[derive(Debug)]
pub struct S3Bucket {
    store: AmazonS3,
    runtime: tokio::runtime::Runtime,
    bucket: String,
    prefix: String,
}

impl S3Bucket {
    /// Connects to `bucket` with the `s3.*` keys; keys are put under `prefix`. Requests that fail
    /// are retried twice within 10 s (a checkpoint has its own timeout above this).
    pub fn connect(bucket: &str, prefix: &str, access: &S3Access) -> Result<S3Bucket> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_virtual_hosted_style_request(!access.path_style)
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 2,
                retry_timeout: Duration::from_secs(10),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(60)),
            );
        if let Some(endpoint) = &access.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(key) = &access.access_key {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &access.secret_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder
            .build()
            .with_context(|| format!("cannot use S3 bucket {bucket}"))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("s3-io")
            .enable_all()
            .build()
            .context("cannot start the S3 client's runtime")?;
        Ok(S3Bucket {
            store,
            runtime,
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// The object key of `name` (a `/`-separated path under the prefix).
    fn key(&self, name: &str) -> ObjectPath {
        match self.prefix.is_empty() {
            true => ObjectPath::from(name),
            false => ObjectPath::from(format!("{}/{name}", self.prefix)),
        }
    }

    /// `s3://bucket/prefix/name`, for messages and the report.
    pub fn url(&self, name: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(name))
    }

    /// Uploads a local file as object `name`: one PUT, or a multipart upload for large files.
    pub fn upload(&self, from: &Path, name: &str) -> Result<Requests> {
        let key = self.key(name);
        let context = || format!("cannot upload {} to {}", from.display(), self.url(name));
        let mut file = File::open(from).with_context(context)?;
        let size = file.metadata().with_context(context)?.len();
        if size <= MULTIPART_PART_BYTES as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            file.read_to_end(&mut bytes).with_context(context)?;
            self.runtime
                .block_on(self.store.put(&key, PutPayload::from(bytes)))
                .with_context(context)?;
            return Ok(Requests {
                count: 1,
                bytes: size,
            });
        }
        self.runtime.block_on(async {
            let mut upload = self.store.put_multipart(&key).await.with_context(context)?;
            let mut requests = Requests { count: 2, bytes: 0 };
            let sent: Result<()> = async {
                loop {
                    let mut part = vec![0u8; MULTIPART_PART_BYTES];
                    let n = read_full(&mut file, &mut part).with_context(context)?;
                    if n == 0 {
                        return Ok(());
                    }
                    part.truncate(n);
                    upload
                        .put_part(PutPayload::from(part))
                        .await
                        .with_context(context)?;
                    requests.add(Requests {
                        count: 1,
                        bytes: n as u64,
                    });
                }
            }
            .await;
            match sent {
                Ok(()) => {
                    upload.complete().await.with_context(context)?;
                    Ok(requests)
                }
                Err(e) => {
                    // Parts of an upload never completed are not an object; free them.
                    let _ = upload.abort().await;
                    Err(e)
                }
            }
        })
    }

    /// Writes a small object whole (one PUT: S3 makes it visible whole or not at all).
    pub fn put(&self, name: &str, bytes: Vec<u8>) -> Result<Requests> {
        let size = bytes.len() as u64;
        self.runtime
            .block_on(self.store.put(&self.key(name), PutPayload::from(bytes)))
            .with_context(|| format!("cannot write {}", self.url(name)))?;
        Ok(Requests {
            count: 1,
            bytes: size,
        })
    }

    /// Downloads object `name` into a new local file `to`.
    pub fn download(&self, name: &str, to: &Path) -> Result<Requests> {
        let context = || format!("cannot download {} to {}", self.url(name), to.display());
        let bytes = self.runtime.block_on(async {
            self.store
                .get(&self.key(name))
                .await
                .with_context(context)?
                .bytes()
                .await
                .with_context(context)
        })?;
        let mut file = File::create(to).with_context(context)?;
        file.write_all(&bytes).with_context(context)?;
        Ok(Requests {
            count: 1,
            bytes: bytes.len() as u64,
        })
    }

    /// Deletes object `name` (deleting an absent object is no error in S3).
    pub fn delete(&self, name: &str) -> Result<()> {
        self.runtime
            .block_on(self.store.delete(&self.key(name)))
            .with_context(|| format!("cannot delete {}", self.url(name)))
    }

    /// Names (relative to the prefix) of the objects directly under `dir`.
    pub fn list(&self, dir: &str) -> Result<Vec<String>> {
        let listed = self
            .runtime
            .block_on(self.store.list_with_delimiter(Some(&self.key(dir))))
            .with_context(|| format!("cannot list {}", self.url(dir)))?;
        let strip = match self.prefix.is_empty() {
            true => String::new(),
            false => format!("{}/", self.prefix),
        };
        Ok(listed
            .objects
            .into_iter()
            .map(|o| {
                let key = o.location.to_string();
                key.strip_prefix(&strip).unwrap_or(&key).to_string()
            })
            .collect())
    }
}

/// Reads until `buffer` is full or the input ends; returns the bytes read.
fn read_full(input: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
