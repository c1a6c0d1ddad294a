//! The config.yaml a report recommends is Flink 2.x for every kind of cell that can win
//! (predefined and user profiles, HEAP timers, `--config`/`--set` keys, every memory mode, the
//! heap backend with and without checkpoints, full and incremental checkpoints), and statebench's
//! own configuration reader reads it back to the settings and keys the cell ran with.

use crate::common;

use std::path::Path;
use std::time::Duration;

use statebench::backend::rocksdb::{MemoryMode, PredefinedProfile, RocksStatistics, TimerFactory};
use statebench::backend::BackendConfig;
use statebench::checkpoint::CheckpointMode;
use statebench::config::{
    cell_keys, load_user_profiles, BackendType, ChosenSources, FlinkConfig, KeySource, KEYS,
};
use statebench::report::recommend::flink_config;
use statebench::run::{Cell, Plan};

/// The Flink 2.x name of every key statebench writes (no legacy alias), and the values Flink
/// accepts for the keys that take a name.
fn assert_flink2(yaml: &str, what: &str) {
    for line in yaml.lines() {
        let (key, value) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("{what}: not `key: value`: {line:?}"));
        // A modelled key by its Flink 2.x name, or a valid key recorded as the user wrote it.
        assert!(
            KEYS.contains(&key)
                || FlinkConfig::default()
                    .set(&format!("{key}={value}"))
                    .is_ok(),
            "{what}: {key} is not a Flink 2.x key"
        );
        let allowed: &[&str] = match key {
            "state.backend.type" => &["hashmap", "rocksdb"],
            "state.backend.rocksdb.predefined-options" => &PredefinedProfile::ALL.map(|p| p.name()),
            "state.backend.rocksdb.timer-service.factory" => &["ROCKSDB", "HEAP"],
            _ => continue,
        };
        assert!(allowed.contains(&value), "{what}: {line}");
    }
}

