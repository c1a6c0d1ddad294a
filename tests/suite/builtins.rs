//! Every built-in workload runs through a cell, shrunk to a few thousand events: generated,
//! replayed on the heap and on RocksDB with checkpoints, restored and verified.

use std::time::Duration;

use statebench::backend::rocksdb::{PredefinedProfile, RocksDbConfig};
use statebench::backend::BackendConfig;
use statebench::checkpoint::{CheckpointMode, CheckpointSetting};
use statebench::run::{run_cell, Cell, CellPaths, OpInput};
use statebench::workload::WorkloadSpec;

#[test]
fn every_built_in_workload_runs_and_verifies() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads");
    let work = tempfile::tempdir().unwrap();
    let paths = CellPaths {
        work: work.path().join("work"),
        run: work.path().to_path_buf(),
        repeat: None,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let mut spec = WorkloadSpec::load(&path).unwrap();
        spec.keys.count = spec.keys.count.min(2_000);
        spec.events = 8_000;
        spec.warmup_events = 2_000;
        names.push(spec.name.clone());
        let input = OpInput::Generated(spec);
        for (backend, mode) in [
            (BackendConfig::HashMap, CheckpointMode::Full),
            (
                BackendConfig::RocksDb(RocksDbConfig::new(PredefinedProfile::Default)),
                CheckpointMode::Incremental,
            ),
        ] {
            let cell = Cell::new(
                backend,
                CheckpointSetting::new(mode, Duration::from_millis(50)),
            );
            let result = run_cell(&input, &cell, &paths, &mut |_, _| {})
                .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            assert!(result.measured_ops > 0, "{}", path.display());
            // Rescaled from 1 to 2, the halves hold the whole state: timers and windows too.
            let recovery = result.recovery.as_ref().unwrap();
            assert!(
                recovery.rescale.as_ref().unwrap().verified,
                "{} {}: rescale",
                path.display(),
                result.id
            );
            assert!(recovery.recovery_ms > 0.0);
            for restore in [result.restore, result.savepoint_restore] {
                assert!(
                    restore.unwrap().verified,
                    "{} {}",
                    path.display(),
                    result.id
                );
            }
        }
    }
    assert!(names.len() >= 12, "{names:?}");
}
