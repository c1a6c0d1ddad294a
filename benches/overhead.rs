//! What the harness costs next to what it measures (issue 11). One workload (1M events, 100k
//! zipfian keys at 0.99, 100-byte values, one ValueState, half read-only and half get + put, no
//! checkpoints) is run, interleaved over [`ROUNDS`] rounds ([`HEAP_ROUNDS`] for the heap
//! contenders, which are short and noisier):
//!
//! - RocksDB: a plain rust-rocksdb loop (`get_pinned_cf`, `put_cf` on the same key bytes and
//!   serialized values, pre-generated) on a DB the backend itself opened, so the options are the
//!   cell's; against the cell runner (`run_cell`), with RocksDB statistics on and off; and in
//!   lockstep (below) against the RocksDB backend called directly, each on a DB of its own;
//! - heap: a plain loop over the heap backend's own maps (`CowStateMap<StateObject>`, Flink's
//!   `CopyOnWriteStateMap` holding the objects the backend holds, one per key group: key group,
//!   then `get` or `put`), over pre-generated ops and values; against the cell runner; and the
//!   cell runner's p50 of `value.get` and `value.put` on this workload (issue 9: Flink 2.3's
//!   heap gives 100 / 40 ns);
//!   between them, the heap backend called directly (`set_time` per event, `apply` per op,
//!   static calls as the runner's `apply_events` makes them) over the same pre-generated ops and
//!   values:
//!   backend-direct / plain is the backend's own cost, cell runner / backend-direct the replay
//!   loop's; backend-direct / plain is measured again in lockstep, the two alternating every
//!   [`LOCKSTEP_EVENTS`] events, which holds a round's ratio to about ±2 % where whole-stream
//!   rounds spread by ±15 % and more;
//! - a no-op backend through the replay loop, with ops timed as a cell times them by default
//!   (a seeded 1-in-k sample where reads weigh on the ops) and with every op timed
//!   (`--time-every-op`): the harness's own cost per op (generation, values, clock reads,
//!   recording, the loop), of which generation alone (left out of a cell's throughput), and the
//!   in-op part (the no-op's median timed latency, to a clock tick, less one back-to-back clock
//!   read: what lies between the reads besides the backend call);
//! - key generation per distribution, keys per second on one core.
//!
//! Medians and the spread (min–max) are printed; ratios are of medians of one run.

use std::hint::black_box;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;
use rocksdb::{ColumnFamily, WriteOptions, DB};

use statebench::backend::heap::cow_map::CowStateMap;
use statebench::backend::heap::{HeapBackend, Stamped, StateObject};
use statebench::backend::keygroup::key_group;
use statebench::backend::rocksdb::{KeyBuilder, PredefinedProfile, RocksDbBackend, RocksDbConfig};
use statebench::backend::{Backend, BackendConfig, Events, ScriptedBackend, StateLayout};
use statebench::checkpoint::{CheckpointMode, CheckpointSetting};
use statebench::measure::Clock;
use statebench::run::{replay_only, run_cell, Cell, CellPaths, OpInput, Pacing};
use statebench::workload::{
    append_values, fill_value, EventBatch, KeyChooser, KeyDistribution, KeySpec, OpGenerator,
    OpKind, StateOp, WorkloadSpec,
};

/// Interleaved rounds of every contender.
const ROUNDS: usize = 5;
/// Interleaved rounds of the heap contenders: each takes a tenth of a second, and a round's
/// ratio moves by ±15 % on a shared machine: the median of 15 rounds still moved by ±5 % from
/// run to run, and 30 rounds (about 10 s) narrow that by a factor of √2.
const HEAP_ROUNDS: usize = 30;

const WORKLOAD: &str = r#"{
  "name": "overhead",
  "description": "Issue 11: ValueState, half read-only, half get + put, 100k zipfian keys.",
  "checkpoint_interval_ms": 1000,
  "seed": 11,
  "events": 1000000,
  "warmup_events": 0,
  "max_parallelism": 128,
  "keys": { "count": 100000, "distribution": { "type": "zipfian", "theta": 0.99 } },
  "value_size": { "type": "fixed", "bytes": 100 },
  "states": [ { "type": "value", "name": "v", "read_only_fraction": 0.5 } ]
}"#;

