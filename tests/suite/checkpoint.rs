//! Checkpoints and savepoints are real: taken from a live backend, written to disk, restored
//! into a fresh backend and equal, by digest, to the state at the moment they were taken, for
//! every backend and mode. RocksDB checkpoints are native (real copies of the DB's files),
//! savepoints canonical (one key-group stream).

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use statebench::backend::rocksdb::{PredefinedProfile, RocksDbBackend, RocksDbConfig};
use statebench::backend::{Backend, BackendConfig};
use statebench::checkpoint::{
    CheckpointHandle, CheckpointMode, CheckpointSetting, CheckpointStore, SnapshotFormat,
};
use statebench::run::{run_cell, Cell, CellOptions, OpInput};
use statebench::workload::StateOp;

#[test]
fn a_restore_equals_the_state_at_the_checkpoint_for_every_backend_and_mode() {
    for spec in [
        common::mixed_spec(6_000, 500),
        common::window_spec(6_000, 300),
    ] {
        restores_equal_checkpointed_state(&spec);
    }
}

fn restores_equal_checkpointed_state(spec: &statebench::workload::WorkloadSpec) {
    let layout = common::layout(spec);
    let ops = common::all_ops(spec);
    let (first, rest) = ops.split_at(ops.len() / 2);
    let (second, third) = rest.split_at(rest.len() / 2);
    for config in common::every_backend() {
        for mode in [CheckpointMode::Full, CheckpointMode::Incremental] {
            if !config.supports(mode) {
                continue;
            }
            let what = format!(
                "{}: {} {:?} {mode}",
                spec.name,
                config.name(),
                config.profile()
            );
            let dir = tempfile::tempdir().unwrap();
            let store = CheckpointStore::new(&dir.path().join("checkpoints")).unwrap();
            let mut backend = config.open(&layout, &dir.path().join("db")).unwrap();

            common::apply(backend.as_mut(), first);
            let at_first = backend.digest().unwrap();
            let target = store.target(1, Arc::new(BTreeMap::new())).unwrap();
            let async_phase = backend.snapshot(mode, &target).unwrap();
            // Ops go on before the async phase runs: the checkpoint must not see them.
            common::apply(backend.as_mut(), second);
            let upload = async_phase(&target).unwrap();
            let handle = store.complete(&target, &upload).unwrap();
            assert!(upload.bytes_written() > 0, "{what}");
            let at_second = backend.digest().unwrap();
            assert_ne!(
                at_second, at_first,
                "{what}: the second half changes the state"
            );

            let restored = config
                .restore(&layout, &handle, &dir.path().join("restore-1"))
                .unwrap();
            assert_eq!(restored.digest().unwrap(), at_first, "{what}: restore 1");
            drop(restored);

            // A second checkpoint; incremental ones reuse the files they can.
            let target = store.target(2, Arc::new(handle.shared.clone())).unwrap();
            let async_phase = backend.snapshot(mode, &target).unwrap();
            common::apply(backend.as_mut(), third);
            let upload = async_phase(&target).unwrap();
            let handle2 = store.complete(&target, &upload).unwrap();
            if mode == CheckpointMode::Incremental {
                let reused = upload.shared.len() - upload.shared_written.len();
                assert!(reused >= 1, "{what}: nothing reused");
                assert!(upload.bytes_written() < upload.size(), "{what}");
            }
            store
                .discard(&handle, std::slice::from_ref(&handle2))
                .unwrap();
            assert!(!handle.dir.exists(), "{what}: subsumed checkpoint deleted");
            for name in handle2.shared.keys() {
                assert!(
                    handle2.shared_dir.join(name).exists(),
                    "{what}: shared file {name} kept"
                );
            }
            let restored = config
                .restore(&layout, &handle2, &dir.path().join("restore-2"))
                .unwrap();
            assert_eq!(restored.digest().unwrap(), at_second, "{what}: restore 2");
        }
    }
}

