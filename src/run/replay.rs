//! The operator thread of a cell: the op stream replayed into a backend, every op counted and
//! timed or a seeded sample of them timed (`measure::sampling`), in a closed loop (each event as
//! soon as the previous one is done) or an open loop (events at a fixed arrival rate, each
//! measured from its intended start).
//!
//! What the harness itself costs per op is kept off the measurement and small
//! (`cargo bench --bench overhead`):
//! - ops are generated a batch of events ahead ([`Batch`]), their value bytes made into one
//!   buffer, before the batch's clock starts; the time this takes (one clock read each side of
//!   a batch) is left out of the cell's throughput: it is the harness's generator, not the
//!   operator;
//! - ops are timed one by one until [`CALIBRATION_OPS`] were (warm-up first); then, where a
//!   clock read is not small next to an op, only 1 in k ops is timed (a seeded, stratified
//!   sample) and the others are applied without a read: in closed loop, the whole events before
//!   the next timed op in one [`Backend::apply_events`] call, compiled per backend;
//! - between timed ops one clock read ends an op and starts the next (the end of op i is the
//!   start of op i + 1), so what lies between two reads besides the backend call is the read
//!   itself, one store and the loop; the times are stored, and counted into the recorder after
//!   the batch, with every op's class;
//! - the coordinator, statistics samples, the interrupt flag and progress are looked at when
//!   the op clock passes a deadline ([`POLL_EVERY`]), one comparison per event; whatever they do
//!   is outside every op's time (the next op's clock starts afresh), but in open loop it delays
//!   the events scheduled meanwhile, and their latency from the intended start shows it.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::cell::OpInput;
use super::coordinator::Coordinator;
use super::interrupt::{self, Interrupted};
use super::slots::SlotShare;
use crate::backend::{Backend, Events, StatsSnapshot};
use crate::checkpoint::{CheckpointMode, CheckpointSetting, CheckpointStore};
use crate::measure::{
    sample, stride_for, Clock, OpSampler, ProcessCounters, Recorded, Recorder, Ticks,
    CALIBRATION_OPS,
};
use crate::results::{LatencySampling, StatsSample};
use crate::workload::{write_value, EventBatch, OpClass, OpSource, StateOp};

/// How events arrive at the operator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Pacing {
    /// Closed loop: each event as soon as the previous one is done; measures the most the cell
    /// can do, and each op's service time.
    #[default]
    Closed,
    /// Open loop: after warm-up (replayed closed), events arrive at this fixed rate, events per
    /// second; an event that cannot start on time waits, and its latency counts from when it
    /// should have started.
    Rate(f64),
}

/// Events generated ahead, at most (fewer at the end of warm-up or of a limit).
const BATCH_EVENTS: usize = 256;
/// Ops generated ahead, at most (an event that fires many windows ends a batch early).
const BATCH_OPS: usize = 4096;
/// How often the coordinator, statistics, interrupt flag and progress are looked at.
const POLL_EVERY: Duration = Duration::from_millis(1);
/// How often (in events) progress is reported.
const PROGRESS_EVERY: u64 = 4096;
/// How often backend statistics are sampled during the measured part.
const STATS_EVERY: Duration = Duration::from_secs(1);
/// In open loop, a wait longer than this sleeps (all but this much of it); shorter waits spin,
/// yielding the core, until the event's time.
const SLEEP_ABOVE: Duration = Duration::from_millis(1);

/// Progress callback: (events done, events total).
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// The events of a batch, generated before its clock starts.
#[derive(Default)]
struct Batch {
    /// Its events: ops, where each ends, times.
    input: EventBatch,
    /// Each op's value bytes: a span of `values` (empty for an op that writes none).
    spans: Vec<(usize, usize)>,
    /// The ops that write a value, as indices of `input.ops` (the first so many).
    writes: Vec<usize>,
    /// The value bytes (its length the most a batch has needed; the spans say what is used).
    values: Vec<u8>,
    /// Its ops per class (`OpClass::index`), counted when the batch is filled.
    classes: [u32; OpClass::ALL.len()],
    /// The timed ops, once applied: index in `ops`, start and end on the op clock.
    timed: Vec<(u32, Ticks, Ticks)>,
    /// Open loop: each event's intended start, actual start and end.
    arrivals: Vec<(Ticks, Ticks, Ticks)>,
    /// When its last op was done.
    end: Ticks,
}