/// The workload's ops generated before any clock starts, flat as the cell runner's batches
/// hold them: ops in order, where each event ends, event times, value bytes in one buffer and
/// each op's span of them.
struct Flat {
    ops: Vec<StateOp>,
    ends: Vec<usize>,
    times: Vec<i64>,
    spans: Vec<(usize, usize)>,
    values: Vec<u8>,
}

impl Flat {
    /// The stream of `spec`.
    fn of(spec: &WorkloadSpec) -> Flat {
        let mut generator = OpGenerator::new(spec).unwrap();
        let mut batch = EventBatch::default();
        while generator.append_events(&mut batch, usize::MAX, usize::MAX) > 0 {}
        let mut values = Vec::new();
        let spans = append_values(&batch.ops, &mut values);
        Flat {
            ops: batch.ops,
            ends: batch.ends,
            times: batch.times,
            spans,
            values,
        }
    }

    /// As a backend takes them.
    fn events(&self) -> Events<'_> {
        Events {
            ops: &self.ops,
            ends: &self.ends,
            times: &self.times,
            spans: &self.spans,
            values: &self.values,
        }
    }
}

/// One op of the plain RocksDB loop: the key bytes, and for a put the serialized value.
struct PlainOp {
    key: Vec<u8>,
    put: Option<Vec<u8>>,
}

/// The ops as the RocksDB backend would send them: Flink's key bytes, values as
/// `BytePrimitiveArraySerializer` writes them (int length, bytes).
fn plain_rocksdb_ops(spec: &WorkloadSpec, flat: &Flat) -> Vec<PlainOp> {
    let mut keys = KeyBuilder::new(spec.max_parallelism);
    let mut value = Vec::new();
    flat.ops
        .iter()
        .map(|op| {
            keys.set_key(op.key, op.namespace);
            let put = match op.kind {
                OpKind::ValuePut(v) => {
                    fill_value(v, &mut value);
                    let mut bytes = (value.len() as i32).to_be_bytes().to_vec();
                    bytes.extend_from_slice(&value);
                    Some(bytes)
                }
                OpKind::ValueGet => None,
                other => panic!("the overhead workload has no {other:?}"),
            };
            PlainOp {
                key: keys.bytes().to_vec(),
                put,
            }
        })
        .collect()
}

/// The cell's RocksDB options, with statebench's tickers-only statistics (`--rocksdb-statistics`)
/// on or off (the default, as in Flink).
fn rocksdb_config(statistics: bool) -> RocksDbConfig {
    let mut config = RocksDbConfig::new(PredefinedProfile::Default);
    config.statistics = statistics;
    config
}

/// Events per second of a plain rust-rocksdb loop on a DB the backend opened, and per second
/// of this thread's CPU time (opening the DB included, as for the cell runner).
fn plain_rocksdb(spec: &WorkloadSpec, ops: &[PlainOp], events: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let cpu = thread_cpu_ns();
    let backend =
        RocksDbBackend::open(&rocksdb_config(false), &StateLayout::of(spec), dir.path()).unwrap();
    let (db, cf) = backend.raw(0);
    let mut write = WriteOptions::default();
    write.disable_wal(true);
    let start = Instant::now();
    plain_rocksdb_loop(db, cf, &write, ops);
    let wall = events as f64 / start.elapsed().as_secs_f64();
    (wall, events as f64 / ((thread_cpu_ns() - cpu) as f64 / 1e9))
}

/// The plain RocksDB loop itself: `get_pinned_cf` or `put_cf` per op.
fn plain_rocksdb_loop(db: &DB, cf: &ColumnFamily, write: &WriteOptions, ops: &[PlainOp]) {
    for op in ops {
        match &op.put {
            None => {
                black_box(db.get_pinned_cf(cf, &op.key).unwrap().map(|v| v.len()));
            }
            Some(value) => db.put_cf_opt(cf, &op.key, value, write).unwrap(),
        }
    }
}

