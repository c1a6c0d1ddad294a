//! results.json across versions: `statebench report` redraws a run written by statebench's
//! schema version 1 (a real file, `tests/fixtures/results-v1/`: a matrix run with
//! `--set state.backend.rocksdb.timer-service.factory=HEAP` and a user profile `BIG`), redraws a
//! version-2 run (the fixture `tests/fixtures/results-v2/`) and a version-3 run, and refuses a version it does not know with the version it found.

use std::path::Path;
use std::process::{Command, Output};

use statebench::backend::rocksdb::{PredefinedProfile, TimerFactory};
use statebench::checkpoint::CheckpointMode;
use statebench::config::{BackendType, KeySource};
use statebench::report::recommend::flink_config;
use statebench::results::{read_results, CellProfile, RESULTS_FILE, SCHEMA_VERSION};

use crate::common;

const V1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/results-v1/results.json"
);

/// A version-2 run (`matrix` of a tiny workload with `state.backend.type: hashmap`, written by
/// statebench before repeats).
const V2: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/results-v2/results.json"
);

#[test]
fn version_2_results_are_read_as_one_repeat_per_cell_and_redrawn() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(V2, dir.path().join(RESULTS_FILE)).unwrap();
    let results = read_results(dir.path()).unwrap();
    assert_eq!(
        (results.schema_version, results.converted_from),
        (SCHEMA_VERSION, Some(2))
    );
    assert_eq!(results.protocol.repeats, 1);
    for cell in &results.cells {
        assert_eq!(cell.repeats.len(), 1);
        assert_eq!(cell.repeats[0].ops_per_s, cell.ops_per_s);
    }
    let md = redraw(dir.path());
    assert!(md.contains("Each cell ran once"), "{md}");
    assert!(md.contains("Converted from results.json version 2, which ran each cell once"));
}

fn statebench(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_statebench"))
        .args(args)
        .arg(dir)
        .output()
        .unwrap()
}

/// Runs `statebench report DIR`, checks it succeeded and returns the report.md it wrote.
fn redraw(dir: &Path) -> String {
    let out = statebench(&["report"], dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.join("report.md")).unwrap()
}

/// A run directory holding a copy of the version-1 fixture.
fn v1_run() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(V1, dir.path().join(RESULTS_FILE)).unwrap();
    dir
}

#[test]
fn version_1_results_are_converted_to_typed_setups() {
    let dir = v1_run();
    let results = read_results(dir.path()).unwrap();
    assert_eq!(results.schema_version, SCHEMA_VERSION);
    assert_eq!(results.converted_from, Some(1));
    let ids: Vec<&str> = results.cells.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "hashmap-full",
            "rocksdb-DEFAULT+HEAP_TIMERS-incremental",
            "rocksdb-BIG-full"
        ]
    );
    let [heap, default, big] = &results.cells[..] else {
        unreachable!()
    };
    assert_eq!(heap.setup.backend, BackendType::HashMap);
    assert_eq!(heap.setup.checkpoint_mode, CheckpointMode::Full);
    assert_eq!(heap.setup.checkpoint_interval_ms, 20);
    assert_eq!(
        default.setup.profile,
        Some(CellProfile::Predefined(PredefinedProfile::Default))
    );
    assert_eq!(default.setup.timers, Some(TimerFactory::Heap));
    assert_eq!(default.setup.checkpoint_mode, CheckpointMode::Incremental);
    // Version 1 dropped the timer suffix of user profiles and never recorded their keys.
    assert_eq!(big.setup.profile.as_ref().map(|p| p.name()), Some("BIG"));
    assert_eq!(big.setup.timers, Some(TimerFactory::Rocksdb));
    assert!(big
        .setup
        .flink_keys
        .iter()
        .all(|k| k.key != "state.backend.rocksdb.predefined-options"));
    let interval = big
        .setup
        .flink_keys
        .iter()
        .find(|k| k.key == "execution.checkpointing.interval")
        .unwrap();
    assert_eq!(
        (interval.value.as_str(), interval.source),
        ("20ms", KeySource::Unrecorded)
    );
    assert!(big.measured_ops > 0 && big.restore.as_ref().unwrap().verified);
}

#[test]
fn report_redraws_a_version_1_run_and_says_what_it_lacks() {
    let dir = v1_run();
    let md = redraw(dir.path());
    assert!(md.contains("Converted from results.json version 1"), "{md}");
    // The RocksDB cells are within 10% on throughput, so the far shorter checkpoints decide.
    assert!(
        md.contains("If it does not, use `rocksdb-BIG-full`"),
        "{md}"
    );
    let converted = &read_results(dir.path()).unwrap().cells[1];
    assert!(flink_config(&converted.setup).contains(
        "state.backend.rocksdb.predefined-options: DEFAULT\n\
         state.backend.rocksdb.timer-service.factory: HEAP\n"
    ));
    assert!(!md.contains("predefined-options: DEFAULT+HEAP_TIMERS"));
    assert!(!md.contains("memory.managed: true"));
    let kept = std::fs::read_to_string(dir.path().join(RESULTS_FILE)).unwrap();
    assert_eq!(
        kept,
        std::fs::read_to_string(V1).unwrap(),
        "the file is left as it is"
    );
}