impl Batch {
    /// Fills the batch with up to `limit` events of `source`, keeping of each event only the ops
    /// of `share`'s key groups when there is one; false when it had no event left.
    fn fill(
        &mut self,
        source: &mut dyn OpSource,
        limit: u64,
        share: Option<SlotShare>,
    ) -> Result<bool> {
        self.input.clear();
        let limit = limit.min(BATCH_EVENTS as u64) as usize;
        if source.append_events(&mut self.input, limit, BATCH_OPS)? == 0 {
            return Ok(false);
        }
        if let Some(share) = share {
            self.keep(share);
        }
        // Two passes, neither branching on the kind of each op (they come in random order and
        // a mispredicted branch costs more than the op's bookkeeping): classes counted and the
        // value-writing ops listed, then their bytes written.
        let ops = &self.input.ops;
        self.classes = [0; OpClass::ALL.len()];
        self.spans.clear();
        self.spans.resize(ops.len(), (0, 0));
        self.writes.resize(ops.len(), 0);
        let mut writes = 0;
        for (i, op) in ops.iter().enumerate() {
            let class = op.kind.class();
            self.classes[class.index()] += 1;
            self.writes[writes] = i;
            writes += usize::from(class.writes_value());
        }
        let mut used = 0;
        for &i in &self.writes[..writes] {
            if let Some(v) = ops[i].kind.value() {
                let start = used;
                used += v.len as usize;
                // Grown, never shrunk: refilled without zeroing it again.
                if self.values.len() < used {
                    self.values.resize(used, 0);
                }
                write_value(v, &mut self.values[start..used]);
                self.spans[i] = (start, used);
            }
        }
        Ok(true)
    }

    /// Drops the ops of key groups `share` does not own, every event kept (emptied or not).
    fn keep(&mut self, share: SlotShare) {
        let EventBatch { ops, ends, .. } = &mut self.input;
        let (mut kept, mut first) = (0, 0);
        for end in ends.iter_mut() {
            for i in first..*end {
                if share.owns(ops[i].key) {
                    ops.swap(kept, i);
                    kept += 1;
                }
            }
            first = *end;
            *end = kept;
        }
        ops.truncate(kept);
    }
}

/// The open-loop schedule: event k of the measured part is meant to start k / rate after its
/// start.
#[derive(Clone, Copy, Debug)]
struct Schedule {
    origin: Ticks,
    ticks_per_event: f64,
}

impl Schedule {
    /// Events at `rate` per second from `origin`.
    fn new(clock: &Clock, origin: Ticks, rate: f64) -> Schedule {
        Schedule {
            origin,
            ticks_per_event: clock.ticks(Duration::from_secs(1)) as f64 / rate,
        }
    }

    /// When measured event `k` (from 0) is meant to start.
    fn intended(&self, k: u64) -> Ticks {
        self.origin.plus((k as f64 * self.ticks_per_event) as u64)
    }
}

/// How ops are timed: every op while the stride is being chosen, then as it says.
struct Timing {
    sampler: OpSampler,
    /// The ticks of the ops timed one by one so far, while the stride is being chosen (None
    /// once chosen, or when every op is to be timed).
    calibrating: Option<Vec<u64>>,
    /// Every op timed: `--time-every-op`.
    every_op: bool,
    /// The median op time the stride was chosen from, ns.
    op_ns: Option<f64>,
    /// Seeds the sample's positions (the workload's seed).
    seed: u64,
}