/// Events per second, by the wall clock and by this thread's CPU time (which other processes
/// on the machine do not stretch), of `run` over `events` events.
fn rates(events: usize, run: impl FnOnce()) -> (f64, f64) {
    let cpu = thread_cpu_ns();
    let start = Instant::now();
    run();
    let wall = start.elapsed().as_secs_f64();
    let cpu = (thread_cpu_ns() - cpu) as f64 / 1e9;
    (events as f64 / wall, events as f64 / cpu)
}

/// Empty maps for the plain heap loop: one per key group, holding what the heap backend's hold.
fn plain_heap_maps(spec: &WorkloadSpec) -> Vec<CowStateMap<StateObject>> {
    (0..spec.max_parallelism)
        .map(|_| CowStateMap::new())
        .collect()
}

/// Events per second (wall, thread CPU) of a plain loop over the heap backend's maps, one per
/// key group and holding what the backend's hold, as `HeapValueState` uses them: `value()` is
/// `get`, `update()` is `put` (overwriting a value no snapshot holds in place, as the backend
/// does).
fn plain_heap(spec: &WorkloadSpec, flat: &Flat) -> (f64, f64) {
    let mut maps = plain_heap_maps(spec);
    rates(flat.ends.len(), || {
        plain_heap_loop(&mut maps, &flat.ops, &flat.spans, &flat.values)
    })
}

/// The plain heap loop itself, over `ops` and their value spans `spans` of `values`.
fn plain_heap_loop(
    maps: &mut [CowStateMap<StateObject>],
    ops: &[StateOp],
    spans: &[(usize, usize)],
    values: &[u8],
) {
    let groups = maps.len() as u32;
    for (op, &(from, to)) in ops.iter().zip(spans) {
        let map = &mut maps[key_group(op.key, groups) as usize];
        match op.kind {
            OpKind::ValueGet => {
                black_box(map.get(op.key, &op.namespace).is_some());
            }
            OpKind::ValuePut(_) => {
                let value = &values[from..to];
                let mut slot = map.put(op.key, op.namespace);
                let reused = match slot.reusable() {
                    Some(StateObject::Value(old)) => Arc::get_mut(&mut old.bytes)
                        .filter(|bytes| bytes.len() == value.len())
                        .map(|bytes| bytes.copy_from_slice(value))
                        .is_some(),
                    _ => false,
                };
                if !reused {
                    let bytes = Arc::from(value);
                    slot.set(StateObject::Value(Stamped { at: 0, bytes }));
                }
            }
            other => panic!("the overhead workload has no {other:?}"),
        }
    }
}

/// Events per second (wall, thread CPU) of the heap backend called directly, without the
/// replay loop: the whole stream through `Backend::apply_events`, as the cell runner hands it
/// the events between timed ops (per event `set_time`, per op `apply`, static calls).
fn heap_direct(spec: &WorkloadSpec, flat: &Flat) -> (f64, f64) {
    let mut heap = HeapBackend::new(&StateLayout::of(spec));
    let backend = black_box(&mut heap);
    rates(flat.ends.len(), || {
        apply_events(backend, flat, 0..flat.ends.len())
    })
}

/// Events per lockstep chunk: ~1.5 ms of either heap contender (~30 ms of RocksDB), short
/// enough that both see the same moments of a shared machine, long enough that the clock reads
/// and a chunk's cold start (the other contender has evicted its data from the caches) stay
/// small next to it.
const LOCKSTEP_EVENTS: usize = 20_000;
/// Heap lockstep rounds, each over the whole stream.
const LOCKSTEP_ROUNDS: usize = 8;
/// RocksDB lockstep rounds: each takes ~4 s.
const ROCKSDB_LOCKSTEP_ROUNDS: usize = 3;

