//! Triggers checkpoints during a run as Flink's checkpoint coordinator does (fixed interval, one
//! at a time, min pause, N retained), runs each checkpoint's synchronous phase on the operator
//! thread and its asynchronous phase on a checkpoint thread while the operator thread goes on.
//!
//! Like Flink's `CheckpointCoordinator` it sits above the state backends: it drives a
//! [`Backend`] through its snapshot phases and completes, retains and subsumes checkpoints in
//! the [`CheckpointStore`] below them, and takes savepoints.
//!
//! Nothing is held for verification unless every checkpoint is to be verified: then each
//! checkpoint's sync phase is followed by a view of the state (a RocksDB snapshot, heap map snapshots)
//! held until the checkpoint thread has restored the checkpoint and compared the two, which
//! perturbs what is measured (pinned rows, copy-on-write, a restore competing with the run).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::backend::{AsyncPhase, Backend, StateView};
use crate::checkpoint::{
    CheckpointHandle, CheckpointMode, CheckpointSetting, CheckpointStore, CheckpointTarget,
    SnapshotFormat, UploadResult,
};
use crate::results::CheckpointRecord;

/// Work for the checkpoint thread.
enum Job {
    Upload(CheckpointTarget, AsyncPhase),
    Discard(CheckpointHandle, Vec<CheckpointHandle>),
    /// Restores a completed checkpoint and compares it with the view taken at its sync phase.
    Verify(CheckpointHandle, Box<dyn StateView>),
}

/// What the checkpoint thread reports back.
enum Done {
    Uploaded(Result<UploadResult>, Duration),
    Discarded(Result<()>),
    /// Checkpoint id and whether its restore equalled its view.
    Verified(u64, Result<bool>),
}

/// Restores a checkpoint and tells whether it equals the view; run on the checkpoint thread.
pub type Verifier = Box<dyn Fn(&CheckpointHandle, &dyn StateView) -> Result<bool> + Send>;