impl Timing {
    /// Every op timed until the stride is chosen; for good when `every_op`.
    fn new(every_op: bool, seed: u64) -> Timing {
        Timing {
            sampler: OpSampler::every_op(),
            calibrating: (!every_op).then(Vec::new),
            every_op,
            op_ns: None,
            seed,
        }
    }

    /// Adds an applied batch's timed ops to the calibration; once [`CALIBRATION_OPS`] were
    /// timed, chooses the stride from their median time (which a preemption by another process
    /// does not move, where it would move the mean) and the clock's read cost.
    fn calibrate(&mut self, batch: &Batch, clock: &Clock) {
        let Some(ticks) = self.calibrating.as_mut() else {
            return;
        };
        ticks.extend(batch.timed.iter().map(|&(_, s, e)| e.ticks_since(s)));
        if ticks.len() as u64 >= CALIBRATION_OPS {
            let middle = ticks.len() / 2;
            let median = *ticks.select_nth_unstable(middle).1;
            let op_ns = clock.nanos_f64(median as f64);
            self.op_ns = Some(op_ns);
            self.sampler = OpSampler::new(stride_for(op_ns, clock.read_ns()), self.seed);
            self.calibrating = None;
        }
    }

    /// What results.json says of it (the timed ops are filled in from the recorder).
    fn sampling(&self, clock: &Clock) -> LatencySampling {
        LatencySampling {
            stride: self.sampler.stride(),
            timed_ops: 0,
            every_op_forced: self.every_op,
            op_ns: self.op_ns,
            clock_read_ns: clock.read_ns(),
        }
    }
}

/// Waits until `until` on `clock`: sleeps through all but [`SLEEP_ABOVE`] of a long wait, then
/// spins, yielding the core to the backend's and checkpoint threads. Returns the time it ended.
fn wait_until(clock: &Clock, until: Ticks) -> Ticks {
    let mut now = clock.now();
    let sleep_above = clock.ticks(SLEEP_ABOVE);
    while now < until {
        let left = until.ticks_since(now);
        if left > 2 * sleep_above {
            std::thread::sleep(Duration::from_nanos(clock.nanos(left - sleep_above)));
        } else {
            std::thread::yield_now();
        }
        now = clock.now();
    }
    now
}

/// The operator thread of a cell while its input is replayed: the backend the ops go to, the
/// coordinator that checkpoints it between events, and the measured part once warm-up is over.
pub(super) struct Replay<'a> {
    id: &'a str,
    /// The clock ops are timed with.
    clock: &'static Clock,
    backend: &'a mut dyn Backend,
    coordinator: &'a mut Coordinator,
    pacing: Pacing,
    /// A slot's share of the key groups: only their ops are applied (every event is seen).
    share: Option<SlotShare>,
    /// Events to replay at most (a rate probe replays a prefix).
    limit: u64,
    /// The measured part must last at least this long: the stream is continued past its end
    /// (up to `Hold::cap` events) until it does.
    hold: Option<Hold>,
    measurement: Option<Measurement>,
    /// When the coordinator and the rest are looked at next.
    next_poll: Ticks,
    poll_every: u64,
    /// Events when progress was last reported.
    reported: u64,
    /// Which ops are timed.
    timing: Timing,
}

impl<'a> Replay<'a> {
    /// A closed-loop replay of cell `id` into `backend`, checkpointed by `coordinator`.
    pub(super) fn new(
        id: &'a str,
        backend: &'a mut dyn Backend,
        coordinator: &'a mut Coordinator,
    ) -> Self {
        let clock = Clock::get();
        Replay {
            id,
            clock,
            backend,
            coordinator,
            pacing: Pacing::Closed,
            share: None,
            limit: u64::MAX,
            hold: None,
            measurement: None,
            next_poll: Ticks::default(),
            poll_every: clock.ticks(POLL_EVERY),
            reported: 0,
            timing: Timing::new(false, 0),
        }
    }

