//! Checkpoints are real: taken from a live backend, written to disk, restored into a fresh
//! backend and equal, by digest, to the state at the moment of the checkpoint, for every backend
//! and mode.

use crate::common;

use std::collections::BTreeMap;

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use std::sync::Arc;
use std::time::Duration;

use statebench::backend::BackendConfig;
use statebench::checkpoint::{CheckpointMode, CheckpointStore};

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
            let sync = backend.snapshot(mode).unwrap();
            // Ops go on before the async phase runs: the checkpoint must not see them.
            common::apply(backend.as_mut(), second);
            let target = store.target(1, Arc::new(BTreeMap::new())).unwrap();
            let upload = (sync.async_phase)(&target).unwrap();
            let handle = store.complete(&target, mode, &upload).unwrap();
            assert!(upload.bytes_written() > 0, "{what}");
            assert_eq!(sync.view.digest().unwrap(), at_first, "{what}: view");
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
            let sync = backend.snapshot(mode).unwrap();
            common::apply(backend.as_mut(), third);
            let target = store.target(2, Arc::new(handle.shared.clone())).unwrap();
            let upload = (sync.async_phase)(&target).unwrap();
            let handle2 = store.complete(&target, mode, &upload).unwrap();
            if mode == CheckpointMode::Incremental {
                let reused = upload.shared.len() - upload.shared_written.len();
                assert!(reused >= 1, "{what}: nothing reused");
                assert!(upload.bytes_written() < upload.size(), "{what}");
            }
            CheckpointStore::discard_handle(&handle, std::slice::from_ref(&handle2)).unwrap();
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

#[test]
fn a_corrupt_full_checkpoint_fails_to_restore() {
    let spec = common::mixed_spec(2_000, 100);
    let layout = common::layout(&spec);
    for config in [BackendConfig::HashMap, common::every_backend().remove(1)] {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(&dir.path().join("checkpoints")).unwrap();
        let mut backend = config.open(&layout, &dir.path().join("db")).unwrap();
        common::apply(backend.as_mut(), &common::all_ops(&spec));
        let sync = backend.snapshot(CheckpointMode::Full).unwrap();
        let target = store.target(1, Arc::new(BTreeMap::new())).unwrap();
        let upload = (sync.async_phase)(&target).unwrap();
        let handle = store
            .complete(&target, CheckpointMode::Full, &upload)
            .unwrap();
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
            "{}: corrupt checkpoint restored",
            config.name()
        );
    }
}

#[test]
fn cells_take_checkpoints_during_the_run_and_verify_the_last_one() {
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
        assert_eq!(result.measured_events, 54_000);
        assert!(result.measured_ops > result.measured_events);
        assert_eq!(result.all_ops.count, result.measured_ops);
        if mode == CheckpointMode::None {
            assert!(result.checkpoints.is_empty() && result.restore.is_none());
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
        let restore = result.restore.as_ref().unwrap();
        assert!(restore.verified, "{}", result.id);
        assert_eq!(restore.checkpoint_id, *ids.last().unwrap());
        assert!(restore.entries > 0);
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