/// Two contenders in lockstep over the stream of `flat`, both from empty state: chunks of
/// [`LOCKSTEP_EVENTS`] events, alternating every two chunks (plain, direct, direct, plain,
/// plain, …; the other way round in odd rounds), so that each runs as many chunks right after
/// the other as right after itself. Whole-stream rounds see the machine's load change between
/// contenders (a heap round's ratio moves by ±15 % and more); in lockstep a round's ratio moves
/// by ±2 %. Each contender takes a chunk's events and their ops; returns direct / plain, of
/// events per second.
fn lockstep(
    flat: &Flat,
    round: usize,
    mut plain: impl FnMut(Range<usize>, Range<usize>),
    mut direct: impl FnMut(Range<usize>, Range<usize>),
) -> f64 {
    let events = flat.events();
    let (mut plain_s, mut direct_s) = (0.0, 0.0);
    let chunks = (0..events.ends.len()).step_by(LOCKSTEP_EVENTS).enumerate();
    for (chunk, start) in chunks {
        let end = (start + LOCKSTEP_EVENTS).min(events.ends.len());
        let ops = events.event(start).start..events.ends[end - 1];
        let timed = |run: &mut dyn FnMut(Range<usize>, Range<usize>), total: &mut f64| {
            let clock = Instant::now();
            run(start..end, ops.clone());
            *total += clock.elapsed().as_secs_f64();
        };
        if (chunk + round).is_multiple_of(2) {
            timed(&mut plain, &mut plain_s);
            timed(&mut direct, &mut direct_s);
        } else {
            timed(&mut direct, &mut direct_s);
            timed(&mut plain, &mut plain_s);
        }
    }
    plain_s / direct_s
}

/// The plain heap loop and the heap backend called directly, in [`lockstep`], over
/// [`LOCKSTEP_ROUNDS`] rounds: each round's backend-direct / plain.
fn heap_lockstep(spec: &WorkloadSpec, flat: &Flat) -> Vec<f64> {
    (0..LOCKSTEP_ROUNDS)
        .map(|round| {
            eprintln!("heap lockstep round {}/{LOCKSTEP_ROUNDS}", round + 1);
            let mut maps = plain_heap_maps(spec);
            let mut heap = HeapBackend::new(&StateLayout::of(spec));
            let backend = black_box(&mut heap);
            lockstep(
                flat,
                round,
                |_, ops| {
                    let (ops, spans) = (&flat.ops[ops.clone()], &flat.spans[ops]);
                    plain_heap_loop(&mut maps, ops, spans, &flat.values)
                },
                |events, _| apply_events(backend, flat, events),
            )
        })
        .collect()
}

/// The plain RocksDB loop and the RocksDB backend called directly (no replay loop, no clock
/// reads), each on a DB of its own with the cell's options, in [`lockstep`], over
/// [`ROCKSDB_LOCKSTEP_ROUNDS`] rounds: each round's backend-direct / plain.
fn rocksdb_lockstep(spec: &WorkloadSpec, flat: &Flat, ops: &[PlainOp]) -> Vec<f64> {
    let layout = StateLayout::of(spec);
    let open = |dir: &tempfile::TempDir| {
        RocksDbBackend::open(&rocksdb_config(false), &layout, dir.path()).unwrap()
    };
    (0..ROCKSDB_LOCKSTEP_ROUNDS)
        .map(|round| {
            eprintln!(
                "rocksdb lockstep round {}/{ROCKSDB_LOCKSTEP_ROUNDS}",
                round + 1
            );
            let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
            let (plain, mut direct) = (open(&dirs[0]), open(&dirs[1]));
            let (db, cf) = plain.raw(0);
            let mut write = WriteOptions::default();
            write.disable_wal(true);
            lockstep(
                flat,
                round,
                |_, range| plain_rocksdb_loop(db, cf, &write, &ops[range]),
                |events, _| apply_events(&mut direct, flat, events),
            )
        })
        .collect()
}

/// `backend.apply_events` over `events` of `flat`, as the cell runner hands it the events
/// between timed ops.
fn apply_events(backend: &mut dyn Backend, flat: &Flat, events: Range<usize>) {
    if let Err(failed) = backend.apply_events(&flat.events(), events) {
        panic!("{:#}", failed.error);
    }
}

