//! The heap backend: Flink's `HashMapStateBackend`. Per state, a [`CowStateMap`] per key group
//! (Flink's `CopyOnWriteStateTable`), or for a timer service a [`TimerHeapSet`] (Flink's
//! `HeapPriorityQueueSet`).
//!
//! A checkpoint or savepoint's synchronous phase snapshots every map (it copies their bucket
//! arrays, O(capacity)) and copies every timer queue; ops go on while the asynchronous phase
//! writes them, the maps copying entries and states the snapshot still holds before changing
//! them, until the asynchronous phase has written a key group and released its map snapshots.
//!
//! With state TTL every value, list element and map entry carries its timestamp; expired ones are
//! never returned and are removed when read, and every state access also inspects a few entries
//! further along (Flink's incremental cleanup, 5 entries per access).

mod access;
mod codec;
pub mod cow_map;
mod snapshot;
mod table;
mod ttl;

use std::fs::File;
use std::num::NonZeroU32;
use std::ops::Range;
use std::path::PathBuf;

use anyhow::{bail, ensure, Context, Result};

use crate::backend::api::{
    AsyncPhase, Backend, Events, Outcome, StateLayout, StateView, StatsSnapshot,
};
use crate::backend::digest::{Digest, EntryAddress};
use crate::backend::keygroup::{key_group, key_group_of};
use crate::backend::timer_set::Timer;
use crate::checkpoint::stream::{StreamReader, FULL_SNAPSHOT_FILE};
use crate::checkpoint::{CheckpointHandle, CheckpointMode, CheckpointTarget, SnapshotFormat};
use crate::workload::{Namespace, OpKind, StateId, StateKind, StateOp};
use access::{access, get_value, put_value, AccessTime};
use codec::Input;
use cow_map::CowStateMap;
use snapshot::{HeapSnapshot, RestoredEntry, StateSnapshot, HEAP_SNAPSHOT_FILE};
use table::{HeapState, StateNamespace};
/// What the heap backend's maps hold: public so that a plain loop over the same maps (the
/// overhead bench's baseline) holds the same objects.
pub use table::{Stamped, StateObject};
use ttl::Cleanup;

/// Flink's heap keyed state backend.
pub struct HeapBackend {
    layout: StateLayout,
    /// The layout's max parallelism: the key groups of every map.
    groups: NonZeroU32,
    states: Vec<HeapState>,
    now: i64,
    cleanup: Vec<Cleanup>,
}

impl HeapBackend {
    /// An empty backend for `layout`.
    pub fn new(layout: &StateLayout) -> HeapBackend {
        HeapBackend {
            layout: layout.clone(),
            groups: NonZeroU32::new(layout.max_parallelism)
                .expect("a workload's max parallelism is at least 1"),
            states: layout
                .states
                .iter()
                .map(|(_, kind)| HeapState::new(*kind, layout.max_parallelism))
                .collect(),
            now: 0,
            cleanup: layout.states.iter().map(|_| Cleanup::default()).collect(),
        }
    }

    /// Rebuilds the state of a checkpoint (the heap snapshot layout) or a savepoint (the
    /// canonical stream).
    pub fn restore(layout: &StateLayout, handle: &CheckpointHandle) -> Result<HeapBackend> {
        let mut backend = HeapBackend::new(layout);
        match handle.format {
            SnapshotFormat::Native => {
                let path = handle.dir.join(HEAP_SNAPSHOT_FILE);
                let namespaces = snapshot::read_checkpoint(&path, layout, |state, kg, entry| {
                    insert_restored(&mut backend.states, state, kg, entry)
                })?;
                backend.set_namespaces(namespaces);
            }
            SnapshotFormat::Canonical => backend.restore_savepoint(handle)?,
        }
        Ok(backend)
    }

