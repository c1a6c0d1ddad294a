//! Version 1 of results.json, converted to the current layout on reading.
//!
//! Version 1 named a cell's backend, profile and checkpoint mode with strings (the profile as a
//! label: the predefined or user profile's name, with `+HEAP_TIMERS` when timers lived on the
//! heap) and did not record the Flink keys the cell ran with. The conversion keeps everything
//! measured as it is and rebuilds each cell's setup from those strings: backend, profile, timer
//! service, checkpoint mode and interval become types and keys (their sources `cell` where the
//! matrix chose them, else `unrecorded`). What version 1 never wrote down stays missing: the keys
//! of `--config`, `--set` and a user profile (a user profile keeps only its name; its base
//! profile is unknown). [`Results::converted_from`] says so, and the report repeats it.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{CellProfile, CellSetup, Results, SCHEMA_VERSION};
use crate::backend::rocksdb::{PredefinedProfile, TimerFactory};
use crate::checkpoint::CheckpointMode;
use crate::config::{BackendType, FlinkKey, KeySource};

/// The fields of a version-1 cell that version 2 replaced with [`CellSetup`].
#[derive(Deserialize)]
struct SetupV1 {
    backend: BackendType,
    profile: Option<String>,
    checkpoint_mode: CheckpointMode,
    checkpoint_interval_ms: u64,
}

const SETUP_FIELDS: [&str; 4] = [
    "backend",
    "profile",
    "checkpoint_mode",
    "checkpoint_interval_ms",
];

/// Converts version-1 results (as JSON) into [`Results`].
pub(super) fn convert(mut json: Value) -> Result<Results> {
    let Some(cells) = json.get_mut("cells").and_then(Value::as_array_mut) else {
        bail!("field `cells`: expected a list");
    };
    for (i, cell) in cells.iter_mut().enumerate() {
        let Some(cell) = cell.as_object_mut() else {
            bail!("cells[{i}]: expected an object");
        };
        let mut old = Map::new();
        for field in SETUP_FIELDS {
            if let Some(value) = cell.remove(field) {
                old.insert(field.to_string(), value);
            }
        }
        let old: SetupV1 = serde_json::from_value(Value::Object(old))
            .with_context(|| format!("cells[{i}] ({})", cell_id(cell)))?;
        cell.insert("setup".to_string(), serde_json::to_value(setup(old))?);
    }
    json["schema_version"] = SCHEMA_VERSION.into();
    Ok(serde_json::from_value(json)?)
}

fn cell_id(cell: &Map<String, Value>) -> &str {
    cell.get("id").and_then(Value::as_str).unwrap_or("no id")
}

fn key(key: &str, value: &str, source: KeySource) -> FlinkKey {
    FlinkKey {
        key: key.to_string(),
        value: value.to_string(),
        source,
    }
}