/// What the heap contenders measured, one entry per round.
#[derive(Default)]
struct HeapRounds {
    /// Events per second, wall.
    plain: Vec<f64>,
    direct: Vec<f64>,
    runner: Vec<f64>,
    /// Events per second of the thread's CPU time.
    plain_cpu: Vec<f64>,
    direct_cpu: Vec<f64>,
    /// The cell runner's `value.get` and `value.put` p50, ns, and its stride.
    get_p50: Vec<f64>,
    put_p50: Vec<f64>,
    stride: Vec<f64>,
    /// Backend-direct / plain, per round of [`heap_lockstep`].
    lockstep: Vec<f64>,
}

/// One of the heap contenders.
#[derive(Clone, Copy)]
enum HeapContender {
    /// The plain loop over the backend's map.
    Plain,
    /// The heap backend called directly.
    Direct,
    /// The cell runner.
    Runner,
}

/// The heap contenders, interleaved over [`HEAP_ROUNDS`] rounds: plain loop, backend direct,
/// cell runner, in that order in even rounds and the reverse in odd ones (so that none always
/// runs on what another left in the caches and the allocator).
fn heap_rounds(spec: &WorkloadSpec, flat: &Flat) -> HeapRounds {
    let mut rounds = HeapRounds::default();
    for round in 0..HEAP_ROUNDS {
        eprintln!("heap round {}/{HEAP_ROUNDS}", round + 1);
        let mut order = [
            HeapContender::Plain,
            HeapContender::Direct,
            HeapContender::Runner,
        ];
        if round % 2 == 1 {
            order.reverse();
        }
        for contender in order {
            match contender {
                HeapContender::Plain => {
                    let (wall, cpu) = plain_heap(spec, flat);
                    rounds.plain.push(wall);
                    rounds.plain_cpu.push(cpu);
                }
                HeapContender::Direct => {
                    let (wall, cpu) = heap_direct(spec, flat);
                    rounds.direct.push(wall);
                    rounds.direct_cpu.push(cpu);
                }
                HeapContender::Runner => {
                    let heap = harness(spec, BackendConfig::HashMap);
                    rounds.runner.push(heap.events_per_s);
                    rounds.get_p50.push(heap.get_p50);
                    rounds.put_p50.push(heap.put_p50);
                    rounds.stride.push(heap.stride);
                }
            }
        }
    }
    rounds.lockstep = heap_lockstep(spec, flat);
    rounds
}

/// Prints the heap contenders and their per-round ratios; returns the cell runner / plain
/// loop ratio (the median of the rounds').
fn print_heap(rounds: &HeapRounds) -> f64 {
    println!("\nheap, {HEAP_ROUNDS} interleaved rounds:");
    line("heap plain loop", &rounds.plain, "events/s");
    line("heap backend direct", &rounds.direct, "events/s");
    line("heap cell runner", &rounds.runner, "events/s");
    line("heap cell: 1 in k ops timed, k", &rounds.stride, "");
    line("heap value.get p50 (Flink 2.3: 100)", &rounds.get_p50, "ns");
    line("heap value.put p50 (Flink 2.3: 40)", &rounds.put_p50, "ns");
    println!("ratios within each round (medians of them, and their spread):");
    ratio_line(
        "heap backend direct / plain loop",
        &rounds.direct,
        &rounds.plain,
    );
    ratio_line(
        "heap direct / plain, thread CPU",
        &rounds.direct_cpu,
        &rounds.plain_cpu,
    );
    line(
        &format!("heap direct / plain, lockstep ({LOCKSTEP_ROUNDS} rounds)"),
        &rounds.lockstep,
        "x",
    );
    ratio_line(
        "heap cell runner / backend direct",
        &rounds.runner,
        &rounds.direct,
    );
    ratio_line(
        "heap cell runner / plain loop",
        &rounds.runner,
        &rounds.plain,
    )
}