    /// Reads a canonical savepoint written by [`Backend::savepoint`].
    fn restore_savepoint(&mut self, handle: &CheckpointHandle) -> Result<()> {
        let path = handle.dir.join(FULL_SNAPSHOT_FILE);
        let file = File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        let layout = self.layout.clone();
        let mut reader = StreamReader::open(file, layout.max_parallelism, &layout.states)
            .with_context(|| format!("reading {}", path.display()))?;
        let ttl = layout.ttl.is_some();
        while let Some(e) = reader
            .next_entry()
            .with_context(|| format!("reading {}", path.display()))?
        {
            let state = e.state as usize;
            let kind = layout.states[state].1;
            let entry = (|| -> Result<RestoredEntry> {
                let mut key = Input::new(e.key);
                if kind == StateKind::Timer {
                    ensure!(e.value.is_empty(), "a timer with a value");
                    let timestamp = (key.u64("timer timestamp")? ^ (1 << 63)) as i64;
                    let k = key.key()?;
                    let namespace = savepoint_namespace(key.take(key.remaining(), "namespace")?)?;
                    return Ok(RestoredEntry::Timer(Timer {
                        timestamp,
                        key: k,
                        namespace,
                    }));
                }
                let k = key.key()?;
                let namespace = savepoint_namespace(key.take(key.remaining(), "namespace")?)?;
                let mut value = Input::new(e.value);
                let object = value.state(kind, ttl)?;
                ensure!(
                    value.remaining() == 0,
                    "{} bytes after a state",
                    value.remaining()
                );
                Ok(RestoredEntry::State(k, namespace, object))
            })()
            .with_context(|| format!("reading {}: corrupt entry", path.display()))?;
            let namespace = match &entry {
                RestoredEntry::State(_, ns, _) => *ns,
                RestoredEntry::Timer(t) => t.namespace,
            };
            self.states[state]
                .namespace
                .admit(&namespace, &layout.states[state].0)?;
            insert_restored(&mut self.states, e.state, e.key_group, entry)?;
        }
        Ok(())
    }

    /// Rebuilds the key groups `key_groups` of a checkpoint, as a subtask of a rescaled job
    /// restores its range: the entries of other key groups are read past, not kept. (Flink
    /// seeks to its key groups' offsets; the whole file is read here.)
    pub fn restore_key_groups(
        layout: &StateLayout,
        handle: &CheckpointHandle,
        key_groups: std::ops::Range<u32>,
    ) -> Result<HeapBackend> {
        ensure!(
            handle.format == SnapshotFormat::Native,
            "a savepoint is restored whole, not by key-group range"
        );
        let mut backend = HeapBackend::new(layout);
        let path = handle.dir.join(HEAP_SNAPSHOT_FILE);
        let namespaces = snapshot::read_checkpoint(&path, layout, |state, kg, entry| {
            match key_groups.contains(&kg) {
                true => insert_restored(&mut backend.states, state, kg, entry),
                false => Ok(()),
            }
        })?;
        backend.set_namespaces(namespaces);
        Ok(backend)
    }

    /// Takes the namespace serializers a checkpoint's header gives, state by state.
    fn set_namespaces(&mut self, namespaces: Vec<StateNamespace>) {
        for (state, namespace) in self.states.iter_mut().zip(namespaces) {
            state.namespace = namespace;
        }
    }

    /// Unexpired logical entries (as a digest counts them) and their payload bytes, without
    /// hashing them: what `statebench workload describe`'s size-only tracker is checked against.
    pub fn live_size(&self) -> (u64, u64) {
        let (mut entries, mut bytes) = (0u64, 0u64);
        visit_live(self.live_sources(), &self.layout, self.now, |_, parts| {
            entries += 1;
            bytes += parts.iter().map(|p| p.len() as u64).sum::<u64>();
        });
        (entries, bytes)
    }

    /// (key, namespace) entries and timers held, expired or not.
    pub fn stored_entries(&self) -> usize {
        self.states.iter().map(HeapState::len).sum()
    }