#[test]
fn report_refuses_a_version_it_does_not_know() {
    let dir = v1_run();
    let path = dir.path().join(RESULTS_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("\"schema_version\": 1", "\"schema_version\": 4", 1),
    )
    .unwrap();
    let out = statebench(&["report"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`schema_version`: expected 1 to 3, got 4"),
        "{stderr}"
    );
}

#[test]
fn a_run_writes_version_3_with_its_repeats_and_the_keys_it_ran_with_and_report_redraws_it() {
    let dir = tempfile::tempdir().unwrap();
    let workload = dir.path().join("w.json");
    std::fs::write(
        &workload,
        r#"{"name":"t","description":"d","seed":1,"events":400,"warmup_events":40,"max_parallelism":128,"keys":{"count":50,"distribution":{"type":"uniform"}},"value_size":{"type":"fixed","bytes":8},"states":[{"type":"value","name":"v","read_only_fraction":0.5}]}"#,
    )
    .unwrap();
    let profiles = dir.path().join("profiles.yaml");
    std::fs::write(
        &profiles,
        "BIG:\n  state.backend.rocksdb.predefined-options: FLASH_SSD_OPTIMIZED\n  state.backend.rocksdb.writebuffer.size: 128mb\n",
    )
    .unwrap();
    let run = common::statebench_run(
        &[
            "run",
            workload.to_str().unwrap(),
            "--profile",
            "big",
            "--checkpoint",
            "incremental",
            "--interval",
            "50ms",
            "--profiles",
            profiles.to_str().unwrap(),
            "--set",
            "state.backend.rocksdb.timer-service.factory=HEAP",
            "--set",
            "execution.checkpointing.unaligned.enabled=true",
        ],
        &dir.path().join("reports"),
    );
    let results = read_results(&run).unwrap();
    assert_eq!(results.converted_from, None);
    let cell = &results.cells[0];
    assert_eq!(cell.id, "rocksdb-BIG+HEAP_TIMERS-incremental");
    let source = |key: &str| {
        cell.setup
            .flink_keys
            .iter()
            .find(|k| k.key == key)
            .map(|k| (k.value.as_str(), k.source))
    };
    assert_eq!(
        source("state.backend.rocksdb.writebuffer.size"),
        Some(("128mb", KeySource::UserProfile))
    );
    assert_eq!(
        source("state.backend.rocksdb.timer-service.factory"),
        Some(("HEAP", KeySource::SetOption))
    );
    assert_eq!(
        source("execution.checkpointing.interval"),
        Some(("50ms", KeySource::IntervalOption))
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join(RESULTS_FILE)).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 3);
    // Two repeats, each in its own process, their raw numbers and whole results kept.
    assert_eq!(results.protocol.repeats, 2);
    assert!(results.protocol.child_processes);
    assert_eq!(cell.repeats.len(), 2);
    for repeat in &cell.repeats {
        assert!(run.join(repeat.file.as_ref().unwrap()).is_file());
        assert!(repeat.peak_rss_bytes.unwrap() > 1 << 20);
    }
    assert_eq!(cell.representative_repeat, cell.median_repeat());
    let analysis = results.analysis.as_ref().unwrap();
    assert_eq!(analysis.cells[0].repeats, 2);
    assert_eq!(json["cells"][0]["setup"]["backend"], "rocksdb");
    assert_eq!(
        json["cells"][0]["setup"]["profile"]["user"]["keys"]
            ["state.backend.rocksdb.writebuffer.size"],
        "128mb"
    );
    std::fs::remove_file(run.join("report.md")).unwrap();
    let out = statebench(&["report"], &run);
    assert!(out.status.success());
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("`state.backend.rocksdb.writebuffer.size: 128mb` (user profile)"));
    assert!(!md.contains("Converted from"));
    // An unmodelled key is recorded as written and explained, not silently dropped.
    assert_eq!(
        source("execution.checkpointing.unaligned.enabled"),
        Some(("true", KeySource::SetOption))
    );
    assert!(md.contains("## Unaligned checkpoints"));
    assert!(
        md.contains("Your configuration sets `execution.checkpointing.unaligned.enabled: true`")
    );
    assert!(!md.contains("## State TTL"), "the workload has no TTL");
    // The savepoint every cell takes by default: time, size and restore, verified.
    assert!(cell.savepoint.is_some());
    assert!(cell.savepoint_restore.as_ref().unwrap().verified);
    assert!(md.contains("Savepoint (Flink's canonical format, at the end of input)"));
    assert!(md.contains("verified equal to the live state"));
    assert!(!md.contains("Every checkpoint was restored"));

    // --no-savepoint takes none; --verify-every-checkpoint checks each and says it perturbs.
    let run = common::run_heap_cell(
        &workload,
        &dir.path().join("reports2"),
        &["--verify-every-checkpoint"],
    );
    let results = read_results(&run).unwrap();
    let cell = &results.cells[0];
    assert!(cell.savepoint.is_none());
    assert!(!cell.checkpoints.is_empty());
    assert!(cell.checkpoints.iter().all(|k| k.verified == Some(true)));
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("Every checkpoint was restored and verified"));
    assert!(!md.contains("Savepoint (Flink's canonical format"));
}
