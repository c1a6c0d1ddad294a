//! Triggers checkpoints during a run as Flink's `CheckpointCoordinator` does: fixed interval, at
//! most `max-concurrent-checkpoints` in flight, min pause after a completion, a timeout after
//! which a checkpoint expires, `tolerable-failed-checkpoints` consecutive failures before the job
//! fails (`CheckpointFailureManager`), N retained. Each checkpoint's synchronous phase runs on
//! the operator thread, its asynchronous phase (and the upload into checkpoint storage) on a
//! thread of its own while the operator thread goes on.
//!
//! Like Flink's `CheckpointCoordinator` it sits above the state backends: it drives a
//! [`Backend`] through its snapshot phases and completes, retains and subsumes checkpoints in
//! the [`CheckpointStore`] below them, and takes savepoints.
//!
//! Nothing is held for verification unless every checkpoint is to be verified: then each
//! checkpoint's sync phase is followed by a view of the state (a RocksDB snapshot, heap map snapshots)
//! held until the checkpoint thread has restored the checkpoint and compared the two, which
//! perturbs what is measured (pinned rows, copy-on-write, a restore competing with the run).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::backend::{AsyncPhase, Backend, StateView};
use crate::checkpoint::{
    CheckpointHandle, CheckpointMode, CheckpointSetting, CheckpointStore, CheckpointTarget,
    Requests, SnapshotFormat, UploadResult,
};
use crate::results::{CheckpointRecord, FailedCheckpoint};

/// Flink's `CheckpointFailureManager.EXCEEDED_CHECKPOINT_TOLERABLE_FAILURE_MESSAGE`.
pub const TOLERABLE_FAILURES_EXCEEDED: &str = "Exceeded checkpoint tolerable failure threshold.";
/// Flink's `CheckpointFailureReason.CHECKPOINT_EXPIRED` message.
pub const CHECKPOINT_EXPIRED: &str = "Checkpoint expired before completing.";

/// Work for the checkpoint thread.
enum Job {
    Discard(CheckpointHandle, Vec<CheckpointHandle>),
    /// Restores a completed checkpoint and compares it with the view taken at its sync phase.
    Verify(CheckpointHandle, Box<dyn StateView>),
    /// Removes what a failed checkpoint wrote into its directory; with the shared files still
    /// referenced, sweeps the other shared files too.
    Abort(PathBuf, Option<BTreeSet<String>>),
}

/// What the checkpoint thread and the async phases report back.
enum Done {
    /// Checkpoint id, what its async phase wrote and stored (with the requests it took), and how
    /// long the async phase took.
    Uploaded(u64, Result<(UploadResult, Requests)>, Duration),
    Discarded(Result<()>),
    /// Checkpoint id and whether its restore equalled its view.
    Verified(u64, Result<bool>),
}

/// Restores a checkpoint (from the store) and tells whether it equals the view; run on the
/// checkpoint thread.
pub type Verifier =
    Box<dyn Fn(&CheckpointStore, &CheckpointHandle, &dyn StateView) -> Result<bool> + Send>;

/// The checkpoint thread (discards, verifications, clean-up of failed checkpoints, in order),
/// the threads of running async phases, and the channel they all report on.
struct Worker {
    jobs: Option<Sender<Job>>,
    done_tx: Sender<Done>,
    done: Receiver<Done>,
    ready: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    uploads: Vec<JoinHandle<()>>,
}