    /// What the live state holds, per state.
    fn live_sources(&self) -> Vec<Source<'_>> {
        self.states
            .iter()
            .map(|s| match &s.timers {
                Some(queue) => Source::Timers(queue.to_vec()),
                None => Source::Maps(s.maps.iter().map(CowStateMap::iter).collect()),
            })
            .collect()
    }

    /// The synchronous phase: a snapshot of every map and a copy of every timer queue.
    fn take_snapshot(&self) -> HeapSnapshot {
        let states = self
            .states
            .iter()
            .map(|s| match &s.timers {
                Some(queue) => StateSnapshot::Timers(queue.to_vec()),
                None => StateSnapshot::Table(s.maps.iter().map(|m| Some(m.snapshot())).collect()),
            })
            .collect();
        HeapSnapshot {
            states,
            namespaces: self.states.iter().map(|s| s.namespace).collect(),
            layout: self.layout.clone(),
            now: self.now,
        }
    }

    /// The map of `op`'s key group in its state, if that is a table and, for a `write`, the
    /// op's namespace is of the kind the state's writes have been (None: not for the fast path).
    #[inline(always)]
    fn value_map(&mut self, op: &StateOp, write: bool) -> Option<&mut CowStateMap<StateObject>> {
        let state = self.states.get_mut(op.state as usize)?;
        if write && !state.namespace.admits(&op.namespace) {
            return None;
        }
        state
            .maps
            .get_mut(key_group_of(op.key, self.groups) as usize)
    }

    /// Applies ValueState gets and puts from the start of `ops` (their value spans `spans` of
    /// `values`) while [`Backend::apply`] would take its fast path for them: all on the first
    /// op's state, which is a table, puts in a namespace of the kind the state's writes have
    /// been, and no TTL. Returns how many it applied. The state's maps and the key groups are
    /// looked up once for the run: looked up through `self` for every op, as `apply` does (and
    /// must reload them after a put, whose stores the compiler cannot tell apart from them),
    /// they cost the heap backend 3-5 % against a plain loop over the same maps, measured in
    /// the overhead bench's lockstep.
    #[inline(never)]
    fn apply_value_run(
        &mut self,
        ops: &[StateOp],
        spans: &[(usize, usize)],
        values: &[u8],
    ) -> usize {
        let Some(first) = ops.first() else { return 0 };
        let (state_id, groups) = (first.state, self.groups);
        let Some(state) = self.states.get_mut(state_id as usize) else {
            return 0;
        };
        if self.layout.ttl.is_some() {
            return 0;
        }
        let (maps, namespaces) = (&mut state.maps[..], state.namespace);
        let time = AccessTime::new(self.now, None);
        for (n, (op, &(from, to))) in ops.iter().zip(spans).enumerate() {
            if op.state != state_id {
                return n;
            }
            let Some(map) = maps.get_mut(key_group_of(op.key, groups) as usize) else {
                return n;
            };
            match op.kind {
                OpKind::ValueGet => {
                    get_value(map, op.key, &op.namespace, time);
                }
                OpKind::ValuePut(_) if namespaces.admits(&op.namespace) => {
                    put_value(map, op.key, op.namespace, &values[from..to], time);
                }
                _ => return n,
            }
        }
        ops.len()
    }

    /// A ValueState get or put under TTL: the op on its map, timestamps checked and written, then
    /// a step of incremental cleanup (None where [`HeapBackend::value_map`] finds no map). Out
    /// of line, so that the loop without TTL stays small; without [`HeapBackend::apply_any`]'s
    /// dispatch, which cost TTL cells 5 %.
    #[inline(never)]
    fn value_op_with_ttl(&mut self, op: &StateOp, value: &[u8]) -> Option<Outcome> {
        let ttl = self.layout.ttl?;
        let put = op.kind != OpKind::ValueGet;
        let time = AccessTime::new(self.now, Some(ttl));
        let map = self.value_map(op, put)?;
        let outcome = match put {
            false => get_value(map, op.key, &op.namespace, time),
            true => put_value(map, op.key, op.namespace, value, time),
        };
        let state = op.state as usize;
        self.cleanup[state].step(&mut self.states[state].maps, &ttl, self.now);
        Some(outcome)
    }

    /// Any op: the namespace a write brings admitted, then the op on its state's map (with
    /// TTL, a step of incremental cleanup after it) or on its timer queue. Kept out of line so
    /// that [`Backend::apply`]'s ValueState path stays small.
    #[inline(never)]
    fn apply_any(&mut self, op: &StateOp, value: &[u8]) -> Result<Outcome> {
        let state = op.state as usize;
        let writes = match op.kind {
            OpKind::TimerRegister(_) => true,
            kind => kind.value().is_some(),
        };
        let slot = &mut self.states[state];
        if writes {
            slot.namespace
                .admit(&op.namespace, &self.layout.states[state].0)?;
        }
        match &mut slot.timers {
            None => {
                let maps = &mut slot.maps;
                let kg = key_group_of(op.key, self.groups) as usize;
                let time = AccessTime::new(self.now, self.layout.ttl);
                let Some(outcome) = access(&mut maps[kg], op, value, time) else {
                    bail!(
                        "timer op {:?} on state {state}, which holds no timers",
                        op.kind
                    );
                };
                if let Some(ttl) = self.layout.ttl {
                    self.cleanup[state].step(maps, &ttl, self.now);
                }
                Ok(outcome)
            }
            Some(queue) => {
                let timer = |timestamp| Timer {
                    timestamp,
                    key: op.key,
                    namespace: op.namespace,
                };
                match op.kind {
                    OpKind::TimerRegister(ts) => {
                        queue.add(timer(ts));
                    }
                    OpKind::TimerDelete(ts) => {
                        queue.remove(&timer(ts));
                    }
                    other => bail!("op {other:?} on timer state {state}"),
                }
                Ok(Outcome::default())
            }
        }
    }
}