/// Renders `cell`'s recommended config.yaml, reads it back through `FlinkConfig`, and checks that
/// it resolves to the backend, RocksDB settings, memory, timers, checkpoint setting and key values
/// the cell ran with. Returns the YAML.
fn assert_round_trip(cell: &Cell, dir: &Path) -> String {
    let what = cell.id();
    let yaml = flink_config(&cell.setup);
    assert_flink2(&yaml, &what);
    let path = dir.join("recommended").join("config.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &yaml).unwrap();
    let parsed = FlinkConfig::from_file(&path).unwrap_or_else(|e| panic!("{what}: {e:#}\n{yaml}"));
    let resolved = parsed.resolve(None).unwrap();
    assert_eq!(resolved.backend, Some(cell.setup.backend), "{what}\n{yaml}");
    let read_back = match &cell.backend {
        BackendConfig::HashMap => BackendConfig::HashMap,
        BackendConfig::RocksDb(rocks) => {
            let back = &resolved.rocksdb_config;
            assert_eq!(back.profile, rocks.profile, "{what}\n{yaml}");
            assert_eq!(back.settings, rocks.settings, "{what}\n{yaml}");
            assert_eq!(back.memory, rocks.memory, "{what}\n{yaml}");
            assert_eq!(back.timers, rocks.timers, "{what}\n{yaml}");
            assert_eq!(back.ticker_metrics, rocks.ticker_metrics, "{what}\n{yaml}");
            BackendConfig::RocksDb(back.clone())
        }
    };
    let checkpoints = cell.checkpoint.mode != CheckpointMode::None;
    assert_eq!(
        resolved.checkpoint.setting(),
        checkpoints.then_some(cell.checkpoint),
        "{what}\n{yaml}"
    );
    let chosen = ChosenSources {
        predefined_options: None,
        interval: KeySource::ConfigFile,
    };
    let keys_back =
        cell_keys(&read_back, &cell.checkpoint, &cell.storage, &parsed, chosen).unwrap();
    let values = |keys: &[statebench::config::FlinkKey]| {
        keys.iter()
            .map(|k| (k.key.clone(), k.value.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(values(&keys_back), values(&cell.setup.flink_keys), "{what}");
    yaml
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The value and source `cell` ran `key` with.
fn key<'a>(cell: &'a Cell, key: &str) -> (&'a str, KeySource) {
    let k = cell
        .setup
        .flink_keys
        .iter()
        .find(|k| k.key == key)
        .unwrap_or_else(|| panic!("{}: no {key}", cell.id()));
    (&k.value, k.source)
}

fn find<'a>(cells: &'a [Cell], id: &str) -> &'a Cell {
    cells
        .iter()
        .find(|c| c.id() == id)
        .unwrap_or_else(|| panic!("no cell {id}"))
}

#[test]
fn every_cell_of_the_plain_matrix_round_trips() {
    let spec = common::mixed_spec(100, 10);
    let dir = tempfile::tempdir().unwrap();
    let cells = Plan::default().matrix(&spec).unwrap();
    assert_eq!(cells.len(), 2 + 4 * 3);
    for cell in &cells {
        assert_round_trip(cell, dir.path());
    }
    let yaml = assert_round_trip(find(&cells, "rocksdb-DEFAULT-incremental"), dir.path());
    assert_eq!(
        yaml,
        "state.backend.type: rocksdb\n\
         state.backend.rocksdb.predefined-options: DEFAULT\n\
         execution.checkpointing.interval: 2000ms\n\
         execution.checkpointing.incremental: true"
    );
    let yaml = assert_round_trip(find(&cells, "hashmap-none"), dir.path());
    assert_eq!(yaml, "state.backend.type: hashmap");
}

const FLINK_CONF: &str = "\
state.backend: rocksdb
state.backend.incremental: true
state.checkpoints.num-retained: 2
execution.checkpointing.interval: 30 s
execution.checkpointing.min-pause: 100 ms
execution.checkpointing.timeout: 10 min
execution.checkpointing.unaligned.enabled: true
state.backend.rocksdb.compression.per.level: LZ4_COMPRESSION;ZSTD_COMPRESSION
state.backend.rocksdb.writebuffer.size: 128 mb
taskmanager.memory.managed.size: 600mb
taskmanager.numberOfTaskSlots: 2
rest.port: 8081
";

const PROFILES: &str = "\
BIG_BUFFERS:
  state.backend.rocksdb.predefined-options: FLASH_SSD_OPTIMIZED
  state.backend.rocksdb.writebuffer.size: 256mb
UNMANAGED:
  state.backend.rocksdb.memory.managed: false
  state.backend.rocksdb.use-bloom-filter: true
FIXED:
  state.backend.rocksdb.memory:
    fixed-per-slot: 120mb
    write-buffer-ratio: 0.25
";

#[test]
fn config_set_and_user_profile_keys_are_recommended_as_measured() {
    let spec = common::mixed_spec(100, 10);
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "flink-conf.yaml", FLINK_CONF);
    let profiles = write(dir.path(), "profiles.yaml", PROFILES);
    let set = [
        "state.backend.rocksdb.timer-service.factory=HEAP".to_string(),
        "state.backend.rocksdb.block.cache-size=16mb".to_string(),
        // A statistics-based native metric (modelled: the DB gets Flink's statistics object)
        // and a property-based one (recorded only).
        "state.backend.rocksdb.metrics.bytes-read=true".to_string(),
        "state.backend.rocksdb.metrics.estimate-num-keys=true".to_string(),
    ];
    for interval in [None, Some("1500ms")] {
        // statebench's own statistics are instrumentation, never a key of the job's.
        let plan = Plan::from_options(Some(&config), &set, Some(&profiles), interval)
            .unwrap()
            .with_rocksdb_statistics(true);
        let cells = plan.matrix(&spec).unwrap();
        assert_eq!(
            cells.len(),
            7 * 3,
            "state.backend: rocksdb leaves out hashmap"
        );
        for cell in &cells {
            assert_round_trip(cell, dir.path());
        }
        let interval_source = match interval {
            Some(_) => KeySource::IntervalOption,
            None => KeySource::ConfigFile,
        };
        let big = find(&cells, "rocksdb-BIG_BUFFERS+HEAP_TIMERS-full");
        let yaml = assert_round_trip(big, dir.path());
        for line in [
            "state.backend.type: rocksdb",
            "state.backend.rocksdb.predefined-options: FLASH_SSD_OPTIMIZED",
            "state.backend.rocksdb.writebuffer.size: 256mb",
            "state.backend.rocksdb.compression.per.level: [LZ4_COMPRESSION, ZSTD_COMPRESSION]",
            "state.backend.rocksdb.block.cache-size: 16mb",
            "state.backend.rocksdb.timer-service.factory: HEAP",
            "state.backend.rocksdb.metrics.bytes-read: true",
            "taskmanager.memory.managed.size: 600mb",
            "taskmanager.numberOfTaskSlots: 2",
            "execution.checkpointing.incremental: false",
            "execution.checkpointing.min-pause: 100ms",
            "execution.checkpointing.num-retained: 2",
            "execution.checkpointing.timeout: 600000ms",
            // Valid keys without a modelled effect: recorded and carried as written.
            "execution.checkpointing.unaligned.enabled: true",
            "state.backend.rocksdb.metrics.estimate-num-keys: true",
        ] {
            assert!(yaml.lines().any(|l| l == line), "{line:?} not in\n{yaml}");
        }
        assert!(!yaml.contains("BIG_BUFFERS") && !yaml.contains("rocksdb.memory.managed"));
        let BackendConfig::RocksDb(rocks) = &big.backend else {
            panic!("a RocksDB cell")
        };
        assert_eq!(rocks.statistics_level(), RocksStatistics::Flink);
        assert!(
            !yaml.contains("statistics"),
            "--rocksdb-statistics is no key: {yaml}"
        );
        assert_eq!(key(big, "state.backend.type").1, KeySource::ConfigFile);
        assert_eq!(
            key(big, "state.backend.rocksdb.writebuffer.size"),
            ("256mb", KeySource::UserProfile)
        );
        assert_eq!(
            key(big, "state.backend.rocksdb.block.cache-size"),
            ("16mb", KeySource::SetOption)
        );
        assert_eq!(
            key(big, "state.backend.rocksdb.thread.num"),
            ("4", KeySource::PredefinedProfile)
        );
        assert_eq!(
            key(big, "state.backend.rocksdb.memory.managed"),
            ("true", KeySource::FlinkDefault)
        );
        assert_eq!(
            key(big, "execution.checkpointing.num-retained"),
            ("2", KeySource::ConfigFile)
        );
        assert_eq!(
            key(big, "execution.checkpointing.interval").1,
            interval_source
        );
        assert_eq!(
            key(big, "execution.checkpointing.incremental"),
            ("false", KeySource::Cell)
        );

        let unmanaged = find(&cells, "rocksdb-UNMANAGED+HEAP_TIMERS-incremental");
        let yaml = assert_round_trip(unmanaged, dir.path());
        assert!(yaml.contains("state.backend.rocksdb.memory.managed: false\n"));
        assert!(!yaml.contains("predefined-options"), "DEFAULT is implied");
        let BackendConfig::RocksDb(rocks) = &unmanaged.backend else {
            panic!("a RocksDB cell")
        };
        assert_eq!(rocks.memory, MemoryMode::Unmanaged);

        let fixed = find(&cells, "rocksdb-FIXED+HEAP_TIMERS-none");
        let yaml = assert_round_trip(fixed, dir.path());
        assert!(yaml.contains("state.backend.rocksdb.memory.fixed-per-slot: 120mb"));
        assert!(yaml.contains("state.backend.rocksdb.memory.write-buffer-ratio: 0.25"));
        assert!(!yaml.contains("execution.checkpointing"), "{yaml}");
    }
}

#[test]
fn run_cells_round_trip_and_the_configured_backend_is_honoured() {
    let spec = common::mixed_spec(100, 10);
    let dir = tempfile::tempdir().unwrap();
    let heap_only = write(
        dir.path(),
        "config.yaml",
        "state:\n  backend:\n    type: hashmap\nexecution:\n  checkpointing:\n    interval: 5 s\n",
    );
    let plan = Plan::from_options(Some(&heap_only), &[], None, None).unwrap();
    let cells = plan.matrix(&spec).unwrap();
    let ids: Vec<String> = cells.iter().map(Cell::id).collect();
    assert_eq!(ids, ["hashmap-none", "hashmap-full"]);
    for cell in &cells {
        assert_round_trip(cell, dir.path());
    }
    let run = plan
        .single_cell(&spec, None, "DEFAULT", CheckpointMode::Full)
        .unwrap();
    assert_eq!(run.setup.backend, BackendType::HashMap, "run's default");
    assert_eq!(run.checkpoint.interval, Duration::from_secs(5));
    let explicit = plan
        .single_cell(
            &spec,
            Some(BackendType::RocksDb),
            "spinning_disk_optimized",
            CheckpointMode::Incremental,
        )
        .unwrap();
    assert_eq!(explicit.id(), "rocksdb-SPINNING_DISK_OPTIMIZED-incremental");
    let yaml = assert_round_trip(&explicit, dir.path());
    assert!(
        yaml.contains("state.backend.type: rocksdb"),
        "--backend wins"
    );

    let profiles = write(dir.path(), "profiles.yaml", PROFILES);
    let err = Plan::from_options(Some(&heap_only), &[], Some(&profiles), None)
        .unwrap()
        .matrix(&spec)
        .unwrap_err();
    assert!(format!("{err:#}").contains("state.backend.type is hashmap"));

    let set = [
        "state.backend.rocksdb.memory.managed=false".to_string(),
        "state.backend.rocksdb.timer-service.factory=HEAP".to_string(),
    ];
    let plan = Plan::from_options(None, &set, None, Some("250ms")).unwrap();
    let cell = plan
        .single_cell(&spec, None, "FLASH_SSD_OPTIMIZED", CheckpointMode::Full)
        .unwrap();
    assert_eq!(cell.setup.timers, Some(TimerFactory::Heap));
    let yaml = assert_round_trip(&cell, dir.path());
    assert_eq!(
        yaml,
        "state.backend.type: rocksdb\n\
         state.backend.rocksdb.predefined-options: FLASH_SSD_OPTIMIZED\n\
         state.backend.rocksdb.memory.managed: false\n\
         state.backend.rocksdb.timer-service.factory: HEAP\n\
         execution.checkpointing.interval: 250ms\n\
         execution.checkpointing.incremental: false"
    );
    let profiles = load_user_profiles(&profiles).unwrap();
    let plan = Plan::new(FlinkConfig::default(), profiles, None);
    let cell = plan
        .single_cell(&spec, None, "big_buffers", CheckpointMode::Incremental)
        .unwrap();
    assert_round_trip(&cell, dir.path());
    let err = plan
        .single_cell(&spec, None, "FAST", CheckpointMode::None)
        .unwrap_err();
    assert!(format!("{err:#}").contains("DEFAULT, SPINNING_DISK_OPTIMIZED"));
    let err = plan
        .single_cell(
            &spec,
            Some(BackendType::HashMap),
            "DEFAULT",
            CheckpointMode::Incremental,
        )
        .unwrap_err();
    assert!(format!("{err:#}").contains("does not take incremental checkpoints"));
}

#[test]
fn cells_built_in_code_attribute_what_the_profile_does_not_explain_to_the_cell() {
    let dir = tempfile::tempdir().unwrap();
    for backend in common::every_backend() {
        for mode in CheckpointMode::ALL {
            if backend.supports(mode) {
                let setting = statebench::checkpoint::CheckpointSetting::new(
                    mode,
                    Duration::from_millis(300),
                );
                assert_round_trip(&Cell::new(backend.clone(), setting), dir.path());
            }
        }
    }
    let mut heap_timers =
        statebench::backend::rocksdb::RocksDbConfig::new(PredefinedProfile::Default);
    heap_timers.timers = TimerFactory::Heap;
    let cell = Cell::new(
        BackendConfig::RocksDb(heap_timers),
        statebench::checkpoint::CheckpointSetting::new(CheckpointMode::None, Duration::ZERO),
    );
    assert_eq!(
        key(&cell, "state.backend.rocksdb.timer-service.factory"),
        ("HEAP", KeySource::Cell)
    );
}