impl Worker {
    /// Starts the checkpoint thread, verifying checkpoints with `verifier` if one is given.
    fn start(store: Arc<CheckpointStore>, verifier: Option<Verifier>) -> Result<Worker> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel();
        let ready = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ready);
        let reports = done_tx.clone();
        let thread = thread::Builder::new()
            .name("checkpoint-async".into())
            .spawn(move || {
                for job in job_rx {
                    let report = match job {
                        Job::Discard(old, retained) => {
                            Done::Discarded(store.discard(&old, &retained))
                        }
                        Job::Verify(handle, view) => {
                            let verified = match &verifier {
                                Some(verify) => verify(&store, &handle, view.as_ref()),
                                None => Err(anyhow!("no verifier")),
                            };
                            Done::Verified(handle.id, verified)
                        }
                        Job::Abort(dir, referenced) => {
                            let cleaned = store.abort(&dir).and_then(|()| match referenced {
                                Some(referenced) => store.sweep_shared(&referenced),
                                None => Ok(()),
                            });
                            Done::Discarded(cleaned)
                        }
                    };
                    if reports.send(report).is_err() {
                        return;
                    }
                    flag.store(true, Ordering::Release);
                }
            })
            .context("cannot start the checkpoint thread")?;
        Ok(Worker {
            jobs: Some(jobs),
            done_tx,
            done,
            ready,
            thread: Some(thread),
            uploads: Vec::new(),
        })
    }

    /// Queues a job for the checkpoint thread.
    fn send(&self, job: Job) -> Result<()> {
        self.jobs
            .as_ref()
            .and_then(|j| j.send(job).ok())
            .ok_or_else(|| anyhow!("the checkpoint thread has stopped"))
    }

    /// Runs a checkpoint's async phase and its persisting into `store` on a thread of its own
    /// (Flink runs each on its task's async-operations pool), so that several checkpoints can be
    /// in flight and one that hangs can expire.
    fn upload(
        &mut self,
        store: &Arc<CheckpointStore>,
        target: CheckpointTarget,
        phase: AsyncPhase,
    ) -> Result<()> {
        let (store, done, flag) = (
            Arc::clone(store),
            self.done_tx.clone(),
            Arc::clone(&self.ready),
        );
        let id = target.id;
        self.uploads.retain(|t| !t.is_finished());
        let thread = thread::Builder::new()
            .name(format!("checkpoint-{id}"))
            .spawn(move || {
                let start = Instant::now();
                let result = phase(&target).and_then(|upload| {
                    let requests = store.persist(&target, &upload)?;
                    Ok((upload, requests))
                });
                let _ = done.send(Done::Uploaded(id, result, start.elapsed()));
                flag.store(true, Ordering::Release);
            })
            .context("cannot start a checkpoint's async phase")?;
        self.uploads.push(thread);
        Ok(())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // An async phase still running belongs to a checkpoint that expired or a cell that
        // failed: it is left to end on its own (its storage's timeouts bound it) rather than
        // holding up the run.
        for t in self.uploads.drain(..).filter(|t| t.is_finished()) {
            let _ = t.join();
        }
    }
}

/// A checkpoint whose async phase is running.
struct InFlight {
    target: CheckpointTarget,
    record: CheckpointRecord,
    triggered: Instant,
    /// The state it captured, when every checkpoint is verified.
    view: Option<Box<dyn StateView>>,
}

/// Drives the checkpoints of one cell.
pub struct Coordinator {
    setting: CheckpointSetting,
    store: Arc<CheckpointStore>,
    worker: Worker,
    epoch: Instant,
    next_id: u64,
    next_trigger: Instant,
    in_flight: BTreeMap<u64, InFlight>,
    /// Checkpoints that expired or were subsumed while their async phase still ran: cleaned up
    /// when it reports.
    abandoned: BTreeMap<u64, CheckpointTarget>,
    retained: Vec<CheckpointHandle>,
    savepoints: Vec<CheckpointHandle>,
    /// Discards, clean-ups and verifications queued on the checkpoint thread and not yet
    /// reported.
    pending: usize,
    verify_every: bool,
    records: Vec<CheckpointRecord>,
    failures: Vec<FailedCheckpoint>,
    /// `CheckpointFailureManager`'s consecutive failure count and the last completed id.
    consecutive_failures: u32,
    last_completed: u64,
    /// Whether the final checkpoint completed.
    final_completed: bool,
}