/// Prints the median and spread of the ratios `over / under` within each round; returns the
/// median.
fn ratio_line(name: &str, over: &[f64], under: &[f64]) -> f64 {
    let ratios: Vec<f64> = over.iter().zip(under).map(|(a, b)| a / b).collect();
    line(name, &ratios, "x")
}

/// What the cell runner measured of one cell.
struct Harness {
    /// Events per second (the cell's figure: its generation left out).
    events_per_s: f64,
    /// Events per second of this thread's CPU time over the whole cell (the replay runs on the
    /// calling thread), generation included.
    per_cpu_s: f64,
    get_p50: f64,
    put_p50: f64,
    /// 1 in `stride` ops timed.
    stride: f64,
}

/// The cell runner on `backend`.
fn harness(spec: &WorkloadSpec, backend: BackendConfig) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut cell = Cell::new(
        backend,
        CheckpointSetting::new(CheckpointMode::None, Duration::from_secs(1)),
    );
    // What is compared is the replay; the savepoint at the end is outside the measured part.
    cell.options.savepoint = false;
    let paths = CellPaths {
        work: dir.path().join("work"),
        run: dir.path().join("run"),
        repeat: None,
    };
    let input = OpInput::Generated(spec.clone());
    let cpu = thread_cpu_ns();
    let result = run_cell(&input, &cell, &paths, &mut |_, _| {}).unwrap();
    let cpu = (thread_cpu_ns() - cpu) as f64 / 1e9;
    let p50 = |name: &str| {
        result
            .ops
            .iter()
            .find(|o| o.op == name)
            .map_or(f64::NAN, |o| o.p50_ns as f64)
    };
    Harness {
        events_per_s: result.events_per_s,
        per_cpu_s: result.measured_events as f64 / cpu,
        get_p50: p50("value.get"),
        put_p50: p50("value.put"),
        stride: result.latency_sampling.map_or(1.0, |s| f64::from(s.stride)),
    }
}

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`, first field): what
/// the harness costs when other processes share the cores and stretch the wall time.
fn thread_cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    text.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// What the harness costs per op with the no-op backend, ns.
struct NoopCost {
    /// Wall time of the measured part per op: generation, values, clock reads, recording, loop.
    per_op: f64,
    /// The same by the thread's CPU time over the measured part (which other processes on the
    /// machine do not stretch as they stretch wall time).
    cpu: f64,
    /// Generation alone (left out of a cell's throughput).
    generation: f64,
    /// The in-op part: the median timed no-op latency (to a tick) less one back-to-back clock
    /// read.
    in_op: f64,
    /// The same from the mean (exact ticks; preemptions by other processes count in it).
    in_op_mean: f64,
    /// 1 in `stride` ops timed.
    stride: f64,
}

/// The harness's cost per op with the no-op backend, every op timed or as a cell times them.
fn noop(spec: &WorkloadSpec, every_op: bool) -> NoopCost {
    let dir = tempfile::tempdir().unwrap();
    let input = OpInput::Generated(spec.clone());
    let measured = replay_only(
        &input,
        &mut ScriptedBackend::noop(),
        Pacing::Closed,
        every_op,
        dir.path(),
    )
    .unwrap();
    let ops = measured.ops as f64;
    NoopCost {
        per_op: measured.elapsed.as_nanos() as f64 / ops,
        cpu: measured
            .thread_cpu
            .map_or(f64::NAN, |t| t.as_nanos() as f64 / ops),
        generation: measured.generation.as_nanos() as f64 / ops,
        in_op: measured.recorded.timed_median_ns.unwrap_or(f64::NAN) - Clock::get().read_ns(),
        in_op_mean: measured.recorded.timed_mean_ns.unwrap_or(f64::NAN) - Clock::get().read_ns(),
        stride: f64::from(measured.sampling.stride),
    }
}

/// Prints a no-op measurement.
fn print_noop(cost: &NoopCost) {
    println!(
        "harness cost per op {:.1} ns (CPU {:.1} ns), of which generation {:.1} ns; \
         in-op part {:.2} ns (from the mean {:.2} ns); 1 in {} ops timed",
        cost.per_op, cost.cpu, cost.generation, cost.in_op, cost.in_op_mean, cost.stride
    );
}

/// Median, min and max.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn line(name: &str, values: &[f64], unit: &str) -> f64 {
    let (median, min, max) = spread(values);
    match unit {
        "x" => println!("{name:<40} median {median:>12.3} {unit}  (min {min:.3}, max {max:.3})"),
        "" => println!("{name:<40} median {median:>12.0}  (min {min:.0}, max {max:.0})"),
        _ => println!("{name:<40} median {median:>12.1} {unit}  (min {min:.1}, max {max:.1})"),
    }
    median
}

/// Keys per second on one core of each key distribution over 100k keys.
fn key_generation() {
    const DRAWS: u64 = 20_000_000;
    // As a workload file's `keys.distribution` spells them.
    let distributions = [
        r#"{ "type": "uniform" }"#,
        r#"{ "type": "zipfian", "theta": 0.99 }"#,
        r#"{ "type": "scrambled_zipfian", "theta": 0.99 }"#,
        r#"{ "type": "hotspot", "hot_fraction": 0.2, "hot_op_fraction": 0.8 }"#,
        r#"{ "type": "latest", "theta": 0.99 }"#,
        r#"{ "type": "sequential" }"#,
        r#"{ "type": "constant", "key": 3 }"#,
    ];
    println!("\nkey generation, 100k keys, {DRAWS} draws, {ROUNDS} rounds:");
    for distribution in distributions {
        let rates: Vec<f64> = (0..ROUNDS)
            .map(|_| {
                let spec = KeySpec {
                    count: 100_000,
                    distribution: serde_json::from_str::<KeyDistribution>(distribution).unwrap(),
                };
                let mut chooser = KeyChooser::new(&spec).unwrap();
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
                let start = Instant::now();
                let mut sum = 0u64;
                for _ in 0..DRAWS {
                    sum = sum.wrapping_add(chooser.sample(&mut rng));
                }
                black_box(sum);
                DRAWS as f64 / start.elapsed().as_secs_f64() / 1e6
            })
            .collect();
        line(distribution, &rates, "M keys/s");
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `-- noop` runs only the no-op backend (for profiling).
    if std::env::args().any(|a| a == "noop") {
        let spec = WorkloadSpec::parse(WORKLOAD, "overhead").unwrap();
        print!("default timing: ");
        print_noop(&noop(&spec, false));
        print!("every op timed: ");
        print_noop(&noop(&spec, true));
        return;
    }
    // `-- heap` runs only the heap cell (for profiling).
    if std::env::args().any(|a| a == "heap") {
        let spec = WorkloadSpec::parse(WORKLOAD, "overhead").unwrap();
        let heap = harness(&spec, BackendConfig::HashMap);
        println!(
            "heap cell runner {:.0} events/s, 1 in {} ops timed",
            heap.events_per_s, heap.stride
        );
        return;
    }
    let spec = WorkloadSpec::parse(WORKLOAD, "overhead").unwrap();
    let clock = Clock::get();
    println!(
        "clock: {}",
        if clock.is_tsc() {
            "TSC (calibrated against CLOCK_MONOTONIC)"
        } else {
            "OS monotonic clock"
        }
    );
    let reads = 10_000_000u32;
    let start = Instant::now();
    for _ in 0..reads {
        black_box(clock.now());
    }
    let ours = start.elapsed().as_nanos() as f64 / f64::from(reads);
    let start = Instant::now();
    for _ in 0..reads {
        black_box(Instant::now());
    }
    let os = start.elapsed().as_nanos() as f64 / f64::from(reads);
    println!(
        "clock read: {ours:.1} ns (calibrated back-to-back: {:.2} ns); Instant::now(): {os:.1} ns",
        clock.read_ns()
    );

    let flat = Flat::of(&spec);
    let rocks_ops = plain_rocksdb_ops(&spec, &flat);
    // `-- heap-rounds` runs only the heap contenders, interleaved.
    if std::env::args().any(|a| a == "heap-rounds") {
        print_heap(&heap_rounds(&spec, &flat));
        return;
    }

    let mut results: [Vec<f64>; 17] = Default::default();
    for round in 0..ROUNDS {
        eprintln!("round {}/{ROUNDS}", round + 1);
        let (wall, cpu) = plain_rocksdb(&spec, &rocks_ops, flat.ends.len());
        results[0].push(wall);
        results[3].push(cpu);
        let on = harness(&spec, BackendConfig::RocksDb(rocksdb_config(true)));
        results[1].push(on.events_per_s);
        results[4].push(on.per_cpu_s);
        let off = harness(&spec, BackendConfig::RocksDb(rocksdb_config(false)));
        results[2].push(off.events_per_s);
        results[5].push(off.per_cpu_s);
        results[6].push(off.stride);
        for (every_op, at) in [(false, 7), (true, 12)] {
            let cost = noop(&spec, every_op);
            results[at].push(cost.per_op);
            results[at + 1].push(cost.cpu);
            results[at + 2].push(cost.in_op);
            results[at + 3].push(cost.generation);
            results[at + 4].push(cost.stride);
        }
    }
    let rocks_lockstep = rocksdb_lockstep(&spec, &flat, &rocks_ops);
    println!("\n{} events, {ROUNDS} interleaved rounds:", spec.events);
    let plain_rocks = line("rocksdb plain loop", &results[0], "events/s");
    let rocks = line(
        "rocksdb cell runner (statistics on)",
        &results[1],
        "events/s",
    );
    let rocks_off = line(
        "rocksdb cell runner (statistics off, default)",
        &results[2],
        "events/s",
    );
    line("rocksdb cell: 1 in k ops timed, k", &results[6], "");
    let plain_rocks_cpu = line(
        "rocksdb plain loop, per CPU second",
        &results[3],
        "events/s",
    );
    let rocks_cpu = line(
        "rocksdb cell runner (on), per CPU s",
        &results[4],
        "events/s",
    );
    let rocks_off_cpu = line(
        "rocksdb cell runner (off), per CPU s",
        &results[5],
        "events/s",
    );
    for (name, at) in [("default timing", 7), ("every op timed", 12)] {
        println!("no-op backend, {name}:");
        line("  harness cost per op", &results[at], "ns");
        line(
            "    the same, CPU time of the thread",
            &results[at + 1],
            "ns",
        );
        line("    of which generation", &results[at + 3], "ns");
        line("  in-op part (median, to a tick)", &results[at + 2], "ns");
        line("  1 in k ops timed, k", &results[at + 4], "");
    }
    println!(
        "\nrocksdb: cell runner (default, statistics off) / plain loop = {:.3}x",
        rocks_off / plain_rocks
    );
    println!("rocksdb: statistics on / off = {:.3}x", rocks / rocks_off);
    let per_round = |name: &str, x: usize, y: usize| {
        ratio_line(name, &results[x], &results[y]);
    };
    println!("\nratios within each round (medians of them, and their spread):");
    per_round("rocksdb cell runner / plain loop", 2, 0);
    per_round("rocksdb statistics on / off", 1, 2);
    per_round("  the same, operator thread CPU", 4, 5);
    per_round("rocksdb runner / plain, thread CPU", 5, 3);
    line(
        &format!("rocksdb direct / plain, lockstep ({ROCKSDB_LOCKSTEP_ROUNDS} rounds)"),
        &rocks_lockstep,
        "x",
    );
    println!(
        "rocksdb, operator thread CPU: cell runner / plain loop = {:.3}x, statistics on / off = {:.3}x",
        rocks_off_cpu / plain_rocks_cpu,
        rocks_cpu / rocks_off_cpu
    );
    let heap = print_heap(&heap_rounds(&spec, &flat));
    println!("\nheap: cell runner / plain loop = {heap:.3}x (median of the rounds' ratios)");

    key_generation();
}