    /// Times every op when `every_op` (`--time-every-op`), else a sample where reads would
    /// weigh on the ops.
    pub(super) fn timed_every_op(mut self, every_op: bool) -> Self {
        self.timing.every_op = every_op;
        self
    }

    /// Paces the measured part as `pacing` says.
    pub(super) fn paced(mut self, pacing: Pacing) -> Self {
        self.pacing = pacing;
        self
    }

    /// Applies only the ops of `share`'s key groups, when given (one slot of `--slots`).
    pub(super) fn shared(mut self, share: Option<SlotShare>) -> Self {
        self.share = share;
        self
    }

    /// Stops after `events` events (warm-up included).
    pub(super) fn limited(mut self, events: u64) -> Self {
        self.limit = events;
        self
    }

    /// Makes the measured part last at least `hold.at_least`, continuing a generated stream past
    /// its end when it would end sooner (see [`Hold`]).
    pub(super) fn holding(mut self, hold: Option<Hold>) -> Self {
        self.hold = hold;
        self
    }

    /// The end of the stream, moved on by a batch when the next batch would reach `end`, the
    /// measured part (if begun) is still shorter than the hold and the source can continue; else
    /// `end`. Moved before the batch that would hold the last event, so the events up to the
    /// old end are generated exactly as without the hold.
    fn held_end(&self, source: &mut dyn OpSource, position: u64, end: u64) -> u64 {
        let Some(hold) = self.hold else {
            return end;
        };
        if end.saturating_sub(position) > BATCH_EVENTS as u64 {
            return end;
        }
        let measured = self
            .measurement
            .as_ref()
            .map_or(Duration::ZERO, |m| m.start.elapsed());
        let next = (end + BATCH_EVENTS as u64).min(hold.cap).min(self.limit);
        let extend = measured < hold.at_least && next > end;
        match extend && (next <= source.events() || source.extend_to(next)) {
            true => next,
            false => end,
        }
    }

    /// Replays the events of `input` (up to the limit): starts measuring when warm-up ends,
    /// applies each event's ops, and between events (never inside one's ops) lets the
    /// coordinator checkpoint, samples statistics and reports progress.
    pub(super) fn run(mut self, input: &OpInput, progress: Progress<'_>) -> Result<Replayed> {
        let warmup_events = input.spec().warmup_events;
        self.timing = Timing::new(self.timing.every_op, input.spec().seed);
        let mut source = input.open()?;
        let mut total = source.events().min(self.limit);
        let mut batch = Batch::default();
        let mut event_time = 0;
        loop {
            let position = source.position();
            let measuring = position >= warmup_events;
            if measuring {
                total = self.held_end(source.as_mut(), position, total);
            }
            let limit = match measuring {
                false => warmup_events - position,
                true => total.saturating_sub(position),
            };
            let fill_start = self.clock.now();
            let filled = limit > 0
                && batch
                    .fill(source.as_mut(), limit, self.share)
                    .with_context(|| format!("cell {}", self.id))?;
            if let Some(measurement) = self.measurement.as_mut() {
                measurement.generation += self.clock.now().ticks_since(fill_start);
            }
            if !filled {
                break;
            }
            if measuring && self.measurement.is_none() {
                self.measurement = Some(Measurement::start(
                    self.backend,
                    self.coordinator,
                    self.pacing,
                )?);
            }
            self.apply(&mut batch, position)?;
            if let Some(measurement) = self.measurement.as_mut() {
                measurement.record(&batch);
            }
            self.timing.calibrate(&batch, self.clock);
            event_time = *batch.input.times.last().expect("a filled batch has events");
            if source.position() - self.reported >= PROGRESS_EVERY {
                self.reported = source.position();
                progress(self.reported, total);
            }
        }
        let end = self.clock.now();
        let process_end = ProcessCounters::now();
        let stats_end = self.backend.stats()?;
        progress(source.position(), total);
        Ok(Replayed {
            sampling: self.timing.sampling(self.clock),
            measurement: self.measurement,
            end,
            stats_end,
            process_end,
            event_time,
        })
    }