impl Coordinator {
    /// A coordinator storing checkpoints in `store`; the first trigger is one interval from now.
    /// With a `verifier`, every checkpoint is verified (see the module's documentation).
    pub fn new(
        setting: CheckpointSetting,
        store: CheckpointStore,
        verifier: Option<Verifier>,
    ) -> Result<Coordinator> {
        let now = Instant::now();
        let store = Arc::new(store);
        Ok(Coordinator {
            setting,
            verify_every: verifier.is_some(),
            worker: Worker::start(Arc::clone(&store), verifier)?,
            store,
            epoch: now,
            next_id: 1,
            next_trigger: now + setting.interval,
            in_flight: BTreeMap::new(),
            abandoned: BTreeMap::new(),
            retained: Vec::new(),
            savepoints: Vec::new(),
            pending: 0,
            records: Vec::new(),
            failures: Vec::new(),
            consecutive_failures: 0,
            last_completed: 0,
            final_completed: false,
        })
    }

    /// Sets the instant that checkpoint times in records are relative to (end of warm-up).
    pub fn set_epoch(&mut self, epoch: Instant) {
        self.epoch = epoch;
    }

    /// Called between events: completes finished checkpoints, expires those past the timeout,
    /// and triggers one when due and fewer than `max-concurrent-checkpoints` are in flight (its
    /// synchronous phase runs now, on the caller's thread).
    pub fn poll(&mut self, now: Instant, backend: &mut dyn Backend) -> Result<()> {
        if self.setting.mode == CheckpointMode::None {
            return Ok(());
        }
        if self.worker.ready.load(Ordering::Acquire) {
            self.collect(None)?;
        }
        if !self.in_flight.is_empty() {
            self.expire(now)?;
        }
        if self.in_flight.len() < self.setting.max_concurrent.max(1) && now >= self.next_trigger {
            self.trigger(now, backend, false)?;
        }
        Ok(())
    }

    /// Ends the run as Flink ends a bounded job: waits for the running checkpoints, takes a
    /// final one, waits for it and for pending clean-up and verification. A final checkpoint
    /// that fails within the tolerated failures leaves the last completed one as the latest.
    pub fn finish(&mut self, backend: &mut dyn Backend) -> Result<()> {
        if self.setting.mode == CheckpointMode::None {
            return Ok(());
        }
        self.wait_for_in_flight()?;
        self.trigger(Instant::now(), backend, true)?;
        self.wait_for_in_flight()?;
        self.wait_for_pending()
    }

    /// Waits for the checkpoint thread's queued jobs and for abandoned checkpoints' async phases
    /// that report within one checkpoint timeout; one that hangs longer (on unreachable storage)
    /// is left behind, with whatever it wrote (never a `_metadata`).
    fn wait_for_pending(&mut self) -> Result<()> {
        let deadline = Instant::now() + self.setting.timeout;
        while self.pending > 0 || (!self.abandoned.is_empty() && Instant::now() < deadline) {
            self.collect(Some(Duration::from_millis(100)))?;
        }
        Ok(())
    }

    /// Waits until no checkpoint is in flight (completed, failed or expired).
    fn wait_for_in_flight(&mut self) -> Result<()> {
        while !self.in_flight.is_empty() {
            let deadline = self
                .in_flight
                .values()
                .map(|f| f.triggered + self.setting.timeout)
                .min()
                .unwrap_or_else(Instant::now);
            let wait = deadline.saturating_duration_since(Instant::now());
            self.collect(Some(wait.max(Duration::from_millis(1))))?;
            self.expire(Instant::now())?;
        }
        Ok(())
    }

    /// Every completed checkpoint, in order.
    pub fn records(&self) -> &[CheckpointRecord] {
        &self.records
    }

    /// Every failed or expired checkpoint, in order.
    pub fn failures(&self) -> &[FailedCheckpoint] {
        &self.failures
    }