/// The setup a version-1 cell's strings tell.
fn setup(old: SetupV1) -> CellSetup {
    let mut flink_keys = vec![key(
        "state.backend.type",
        old.backend.name(),
        KeySource::Cell,
    )];
    let (mut profile, mut timers) = (None, None);
    if let (BackendType::RocksDb, Some(label)) = (old.backend, &old.profile) {
        let (name, heap_timers) = match label.strip_suffix("+HEAP_TIMERS") {
            Some(name) => (name, true),
            None => (label.as_str(), false),
        };
        profile = Some(match name.parse::<PredefinedProfile>() {
            Ok(predefined) => {
                flink_keys.push(key(
                    "state.backend.rocksdb.predefined-options",
                    predefined.name(),
                    KeySource::Cell,
                ));
                CellProfile::Predefined(predefined)
            }
            Err(_) => CellProfile::User {
                name: name.to_string(),
                keys: Default::default(),
            },
        });
        if heap_timers {
            flink_keys.push(key(
                "state.backend.rocksdb.timer-service.factory",
                "HEAP",
                KeySource::Unrecorded,
            ));
        }
        timers = Some(if heap_timers {
            TimerFactory::Heap
        } else {
            TimerFactory::Rocksdb
        });
    }
    if old.checkpoint_mode != CheckpointMode::None {
        flink_keys.push(key(
            "execution.checkpointing.interval",
            &format!("{}ms", old.checkpoint_interval_ms),
            KeySource::Unrecorded,
        ));
        flink_keys.push(key(
            "execution.checkpointing.incremental",
            &(old.checkpoint_mode == CheckpointMode::Incremental).to_string(),
            KeySource::Cell,
        ));
    }
    CellSetup {
        backend: old.backend,
        profile,
        timers,
        checkpoint_mode: old.checkpoint_mode,
        checkpoint_interval_ms: old.checkpoint_interval_ms,
        flink_keys,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::config::config_yaml;
    use crate::results::tests::results_with;
    use crate::results::{read_results, RESULTS_FILE};

    /// A cell as results.json version 1 wrote it.
    fn v1_cell(
        id: &str,
        backend: &str,
        profile: Option<&str>,
        mode: &str,
        interval_ms: u64,
    ) -> serde_json::Value {
        json!({
            "id": id, "backend": backend, "profile": profile, "checkpoint_mode": mode,
            "checkpoint_interval_ms": interval_ms, "measured_events": 90, "measured_ops": 180,
            "elapsed_s": 0.01, "ops_per_s": 18000.0, "events_per_s": 9000.0,
            "all_ops": {"op": "all", "count": 180, "mean_ns": 900.0, "p50_ns": 800, "p90_ns": 1000,
                        "p99_ns": 2000, "p999_ns": 3000, "max_ns": 4000,
                        "distribution": [[50.0, 800], [100.0, 4000]], "histogram": ""},
            "ops": [], "timeline": [], "histogram_log": format!("histograms/{id}.hlog"),
            "checkpoints": [], "restore": null, "options_file": null
        })
    }

    /// Writes `json` as a run directory's results.json and reads it.
    fn read_json(json: &serde_json::Value) -> Result<Results> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(RESULTS_FILE), json.to_string()).unwrap();
        read_results(dir.path())
    }

    #[test]
    fn version_1_is_converted_from_its_labels() {
        let mut json = serde_json::to_value(results_with(vec![])).unwrap();
        json["schema_version"] = 1.into();
        json["cells"] = json!([
            v1_cell("hashmap-full", "hashmap", None, "full", 1000),
            v1_cell(
                "rocksdb-FLASH_SSD_OPTIMIZED+HEAP_TIMERS-incremental",
                "rocksdb",
                Some("FLASH_SSD_OPTIMIZED+HEAP_TIMERS"),
                "incremental",
                500
            ),
            v1_cell("rocksdb-BIG-none", "rocksdb", Some("BIG"), "none", 0),
        ]);
        let results = read_json(&json).unwrap();
        assert_eq!(
            (results.schema_version, results.converted_from),
            (SCHEMA_VERSION, Some(1))
        );
        let [heap, flash, big] = &results.cells[..] else {
            panic!("three cells")
        };
        assert_eq!(heap.setup.backend, BackendType::HashMap);
        assert_eq!(
            (heap.setup.profile.as_ref(), heap.setup.timers),
            (None, None)
        );
        assert_eq!(
            config_yaml(&heap.setup.flink_keys),
            "state.backend.type: hashmap\nexecution.checkpointing.interval: 1000ms\n\
             execution.checkpointing.incremental: false"
        );
        assert_eq!(
            flash.setup.profile,
            Some(CellProfile::Predefined(
                PredefinedProfile::FlashSsdOptimized
            ))
        );
        assert_eq!(flash.setup.timers, Some(TimerFactory::Heap));
        assert_eq!(flash.setup.checkpoint_mode, CheckpointMode::Incremental);
        assert_eq!(
            flash.setup.profile_label().as_deref(),
            Some("FLASH_SSD_OPTIMIZED+HEAP_TIMERS")
        );
        assert_eq!(
            config_yaml(&flash.setup.flink_keys),
            "state.backend.type: rocksdb\n\
             state.backend.rocksdb.predefined-options: FLASH_SSD_OPTIMIZED\n\
             state.backend.rocksdb.timer-service.factory: HEAP\n\
             execution.checkpointing.interval: 500ms\n\
             execution.checkpointing.incremental: true"
        );
        let timers = &flash.setup.flink_keys[2];
        assert_eq!(timers.source, KeySource::Unrecorded);
        assert_eq!(
            big.setup.profile,
            Some(CellProfile::User {
                name: "BIG".into(),
                keys: BTreeMap::new()
            })
        );
        assert_eq!(
            config_yaml(&big.setup.flink_keys),
            "state.backend.type: rocksdb"
        );
        assert_eq!(big.measured_ops, 180, "measurements are kept as they were");
    }

    #[test]
    fn unknown_versions_and_bad_version_1_cells_are_refused_clearly() {
        let mut json = serde_json::to_value(results_with(vec![])).unwrap();
        let message = |json: &serde_json::Value| format!("{:#}", read_json(json).unwrap_err());
        json["schema_version"] = 4.into();
        let err = message(&json);
        assert!(
            err.contains("results.json")
                && err.contains("`schema_version`: expected 1 to 3, got 4"),
            "{err}"
        );
        json.as_object_mut().unwrap().remove("schema_version");
        assert!(message(&json).contains("`schema_version`: missing"));
        json["schema_version"] = 1.into();
        json["cells"] = json!([v1_cell("memory-none", "memory", None, "none", 0)]);
        let err = message(&json);
        assert!(
            err.contains("version-1")
                && err.contains("cells[0] (memory-none)")
                && err.contains("memory"),
            "{err}"
        );
    }
}