    /// Applies a batch's events, the first being event `position + 1` of the input, timing the
    /// ops the sampler picks: the clock read that ends a timed op starts the next one, unless
    /// something ran between them (an untimed op, a poll, an open-loop wait), which a fresh read
    /// leaves out. In closed loop the whole events before the next timed op go to the backend
    /// in one call ([`Backend::apply_events`]), with no per-op check of the sampler.
    fn apply(&mut self, batch: &mut Batch, position: u64) -> Result<()> {
        let clock = self.clock;
        let schedule = self.measurement.as_ref().and_then(|m| m.schedule);
        let first_measured = self.measurement.as_ref().map_or(0, |m| m.events);
        let Batch {
            input,
            spans,
            values,
            timed,
            arrivals,
            end,
            ..
        } = batch;
        timed.clear();
        arrivals.clear();
        let (ops, ends, times) = (&input.ops, &input.ends, &input.times);
        let events = Events {
            ops,
            ends,
            times,
            spans,
            values,
        };
        // The last clock read, and whether nothing ran since it.
        let mut last = clock.now();
        let mut fresh = true;
        let mut e = 0;
        while e < ends.len() {
            if last >= self.next_poll {
                self.poll(last, position + e as u64)?;
                last = clock.now();
                fresh = true;
            }
            let range = events.event(e);
            let ahead = self.timing.sampler.untimed_ahead() as usize;
            // Looked for only when the next op is untimed: a search here would otherwise fall
            // between the last read and a timed op (every op timed: RocksDB).
            if schedule.is_none() && ahead > 0 {
                // The events wholly before the next timed op.
                let next_timed = range.start + ahead;
                let untimed = ends[e..].partition_point(|&end| end <= next_timed);
                if untimed > 0 {
                    let run = e..e + untimed;
                    let applied = ends[run.end - 1] - range.start;
                    if let Err(failed) = self.backend.apply_events(&events, run.clone()) {
                        let event = position + failed.event as u64 + 1;
                        return Err(self.failed(failed.error, event, &ops[failed.op]));
                    }
                    self.timing.sampler.pass(applied as u32);
                    fresh = false;
                    e = run.end;
                    continue;
                }
            }
            let intended = match schedule {
                Some(schedule) => {
                    if !fresh {
                        last = clock.now();
                        fresh = true;
                    }
                    let intended = schedule.intended(first_measured + e as u64);
                    if last < intended {
                        last = wait_until(clock, intended);
                    }
                    intended
                }
                None => last,
            };
            let start = last;
            self.backend.set_time(times[e]);
            let first = range.start;
            let event_ops = ops[range.clone()].iter().zip(&spans[range]);
            for (i, (op, &(from, to))) in (first..).zip(event_ops) {
                let is_timed = self.timing.sampler.timed();
                if is_timed && !fresh {
                    last = clock.now();
                }
                if let Err(err) = self.backend.apply(op, &values[from..to]) {
                    return Err(self.failed(err, position + e as u64 + 1, op));
                }
                fresh = is_timed;
                if is_timed {
                    let op_end = clock.now();
                    timed.push((i as u32, last, op_end));
                    last = op_end;
                }
            }
            if schedule.is_some() {
                if !fresh {
                    last = clock.now();
                    fresh = true;
                }
                arrivals.push((intended, start, last));
            }
            e += 1;
        }
        *end = if fresh { last } else { clock.now() };
        Ok(())
    }

    /// The error of an op that failed: which cell, event and op.
    #[cold]
    fn failed(&self, err: anyhow::Error, event: u64, op: &StateOp) -> anyhow::Error {
        err.context(format!("cell {}: event {event}: {op:?}", self.id))
    }