    /// The retained checkpoints, oldest first.
    pub fn retained(&self) -> &[CheckpointHandle] {
        &self.retained
    }

    /// Whether the final checkpoint completed (so the last one captured the end of input).
    pub fn final_completed(&self) -> bool {
        self.final_completed
    }

    /// The checkpoint storage.
    pub fn store(&self) -> &CheckpointStore {
        &self.store
    }

    /// Ends the job as a cancellation does, once restores are done: the retained checkpoints
    /// are kept (externalized, moved to `keep` when they were in the work directory) or deleted
    /// as `execution.checkpointing.externalized-checkpoint-retention` says. Returns where they
    /// were kept.
    pub fn end_job(&mut self, keep: &Path) -> Result<Option<String>> {
        self.wait_for_pending()?;
        self.store.end_job(
            self.setting.retention,
            &self.retained,
            &self.savepoints,
            keep,
        )
    }

    /// Takes a canonical savepoint, as a stop-with-savepoint at the end of input does: waits for
    /// running checkpoints, then runs both phases here, since no ops run any more. It gets the
    /// next checkpoint id but is neither retained nor subsumed, and its failure is not counted
    /// against the tolerable checkpoint failures (as in Flink).
    pub fn savepoint(
        &mut self,
        backend: &mut dyn Backend,
    ) -> Result<(CheckpointRecord, CheckpointHandle)> {
        self.wait_for_in_flight()?;
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
        let requests = self.store.persist(&target, &upload)?;
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
        record_upload(&mut record, &upload, requests, took);
        self.savepoints.push(handle.clone());
        Ok((record, handle))
    }