/// The checkpoint thread and its channels.
struct Worker {
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    ready: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the checkpoint thread, verifying checkpoints with `verifier` if one is given.
    fn start(verifier: Option<Verifier>) -> Result<Worker> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel();
        let ready = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ready);
        let thread = thread::Builder::new()
            .name("checkpoint-async".into())
            .spawn(move || {
                for job in job_rx {
                    let report = match job {
                        Job::Upload(target, phase) => {
                            let start = Instant::now();
                            let result = phase(&target);
                            Done::Uploaded(result, start.elapsed())
                        }
                        Job::Discard(old, retained) => {
                            Done::Discarded(CheckpointStore::discard_handle(&old, &retained))
                        }
                        Job::Verify(handle, view) => {
                            let verified = match &verifier {
                                Some(verify) => verify(&handle, view.as_ref()),
                                None => Err(anyhow!("no verifier")),
                            };
                            Done::Verified(handle.id, verified)
                        }
                    };
                    if done_tx.send(report).is_err() {
                        return;
                    }
                    flag.store(true, Ordering::Release);
                }
            })
            .context("cannot start the checkpoint thread")?;
        Ok(Worker {
            jobs: Some(jobs),
            done,
            ready,
            thread: Some(thread),
        })
    }

    /// Queues a job for the checkpoint thread.
    fn send(&self, job: Job) -> Result<()> {
        self.jobs
            .as_ref()
            .and_then(|j| j.send(job).ok())
            .ok_or_else(|| anyhow!("the checkpoint thread has stopped"))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A checkpoint whose async phase is running.
struct InFlight {
    target: CheckpointTarget,
    record: CheckpointRecord,
    /// The state it captured, when every checkpoint is verified.
    view: Option<Box<dyn StateView>>,
}

/// Drives the checkpoints of one cell.
pub struct Coordinator {
    setting: CheckpointSetting,
    store: CheckpointStore,
    worker: Worker,
    epoch: Instant,
    next_id: u64,
    next_trigger: Instant,
    in_flight: Option<InFlight>,
    retained: Vec<CheckpointHandle>,
    /// Discards and verifications queued on the checkpoint thread and not yet reported.
    pending: usize,
    verify_every: bool,
    records: Vec<CheckpointRecord>,
}

impl Coordinator {
    /// A coordinator storing checkpoints under `storage`; the first trigger is one interval from
    /// now. With a `verifier`, every checkpoint is verified (see the module's documentation).
    pub fn new(
        setting: CheckpointSetting,
        storage: &Path,
        verifier: Option<Verifier>,
    ) -> Result<Coordinator> {
        let now = Instant::now();
        Ok(Coordinator {
            setting,
            store: CheckpointStore::new(storage)?,
            verify_every: verifier.is_some(),
            worker: Worker::start(verifier)?,
            epoch: now,
            next_id: 1,
            next_trigger: now + setting.interval,
            in_flight: None,
            retained: Vec::new(),
            pending: 0,
            records: Vec::new(),
        })
    }

    /// Sets the instant that checkpoint times in records are relative to (end of warm-up).
    pub fn set_epoch(&mut self, epoch: Instant) {
        self.epoch = epoch;
    }

    /// Called between events: completes a finished checkpoint, and triggers one when due (its
    /// synchronous phase runs now, on the caller's thread).
    pub fn poll(&mut self, now: Instant, backend: &mut dyn Backend) -> Result<()> {
        if self.setting.mode == CheckpointMode::None {
            return Ok(());
        }
        if self.worker.ready.load(Ordering::Acquire) {
            self.collect(false)?;
        }
        if self.in_flight.is_none() && now >= self.next_trigger {
            self.trigger(now, backend, false)?;
        }
        Ok(())
    }

    /// Ends the run as Flink ends a bounded job: waits for the running checkpoint, takes a final
    /// one, waits for it and for pending clean-up and verification.
    pub fn finish(&mut self, backend: &mut dyn Backend) -> Result<()> {
        if self.setting.mode == CheckpointMode::None {
            return Ok(());
        }
        while self.in_flight.is_some() {
            self.collect(true)?;
        }
        self.trigger(Instant::now(), backend, true)?;
        while self.in_flight.is_some() || self.pending > 0 {
            self.collect(true)?;
        }
        Ok(())
    }

    /// Every completed checkpoint, in order.
    pub fn records(&self) -> &[CheckpointRecord] {
        &self.records
    }

    /// The last completed checkpoint.
    pub fn last(&self) -> Option<&CheckpointHandle> {
        self.retained.last()
    }

    /// Takes a canonical savepoint, as a stop-with-savepoint at the end of input does: waits for
    /// a running checkpoint, then runs both phases here, since no ops run any more. It gets the
    /// next checkpoint id but is neither retained nor subsumed.
    pub fn savepoint(
        &mut self,
        backend: &mut dyn Backend,
    ) -> Result<(CheckpointRecord, CheckpointHandle)> {
        while self.in_flight.is_some() {
            self.collect(true)?;
        }
        let id = self.next_id;
        self.next_id += 1;
        let target = self.store.savepoint_target(id)?;
        let triggered = Instant::now();
        let async_phase = backend
            .savepoint()
            .with_context(|| format!("savepoint {id}: synchronous phase failed"))?;
        let sync_time = triggered.elapsed();
        let start = Instant::now();
        let upload = async_phase(&target)
            .with_context(|| format!("savepoint {id}: asynchronous phase failed"))?;
        let took = start.elapsed();
        anyhow::ensure!(
            upload.format == SnapshotFormat::Canonical,
            "savepoint {id} is not in the canonical format"
        );
        let handle = self.store.complete(&target, &upload)?;
        let mut record = CheckpointRecord {
            id,
            triggered_s: signed_seconds(self.epoch, triggered),
            sync_ms: sync_time.as_secs_f64() * 1e3,
            is_final: true,
            ..CheckpointRecord::default()
        };
        record_upload(&mut record, &upload, took);
        Ok((record, handle))
    }

    /// Takes checkpoint `next_id`: runs the synchronous phase here, timed into the checkpoint's
    /// record, and hands the asynchronous phase to the checkpoint thread.
    fn trigger(&mut self, now: Instant, backend: &mut dyn Backend, is_final: bool) -> Result<()> {
        let id = self.next_id;
        self.next_id += 1;
        let reusable: Arc<BTreeMap<String, u64>> = Arc::new(
            self.retained
                .last()
                .map(|h| h.shared.clone())
                .unwrap_or_default(),
        );
        let target = self.store.target(id, reusable)?;
        let start = Instant::now();
        let async_phase = backend
            .snapshot(self.setting.mode, &target)
            .with_context(|| format!("checkpoint {id}: synchronous phase failed"))?;
        let sync_time = start.elapsed();
        // Outside the timed sync phase, but on the operator thread: ops wait for it too.
        let view = match self.verify_every {
            true => Some(backend.view()?),
            false => None,
        };
        let record = CheckpointRecord {
            id,
            triggered_s: signed_seconds(self.epoch, now),
            sync_ms: sync_time.as_secs_f64() * 1e3,
            is_final,
            ..CheckpointRecord::default()
        };
        self.worker.send(Job::Upload(target.clone(), async_phase))?;
        self.in_flight = Some(InFlight {
            target,
            record,
            view,
        });
        // Fixed rate from the last trigger, but never sooner than min pause after completion
        // (applied in `complete`).
        self.next_trigger = now + self.setting.interval;
        Ok(())
    }

    /// Handles reports from the checkpoint thread; with `block`, waits for at least one.
    fn collect(&mut self, block: bool) -> Result<()> {
        self.worker.ready.store(false, Ordering::Release);
        let mut first = block;
        loop {
            let report = if first {
                first = false;
                match self.worker.done.recv() {
                    Ok(r) => r,
                    Err(_) => bail!("the checkpoint thread has stopped"),
                }
            } else {
                match self.worker.done.try_recv() {
                    Ok(r) => r,
                    Err(_) => return Ok(()),
                }
            };
            match report {
                Done::Uploaded(result, took) => self.complete(result, took)?,
                Done::Discarded(result) => {
                    self.pending -= 1;
                    result.context("discarding a subsumed checkpoint failed")?;
                }
                Done::Verified(id, result) => {
                    self.pending -= 1;
                    let verified =
                        result.with_context(|| format!("verifying checkpoint {id} failed"))?;
                    if let Some(record) = self.records.iter_mut().find(|r| r.id == id) {
                        record.verified = Some(verified);
                    }
                }
            }
        }
    }

    /// Completes the checkpoint in flight once its async phase has reported: seals it in the
    /// store, records it, has it verified if every checkpoint is, and subsumes what is no longer
    /// retained.
    fn complete(&mut self, result: Result<UploadResult>, took: Duration) -> Result<()> {
        let InFlight {
            target,
            mut record,
            view,
        } = self
            .in_flight
            .take()
            .ok_or_else(|| anyhow!("checkpoint thread reported an upload nobody started"))?;
        // Flink's default tolerable-failed-checkpoints is 0: a failed checkpoint fails the job.
        let upload = result.with_context(|| {
            format!(
                "checkpoint {}: asynchronous phase failed writing into {}",
                target.id,
                target.dir.display()
            )
        })?;
        let handle = self.store.complete(&target, &upload)?;
        record_upload(&mut record, &upload, took);
        self.records.push(record);
        // Queued before any discard of this checkpoint: the thread runs jobs in order.
        if let Some(view) = view {
            self.worker.send(Job::Verify(handle.clone(), view))?;
            self.pending += 1;
        }
        self.retained.push(handle);
        while self.retained.len() > self.setting.retained.max(1) {
            let old = self.retained.remove(0);
            self.worker.send(Job::Discard(old, self.retained.clone()))?;
            self.pending += 1;
        }
        self.next_trigger = self
            .next_trigger
            .max(Instant::now() + self.setting.min_pause);
        Ok(())
    }
}

/// Fills in what an async phase that took `took` wrote.
fn record_upload(record: &mut CheckpointRecord, upload: &UploadResult, took: Duration) {
    record.async_ms = took.as_secs_f64() * 1e3;
    record.bytes_written = upload.bytes_written();
    record.size_bytes = upload.size();
    record.files_written = (upload.private.len() + upload.shared_written.len()) as u64;
    record.files_reused = (upload.shared.len() - upload.shared_written.len()) as u64;
}

/// Seconds from `epoch` to `t`, negative when `t` is earlier (a checkpoint during warm-up).
fn signed_seconds(epoch: Instant, t: Instant) -> f64 {
    if t >= epoch {
        (t - epoch).as_secs_f64()
    } else {
        -(epoch - t).as_secs_f64()
    }
}