    /// Between events, at `now`, before event `position + 1`: statistics, checkpoints,
    /// interruption.
    #[cold]
    fn poll(&mut self, now: Ticks, position: u64) -> Result<()> {
        self.next_poll = now.plus(self.poll_every);
        let now = self.clock.instant(now);
        if let Some(measurement) = self.measurement.as_mut() {
            measurement.sample_stats(self.backend, now)?;
        }
        self.coordinator
            .poll(now, self.backend)
            .with_context(|| format!("cell {}: before event {}", self.id, position + 1))?;
        if interrupt::requested() {
            return Err(Interrupted::now().into());
        }
        Ok(())
    }
}

/// How long a cell's measured part must last, and how far its stream may be continued for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Hold {
    /// The shortest measured part.
    pub(super) at_least: Duration,
    /// Events the stream may be continued to at most, warm-up included.
    pub(super) cap: u64,
}

/// The measured part of a cell while it runs, from the end of warm-up.
pub(super) struct Measurement {
    pub(super) recorder: Recorder,
    /// When it started, for durations and the timeline.
    pub(super) start: Instant,
    /// When it started, wall clock, for the interval log.
    pub(super) started_at: SystemTime,
    /// Ops and events applied in it.
    pub(super) ops: u64,
    pub(super) events: u64,
    /// Ticks spent generating its batches (left out of its throughput).
    pub(super) generation: u64,
    /// Open loop: when each event is meant to start.
    schedule: Option<Schedule>,
    /// The backend's statistics at the start (None for backends without any).
    pub(super) stats_start: Option<StatsSnapshot>,
    /// One sample of them per [`STATS_EVERY`].
    pub(super) stats_samples: Vec<StatsSample>,
    next_stats_sample: Instant,
    /// The process's device bytes and CPU time at the start.
    pub(super) process_start: Option<ProcessCounters>,
}

impl Measurement {
    /// Starts measuring now: checkpoint times become relative to now, and the backend's
    /// statistics are read as the baseline.
    fn start(
        backend: &dyn Backend,
        coordinator: &mut Coordinator,
        pacing: Pacing,
    ) -> Result<Measurement> {
        let stats_start = backend.stats()?;
        let clock = Clock::get();
        let open_loop = matches!(pacing, Pacing::Rate(_));
        // The recorder's tables (a few MB) before the clock starts: making them took 3–10 ms,
        // which the measured part used to count as the operator's.
        let recorder = Recorder::new(clock.now(), open_loop);
        let process_start = ProcessCounters::now();
        let ticks = clock.now();
        let recorder = recorder.starting_at(ticks);
        let start = clock.instant(ticks);
        let started_at = SystemTime::now();
        coordinator.set_epoch(start);
        let schedule = match pacing {
            Pacing::Closed => None,
            Pacing::Rate(rate) => Some(Schedule::new(clock, ticks, rate)),
        };
        Ok(Measurement {
            recorder,
            start,
            started_at,
            ops: 0,
            events: 0,
            generation: 0,
            schedule,
            stats_start,
            stats_samples: Vec::new(),
            next_stats_sample: start + STATS_EVERY,
            process_start,
        })
    }

    /// Counts an applied batch into the recorder: its ops per class, the ops into the seconds
    /// they were done in (each untimed op with the next timed one, or the batch's end), and the
    /// timed ops' latencies.
    fn record(&mut self, batch: &Batch) {
        let mut next = 0;
        for &(i, start, end) in &batch.timed {
            let i = i as usize;
            self.recorder.done((i + 1 - next) as u64, end);
            self.recorder
                .record(batch.input.ops[i].kind.class(), start, end);
            next = i + 1;
        }
        self.recorder
            .done((batch.input.ops.len() - next) as u64, batch.end);
        for (class, &n) in OpClass::ALL.iter().zip(&batch.classes) {
            self.recorder.count(*class, u64::from(n));
        }
        for &(intended, start, end) in &batch.arrivals {
            self.recorder.record_event(intended, start, end);
        }
        self.ops += batch.input.ops.len() as u64;
        self.events += batch.input.len() as u64;
    }