    /// Takes checkpoint `next_id`: runs the synchronous phase here, timed into the checkpoint's
    /// record, and hands the asynchronous phase to a thread of its own.
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
        // A failed synchronous phase fails the task in Flink, whatever the tolerable failures.
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
        self.worker
            .upload(&self.store, target.clone(), async_phase)?;
        self.in_flight.insert(
            id,
            InFlight {
                target,
                record,
                triggered: now,
                view,
            },
        );
        // Fixed rate from the last trigger, but never sooner than min pause after completion
        // (applied in `complete`).
        self.next_trigger = now + self.setting.interval;
        Ok(())
    }

    /// Handles reports; with `wait`, waits up to that long for the first one.
    fn collect(&mut self, wait: Option<Duration>) -> Result<()> {
        self.worker.ready.store(false, Ordering::Release);
        let mut first = wait;
        loop {
            let report = match first.take() {
                Some(wait) => match self.worker.done.recv_timeout(wait) {
                    Ok(r) => r,
                    Err(RecvTimeoutError::Timeout) => return Ok(()),
                    Err(RecvTimeoutError::Disconnected) => {
                        bail!("the checkpoint thread has stopped")
                    }
                },
                None => match self.worker.done.try_recv() {
                    Ok(r) => r,
                    Err(_) => return Ok(()),
                },
            };
            match report {
                Done::Uploaded(id, result, took) => self.uploaded(id, result, took)?,
                Done::Discarded(result) => {
                    self.pending -= 1;
                    result.context("discarding a checkpoint failed")?;
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

    /// Expires the checkpoints in flight longer than `execution.checkpointing.timeout`.
    fn expire(&mut self, now: Instant) -> Result<()> {
        let timeout = self.setting.timeout;
        let expired: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, f)| now.saturating_duration_since(f.triggered) >= timeout)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(flight) = self.in_flight.remove(&id) {
                let cause = anyhow!(
                    "{CHECKPOINT_EXPIRED} (checkpoint {id}, timeout {} ms)",
                    timeout.as_millis()
                );
                self.abandoned.insert(id, flight.target);
                let triggered_s = signed_seconds(self.epoch, flight.triggered);
                self.fail(id, triggered_s, true, cause)?;
            }
        }
        Ok(())
    }

    /// An async phase reported: completes its checkpoint, fails it, or cleans up after one that
    /// was abandoned meanwhile.
    fn uploaded(
        &mut self,
        id: u64,
        result: Result<(UploadResult, Requests)>,
        took: Duration,
    ) -> Result<()> {
        if let Some(target) = self.abandoned.remove(&id) {
            return self.clean_up(&target);
        }
        let flight = self
            .in_flight
            .remove(&id)
            .ok_or_else(|| anyhow!("checkpoint {id} reported an upload nobody started"))?;
        match result {
            Ok((upload, requests)) => self.complete(flight, upload, requests, took),
            Err(e) => {
                let cause = e.context(format!(
                    "checkpoint {id}: asynchronous phase failed writing into {}",
                    self.store.location()
                ));
                let triggered_s = signed_seconds(self.epoch, flight.triggered);
                self.clean_up(&flight.target)?;
                self.fail(id, triggered_s, false, cause)
            }
        }
    }

    /// Queues the removal of what a failed checkpoint wrote (its shared files too when no other
    /// checkpoint is in flight).
    fn clean_up(&mut self, target: &CheckpointTarget) -> Result<()> {
        let referenced = (self.in_flight.is_empty() && self.abandoned.is_empty()).then(|| {
            self.retained
                .iter()
                .flat_map(|h| h.shared.keys().cloned())
                .collect()
        });
        self.worker
            .send(Job::Abort(target.dir.clone(), referenced))?;
        self.pending += 1;
        Ok(())
    }

    /// Records a failed checkpoint and applies Flink's `CheckpointFailureManager` rule: each
    /// checkpoint newer than the last completed one counts once; more consecutive failures than
    /// `tolerable-failed-checkpoints` fail the job.
    fn fail(
        &mut self,
        id: u64,
        triggered_s: f64,
        expired: bool,
        cause: anyhow::Error,
    ) -> Result<()> {
        self.failures.push(FailedCheckpoint {
            id,
            triggered_s,
            expired,
            reason: format!("{cause:#}"),
        });
        if id > self.last_completed {
            self.consecutive_failures += 1;
        }
        if self.consecutive_failures > self.setting.tolerable_failures {
            return Err(cause.context(TOLERABLE_FAILURES_EXCEEDED));
        }
        Ok(())
    }

    /// Completes a checkpoint whose async phase succeeded: seals it in the store, records it,
    /// has it verified if every checkpoint is, subsumes older checkpoints still in flight (as
    /// Flink does, not counted as failures) and what is no longer retained.
    fn complete(
        &mut self,
        flight: InFlight,
        upload: UploadResult,
        requests: Requests,
        took: Duration,
    ) -> Result<()> {
        let InFlight {
            target,
            mut record,
            view,
            triggered,
        } = flight;
        // Relative to the end of warm-up, which may have come after the trigger.
        record.triggered_s = signed_seconds(self.epoch, triggered);
        let handle = self.store.complete(&target, &upload)?;
        record_upload(&mut record, &upload, requests, took);
        self.final_completed |= record.is_final;
        self.records.push(record);
        self.last_completed = self.last_completed.max(target.id);
        self.consecutive_failures = 0;
        let older: Vec<u64> = self
            .in_flight
            .range(..target.id)
            .map(|(id, _)| *id)
            .collect();
        for id in older {
            if let Some(flight) = self.in_flight.remove(&id) {
                self.abandoned.insert(id, flight.target);
            }
        }
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

/// Fills in what an async phase that took `took` wrote, with the requests it sent to storage.
fn record_upload(
    record: &mut CheckpointRecord,
    upload: &UploadResult,
    requests: Requests,
    took: Duration,
) {
    record.async_ms = took.as_secs_f64() * 1e3;
    record.storage_requests = requests.count;
    record.upload_mb_per_s = upload.bytes_written() as f64 / 1e6 / took.as_secs_f64().max(1e-9);
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