/// The namespace of a savepoint key, whatever its serializer (the stream frames it).
fn savepoint_namespace(bytes: &[u8]) -> Result<Namespace> {
    Namespace::read_from(bytes).context("corrupt namespace")
}

/// Puts a restored entry into its state's key group.
fn insert_restored(
    states: &mut [HeapState],
    state: StateId,
    kg: u32,
    entry: RestoredEntry,
) -> Result<()> {
    let slot = &mut states[state as usize];
    match (&mut slot.timers, entry) {
        (None, RestoredEntry::State(key, namespace, object)) => {
            let maps = &mut slot.maps;
            ensure!(
                key_group(key, maps.len() as u32) as u32 == kg,
                "key {key} stored in key group {kg}"
            );
            maps[kg as usize].put(key, namespace).set(object);
        }
        (Some(queue), RestoredEntry::Timer(timer)) => {
            queue.add(timer);
        }
        _ => bail!("an entry of the wrong kind for state {state}"),
    }
    Ok(())
}

/// The entries of one state to visit: iterators over its maps (live or snapshot), or timers.
enum Source<'a> {
    Maps(Vec<cow_map::Entries<'a, StateObject>>),
    Timers(Vec<Timer>),
}

/// Calls `visit` with every unexpired logical entry at time `now` and its payload parts (one
/// per list element, none for a timer).
fn visit_live(
    sources: Vec<Source<'_>>,
    layout: &StateLayout,
    now: i64,
    mut visit: impl FnMut(EntryAddress, &[&[u8]]),
) {
    let live = |at: i64| layout.ttl.is_none_or(|t| !t.expired(at, now));
    let mut parts: Vec<&[u8]> = Vec::new();
    for (state, source) in sources.into_iter().enumerate() {
        let state = state as StateId;
        match source {
            Source::Timers(timers) => {
                for t in timers {
                    let at = EntryAddress {
                        state,
                        key: t.key,
                        namespace: t.namespace,
                        user_key: Some(t.timestamp as u64),
                    };
                    visit(at, &[]);
                }
            }
            Source::Maps(maps) => {
                for (key, namespace, object) in maps.into_iter().flatten() {
                    let at = EntryAddress {
                        state,
                        key,
                        namespace: *namespace,
                        user_key: None,
                    };
                    match object {
                        StateObject::Value(v) => {
                            if live(v.at) {
                                visit(at, &[&v.bytes[..]]);
                            }
                        }
                        StateObject::List(l) => {
                            parts.clear();
                            parts.extend(l.iter().filter(|e| live(e.at)).map(|e| &e.bytes[..]));
                            if !parts.is_empty() {
                                visit(at, &parts);
                            }
                        }
                        StateObject::Map(m) => {
                            for (uk, v) in m.iter().filter(|(_, v)| live(v.at)) {
                                let at = EntryAddress {
                                    user_key: Some(*uk),
                                    ..at
                                };
                                visit(at, &[&v.bytes[..]]);
                            }
                        }
                    }
                }
            }
        }
    }
}

impl HeapSnapshot {
    /// What the snapshot holds, per state.
    fn sources(&self) -> Vec<Source<'_>> {
        self.states
            .iter()
            .map(|s| match s {
                StateSnapshot::Table(maps) => {
                    Source::Maps(maps.iter().flatten().map(|m| m.iter()).collect())
                }
                StateSnapshot::Timers(timers) => Source::Timers(timers.clone()),
            })
            .collect()
    }
}

/// Adds every unexpired entry of `sources` at time `now` to a digest.
fn digest_of(sources: Vec<Source<'_>>, layout: &StateLayout, now: i64) -> Digest {
    let mut digest = Digest::default();
    visit_live(sources, layout, now, |at, parts| {
        digest.add(at, parts.iter().copied())
    });
    digest
}