/// Takes a savepoint of `backend`, applies `meanwhile` between its two phases, and completes it.
fn savepoint(
    backend: &mut dyn Backend,
    meanwhile: &[StateOp],
    store: &CheckpointStore,
) -> CheckpointHandle {
    let async_phase = backend.savepoint().unwrap();
    common::apply(backend, meanwhile);
    let target = store.savepoint_target(1).unwrap();
    let upload = async_phase(&target).unwrap();
    assert_eq!(upload.format, SnapshotFormat::Canonical);
    assert_eq!(upload.private.len(), 1, "one stream");
    store.complete(&target, &upload).unwrap()
}

#[test]
fn a_savepoint_restores_to_the_state_it_captured_in_both_backends() {
    for spec in [
        common::mixed_spec(6_000, 500),
        common::window_spec(6_000, 300),
    ] {
        let layout = common::layout(&spec);
        let ops = common::all_ops(&spec);
        let (first, second) = ops.split_at(ops.len() * 2 / 3);
        for config in common::every_backend() {
            let what = format!("{}: {} {:?}", spec.name, config.name(), config.profile());
            let dir = tempfile::tempdir().unwrap();
            let store = CheckpointStore::new(&dir.path().join("checkpoints")).unwrap();
            let mut backend = config.open(&layout, &dir.path().join("db")).unwrap();
            common::apply(backend.as_mut(), first);
            let at_savepoint = backend.digest().unwrap();
            let handle = savepoint(backend.as_mut(), second, &store);
            assert_eq!(handle.format, SnapshotFormat::Canonical, "{what}");
            assert!(handle.dir.ends_with("savepoint-1"), "{what}");
            assert_ne!(backend.digest().unwrap(), at_savepoint, "{what}");
            let restored = config
                .restore(&layout, &handle, &dir.path().join("restore"))
                .unwrap();
            assert_eq!(restored.digest().unwrap(), at_savepoint, "{what}");
        }
    }
}

#[test]
fn a_full_rocksdb_checkpoint_is_a_real_copy_of_every_file_of_a_native_checkpoint() {
    let spec = common::mixed_spec(20_000, 2_000);
    let layout = common::layout(&spec);
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("db");
    let config = RocksDbConfig::new(PredefinedProfile::Default);
    let mut backend = RocksDbBackend::open(&config, &layout, &live).unwrap();
    let ops = common::all_ops(&spec);
    let (first, second) = ops.split_at(ops.len() / 2);
    common::apply(&mut backend, first);
    // Compacted, the DB's SSTs stay put until new ops come, so the checkpoint must hold them all
    // (the memtable is empty after compaction; flush more rows in to have one to flush).
    backend.compact().unwrap();
    common::apply(&mut backend, &second[..second.len() / 4]);
    let at_checkpoint = backend.digest().unwrap();
    let store = CheckpointStore::new(&dir.path().join("checkpoints")).unwrap();
    let target = store.target(1, Arc::new(BTreeMap::new())).unwrap();
    let async_phase = backend.snapshot(CheckpointMode::Full, &target).unwrap();
    let live_ssts = files_of(&live, |n| n.ends_with(".sst"));
    let upload = async_phase(&target).unwrap();
    let handle = store.complete(&target, &upload).unwrap();
    common::apply(&mut backend, &second[second.len() / 4..]);

    assert_eq!(handle.format, SnapshotFormat::Native);
    assert!(handle.shared.is_empty(), "a full checkpoint shares nothing");
    let stored = files_of(&handle.dir, |n| n != "_metadata");
    assert_eq!(
        stored,
        handle.private.keys().cloned().collect(),
        "listed files"
    );
    let ssts = files_of(&handle.dir, |n| n.ends_with(".sst"));
    assert!(
        ssts.len() >= 2,
        "the compacted data and the flushed memtable: {ssts:?}"
    );
    assert_eq!(
        ssts, live_ssts,
        "every live SST, the memtable's flush included"
    );
    for prefix in ["MANIFEST-", "CURRENT", "OPTIONS-"] {
        assert!(
            stored.iter().any(|n| n.starts_with(prefix)),
            "{prefix} in {stored:?}"
        );
    }
    for name in &stored {
        let copy = handle.dir.join(name).metadata().unwrap();
        assert_eq!(copy.nlink(), 1, "{name} is linked elsewhere");
        assert_eq!(copy.len(), handle.private[name], "{name}");
        if let Ok(original) = live.join(name).metadata() {
            assert_ne!(copy.ino(), original.ino(), "{name} shares the live file");
        }
    }
    assert!(
        !dir.path().join("db-local-chk-1").exists(),
        "the local native checkpoint is deleted after the upload"
    );
    let restored =
        RocksDbBackend::restore(&config, &layout, &handle, &dir.path().join("r")).unwrap();
    assert_eq!(restored.digest().unwrap(), at_checkpoint);
}