    /// Samples the backend's statistics if a sample is due at `now`.
    fn sample_stats(&mut self, backend: &dyn Backend, now: Instant) -> Result<()> {
        let Some(start) = self.stats_start.as_ref() else {
            return Ok(());
        };
        if now < self.next_stats_sample {
            return Ok(());
        }
        if let Some(current) = backend.stats()? {
            let t = (now - self.start).as_secs_f64();
            self.stats_samples.push(sample(start, &current, t));
        }
        self.next_stats_sample += STATS_EVERY;
        Ok(())
    }
}

/// A replay that reached the end of its input (or its limit).
pub(super) struct Replayed {
    /// How its ops were timed (`timed_ops` still 0: the recorder knows).
    pub(super) sampling: LatencySampling,
    /// None when no event came after warm-up.
    pub(super) measurement: Option<Measurement>,
    /// When the last event's ops were done.
    pub(super) end: Ticks,
    /// The backend's statistics then.
    pub(super) stats_end: Option<StatsSnapshot>,
    /// The process's counters then.
    pub(super) process_end: Option<ProcessCounters>,
    /// The last event's time: the time TTL was measured against at the end.
    pub(super) event_time: i64,
}

/// What the replay loop alone measured: no checkpoints, no files (see [`replay_only`]).
#[derive(Debug)]
pub struct ReplayOnly {
    /// Ops applied after warm-up.
    pub ops: u64,
    /// Events after warm-up.
    pub events: u64,
    /// From the end of warm-up to the last op's end.
    pub elapsed: Duration,
    /// Of that, generating the batches (left out of a cell's throughput).
    pub generation: Duration,
    /// The CPU time the replaying thread ran in that time (None where `/proc` cannot be read):
    /// its cost when other processes share the cores and stretch the wall time.
    pub thread_cpu: Option<Duration>,
    /// The latencies recorded.
    pub recorded: Recorded,
    /// How the ops were timed.
    pub sampling: LatencySampling,
}

/// Replays `input` into `backend` through the cell's replay loop, paced as `pacing` says and
/// timing every op when `every_op` (else a sample where reads would weigh on the ops), without
/// checkpoints and without writing anything but the coordinator's empty directory under
/// `scratch`: how the harness's own cost is measured against a plain loop or a no-op backend
/// (`benches/overhead.rs`), and how the loop is tested with a backend under the test's control.
pub fn replay_only(
    input: &OpInput,
    backend: &mut dyn Backend,
    pacing: Pacing,
    every_op: bool,
    scratch: &Path,
) -> Result<ReplayOnly> {
    let none = CheckpointSetting::new(CheckpointMode::None, Duration::ZERO);
    let mut coordinator = Coordinator::new(none, CheckpointStore::new(scratch)?, None)?;
    let replayed = Replay::new("replay", backend, &mut coordinator)
        .paced(pacing)
        .timed_every_op(every_op)
        .run(input, &mut |_, _| {})?;
    let measurement = replayed
        .measurement
        .context("the workload has no events after warm-up")?;
    let clock = Clock::get();
    let recorded = measurement.recorder.finish(replayed.end);
    Ok(ReplayOnly {
        ops: measurement.ops,
        events: measurement.events,
        elapsed: clock.instant(replayed.end) - measurement.start,
        generation: Duration::from_nanos(clock.nanos(measurement.generation)),
        thread_cpu: measurement
            .process_start
            .zip(replayed.process_end)
            .map(|(start, end)| Duration::from_nanos(start.thread_cpu_ns_until(&end))),
        sampling: LatencySampling {
            timed_ops: recorded.all.timed.unwrap_or(0),
            ..replayed.sampling
        },
        recorded,
    })
}