impl StateView for HeapSnapshot {
    fn digest(&self) -> Result<Digest> {
        Ok(digest_of(self.sources(), &self.layout, self.now))
    }

    fn time(&self) -> i64 {
        self.now
    }
}

impl Backend for HeapBackend {
    /// Without state TTL, a ValueState's `value()` and `update()`, the most common ops, go
    /// straight to their map: what the backend adds to them shows in every heap figure; under
    /// TTL they take [`HeapBackend::value_op_with_ttl`] (timestamps to check, cleanup to step).
    /// Every other op takes [`HeapBackend::apply_any`], as does a state's first write (which
    /// fixes its namespace serializer). Inlined where called statically (`apply_events` and
    /// `apply_untimed`), so that an outcome nobody reads is not even built.
    #[inline(always)]
    fn apply(&mut self, op: &StateOp, value: &[u8]) -> Result<Outcome> {
        if self.layout.ttl.is_none() {
            // Without TTL there is no timestamp to check or refresh, and no cleanup.
            let time = AccessTime::new(self.now, None);
            match op.kind {
                OpKind::ValueGet => {
                    if let Some(map) = self.value_map(op, false) {
                        return Ok(get_value(map, op.key, &op.namespace, time));
                    }
                }
                OpKind::ValuePut(_) => {
                    if let Some(map) = self.value_map(op, true) {
                        return Ok(put_value(map, op.key, op.namespace, value, time));
                    }
                }
                _ => {}
            }
        } else if matches!(op.kind, OpKind::ValueGet | OpKind::ValuePut(_)) {
            if let Some(outcome) = self.value_op_with_ttl(op, value) {
                return Ok(outcome);
            }
        }
        self.apply_any(op, value)
    }

    fn set_time(&mut self, now_ms: i64) {
        self.now = now_ms;
    }

    /// Runs of ValueState gets and puts in [`HeapBackend::apply_value_run`]'s loop, every other
    /// op through [`Backend::apply`].
    fn apply_untimed(
        &mut self,
        batch: &Events<'_>,
        ops: Range<usize>,
    ) -> Result<(), (usize, anyhow::Error)> {
        let (all, spans) = (&batch.ops[..ops.end], &batch.spans[..ops.end]);
        let mut i = ops.start;
        while i < ops.end {
            if matches!(all[i].kind, OpKind::ValueGet | OpKind::ValuePut(_)) {
                i += self.apply_value_run(&all[i..], &spans[i..], batch.values);
                if i == ops.end {
                    break;
                }
            }
            let (from, to) = spans[i];
            self.apply(&all[i], &batch.values[from..to])
                .map_err(|error| (i, error))?;
            i += 1;
        }
        Ok(())
    }

    /// Only with state TTL: without it a value's timestamp is kept but never read or written
    /// out (`codec::write_state`), and the time is read only by a snapshot, taken between
    /// stretches of events.
    fn reads_time(&self) -> bool {
        self.layout.ttl.is_some()
    }

    fn snapshot(&mut self, mode: CheckpointMode, _target: &CheckpointTarget) -> Result<AsyncPhase> {
        if mode != CheckpointMode::Full {
            bail!("the heap backend takes full checkpoints only, not {mode}");
        }
        let snapshot = self.take_snapshot();
        Ok(Box::new(move |target| snapshot.write_checkpoint(target)))
    }

    /// The same synchronous phase as a checkpoint; the asynchronous phase writes the canonical
    /// stream (Flink's heap savepoints go through `FullSnapshotAsyncWriter` alike).
    fn savepoint(&mut self) -> Result<AsyncPhase> {
        let snapshot = self.take_snapshot();
        Ok(Box::new(move |target| snapshot.write_savepoint(target)))
    }

    /// A snapshot, held: the maps copy on write until it is dropped.
    fn view(&self) -> Result<Box<dyn StateView>> {
        Ok(Box::new(self.take_snapshot()))
    }

    fn digest(&self) -> Result<Digest> {
        Ok(digest_of(self.live_sources(), &self.layout, self.now))
    }

    fn options_file(&self) -> Option<PathBuf> {
        None
    }

    fn stats(&self) -> Result<Option<StatsSnapshot>> {
        Ok(None)
    }
}