/// Names of the files in `dir` that `keep` accepts.
fn files_of(dir: &Path, keep: impl Fn(&str) -> bool) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| keep(n))
        .collect()
}

#[test]
fn a_corrupt_savepoint_fails_to_restore() {
    let spec = common::mixed_spec(2_000, 100);
    let layout = common::layout(&spec);
    for config in [BackendConfig::HashMap, common::every_backend().remove(1)] {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(&dir.path().join("checkpoints")).unwrap();
        let mut backend = config.open(&layout, &dir.path().join("db")).unwrap();
        common::apply(backend.as_mut(), &common::all_ops(&spec));
        let handle = savepoint(backend.as_mut(), &[], &store);
        let file = handle
            .dir
            .join(statebench::checkpoint::stream::FULL_SNAPSHOT_FILE);
        let mut bytes = std::fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        std::fs::write(&file, &bytes).unwrap();
        let result = config.restore(&layout, &handle, &dir.path().join("restore"));
        assert!(
            result.is_err(),
            "{}: corrupt savepoint restored",
            config.name()
        );
    }
}

#[test]
fn cells_take_checkpoints_during_the_run_and_verify_the_last_one_and_a_savepoint() {
    let spec = common::mixed_spec(60_000, 2_000);
    let dir = tempfile::tempdir().unwrap();
    let paths = common::cell_paths(dir.path());
    let configs = common::every_backend();
    let cells = [
        (configs[0].clone(), CheckpointMode::Full),
        (configs[1].clone(), CheckpointMode::Full),
        (configs[1].clone(), CheckpointMode::Incremental),
        (configs[1].clone(), CheckpointMode::None),
    ];
    for (backend, mode) in cells {
        let result = common::run(&spec, backend, mode, Duration::from_millis(15), &paths);
        // The workload's measured events; a fast cell continues past them to hold 3 intervals.
        let workload_events = result.extension.map(|e| e.workload_events);
        assert_eq!(workload_events.unwrap_or(result.measured_events), 54_000);
        assert!(result.measured_events >= 54_000);
        assert!(result.measured_ops > result.measured_events);
        assert_eq!(result.all_ops.count, result.measured_ops);
        // A savepoint at the end of input, whatever the checkpoint mode.
        let savepoint = result.savepoint.as_ref().unwrap();
        let savepoint_restore = result.savepoint_restore.as_ref().unwrap();
        assert!(savepoint_restore.verified, "{}", result.id);
        assert_eq!(savepoint_restore.checkpoint_id, savepoint.id);
        assert!(savepoint.size_bytes > 0 && savepoint.files_written == 1);
        assert!(savepoint_restore.entries > 0);
        if mode == CheckpointMode::None {
            assert!(result.checkpoints.is_empty() && result.restore.is_none());
            assert_eq!(savepoint.id, 1);
            continue;
        }
        assert!(
            result.checkpoints.len() >= 2,
            "{}: {} checkpoints",
            result.id,
            result.checkpoints.len()
        );
        assert!(result.checkpoints.last().unwrap().is_final);
        let ids: Vec<u64> = result.checkpoints.iter().map(|c| c.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        // Verification holds nothing during the run unless asked to.
        assert!(result.checkpoints.iter().all(|c| c.verified.is_none()));
        let restore = result.restore.as_ref().unwrap();
        assert!(restore.verified, "{}", result.id);
        assert_eq!(restore.checkpoint_id, *ids.last().unwrap());
        assert!(restore.entries > 0);
        assert_eq!(savepoint.id, restore.checkpoint_id + 1);
        assert_eq!(
            (savepoint_restore.entries, savepoint_restore.bytes),
            (restore.entries, restore.bytes),
            "the final checkpoint and the savepoint hold the same state"
        );
        assert!(
            !paths.work.join(&result.id).exists(),
            "scratch space cleaned up"
        );
        // The interval log holds one histogram per timeline second.
        let log = std::fs::read(paths.run.join(result.histogram_log.as_ref().unwrap())).unwrap();
        let intervals = IntervalLogIterator::new(&log)
            .filter(|e| matches!(e, Ok(LogEntry::Interval(_))))
            .count();
        assert_eq!(intervals, result.timeline.len(), "{}", result.id);
        assert!(IntervalLogIterator::new(&log).all(|e| e.is_ok()));
    }
}

#[test]
fn every_checkpoint_is_verified_when_asked() {
    let spec = common::window_spec(30_000, 500);
    let dir = tempfile::tempdir().unwrap();
    let paths = common::cell_paths(dir.path());
    let configs = common::every_backend();
    let options = CellOptions {
        savepoint: false,
        verify_every_checkpoint: true,
        ..CellOptions::default()
    };
    for (backend, mode) in [
        (configs[0].clone(), CheckpointMode::Full),
        (configs[1].clone(), CheckpointMode::Incremental),
        (configs.last().unwrap().clone(), CheckpointMode::Full),
    ] {
        let cell = Cell {
            options,
            ..Cell::new(
                backend,
                CheckpointSetting::new(mode, Duration::from_millis(10)),
            )
        };
        let result = run_cell(
            &OpInput::Generated(spec.clone()),
            &cell,
            &paths,
            &mut |_, _| {},
        )
        .unwrap();
        assert!(result.checkpoints.len() >= 2, "{}", result.id);
        for c in &result.checkpoints {
            assert_eq!(c.verified, Some(true), "{} checkpoint {}", result.id, c.id);
        }
        assert!(result.restore.unwrap().verified);
        assert!(result.savepoint.is_none() && result.savepoint_restore.is_none());
        assert!(
            !paths.work.join(&result.id).exists(),
            "scratch space cleaned up"
        );
    }
}

#[test]
fn transfer_threads_come_from_flinks_key_and_every_count_restores() {
    let key = "state.backend.rocksdb.checkpoint.transfer.thread.num";
    let resolve = |value: Option<&str>| {
        common::flink_config_with(key, value)?
            .resolve(None)
            .map(|r| r.rocksdb_config)
    };
    assert_eq!(
        resolve(None).unwrap().transfer_threads,
        4,
        "Flink's default"
    );
    assert!(resolve(Some("many")).is_err());
    let spec = common::mixed_spec(4_000, 300);
    let layout = common::layout(&spec);
    let ops = common::all_ops(&spec);
    for threads in ["1", "-1", "7"] {
        let config = resolve(Some(threads)).unwrap();
        assert_eq!(config.transfer_threads.to_string(), threads);
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(&dir.path().join("checkpoints")).unwrap();
        let mut backend = RocksDbBackend::open(&config, &layout, &dir.path().join("db")).unwrap();
        common::apply(&mut backend, &ops);
        let target = store.target(1, Arc::new(BTreeMap::new())).unwrap();
        let async_phase = backend
            .snapshot(CheckpointMode::Incremental, &target)
            .unwrap();
        let handle = store
            .complete(&target, &async_phase(&target).unwrap())
            .unwrap();
        let restored =
            RocksDbBackend::restore(&config, &layout, &handle, &dir.path().join("r")).unwrap();
        assert_eq!(
            restored.digest().unwrap(),
            backend.digest().unwrap(),
            "{threads}"
        );
    }
}

/// Puts `keys` 10-byte values into state 0 of a heap backend for `layout` and takes a full
/// checkpoint of them into `dir`.
fn heap_checkpoint(
    layout: &statebench::backend::StateLayout,
    keys: u64,
    dir: &Path,
) -> (CheckpointHandle, statebench::backend::Digest) {
    use statebench::workload::{Namespace, OpKind, ValueRef};
    let mut backend = BackendConfig::HashMap.open(layout, dir).unwrap();
    let ops: Vec<StateOp> = (0..keys)
        .map(|key| StateOp {
            state: 0,
            key,
            namespace: Namespace::Void,
            kind: OpKind::ValuePut(ValueRef { tag: key, len: 10 }),
        })
        .collect();
    common::apply(backend.as_mut(), &ops);
    let store = CheckpointStore::new(&dir.join("checkpoints")).unwrap();
    let target = store.target(1, Arc::new(BTreeMap::new())).unwrap();
    let async_phase = backend.snapshot(CheckpointMode::Full, &target).unwrap();
    let upload = async_phase(&target).unwrap();
    assert_eq!(
        upload.format,
        SnapshotFormat::Native,
        "the heap's own layout"
    );
    (
        store.complete(&target, &upload).unwrap(),
        backend.digest().unwrap(),
    )
}

#[test]
fn a_heap_checkpoint_frames_no_entry_and_stamps_values_only_under_ttl() {
    use statebench::backend::StateLayout;
    use statebench::workload::{StateKind, TtlSpec, TtlUpdate};
    const KEYS: u64 = 1_000;
    for ttl in [
        None,
        Some(TtlSpec {
            ttl_ms: 1_000_000,
            update_type: TtlUpdate::OnCreateAndWrite,
        }),
    ] {
        let layout = StateLayout {
            states: vec![("v".into(), StateKind::Value)],
            max_parallelism: 128,
            ttl,
        };
        let dir = tempfile::tempdir().unwrap();
        let (handle, digest) = heap_checkpoint(&layout, KEYS, dir.path());
        let (name, size) = handle.private.iter().next().unwrap();
        // Header: magic, version, compression flag, max parallelism, state count, then the state
        // (name length, name, kind, namespace serializer, TTL flag); per key group its id and per
        // state its id and entry count; per entry VoidNamespace (1 byte), key (8), the value's
        // int length and 10 bytes, and under TTL its 8-byte timestamp first; a CRC-32 last.
        let header = 4 + 4 + 1 + 4 + 2 + (2 + 1 + 3);
        let entry = 1 + 8 + 4 + 10 + if ttl.is_some() { 8 } else { 0 };
        assert_eq!(
            *size,
            header + 128 * (4 + 2 + 4) + KEYS * entry + 4,
            "{name} with TTL {ttl:?}"
        );
        let restored = BackendConfig::HashMap
            .restore(&layout, &handle, &dir.path().join("restore"))
            .unwrap();
        assert_eq!(restored.digest().unwrap(), digest);

        let file = handle.dir.join(name);
        let mut bytes = std::fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        std::fs::write(&file, &bytes).unwrap();
        let error = BackendConfig::HashMap
            .restore(&layout, &handle, &dir.path().join("restore-2"))
            .err()
            .expect("a corrupt heap checkpoint restored");
        assert!(format!("{error:#}").contains("checksum"), "{error:#}");
    }
}
