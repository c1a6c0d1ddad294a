//! The Flink keys a cell runs with, each with where it came from, and the Flink 2.x
//! `config.yaml` of the keys someone set: the way back from settings to a configuration.

use std::fmt;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::keys::{self, Value};
use super::FlinkConfig;
use crate::backend::rocksdb::PredefinedProfile;
use crate::backend::BackendConfig;
use crate::checkpoint::{CheckpointMode, CheckpointSetting, StorageSetting};

/// Where the value of a key a cell ran with came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// Nobody set it: Flink's default.
    FlinkDefault,
    /// The predefined profile's value (`state.backend.rocksdb.predefined-options` brings it).
    PredefinedProfile,
    /// The user profile (`--profiles`) the cell runs.
    UserProfile,
    /// The `--config` file.
    ConfigFile,
    /// `--set`.
    #[serde(rename = "set")]
    SetOption,
    /// The cell itself: its backend, predefined profile and checkpoint mode (a row of the matrix,
    /// or `run`'s `--backend`, `--profile` and `--checkpoint`), or a setting it was built with.
    Cell,
    /// `--interval`.
    IntervalOption,
    /// The workload's `checkpoint_interval_ms`.
    Workload,
    /// statebench's checkpoint interval when nothing names one (2 s).
    StatebenchDefault,
    /// Not recorded: results.json version 1 kept the setting but not its source.
    Unrecorded,
}

impl KeySource {
    /// Whether the key needs no line in a configuration: Flink's default, or the value the
    /// predefined profile brings.
    pub fn is_implied(self) -> bool {
        matches!(self, KeySource::FlinkDefault | KeySource::PredefinedProfile)
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeySource::FlinkDefault => "Flink default",
            KeySource::PredefinedProfile => "predefined profile",
            KeySource::UserProfile => "user profile",
            KeySource::ConfigFile => "--config",
            KeySource::SetOption => "--set",
            KeySource::Cell => "cell",
            KeySource::IntervalOption => "--interval",
            KeySource::Workload => "workload",
            KeySource::StatebenchDefault => "statebench default",
            KeySource::Unrecorded => "unrecorded",
        })
    }
}

/// One Flink key a cell ran with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlinkKey {
    /// The key, by its Flink 2.x name.
    pub key: String,
    /// Its value as Flink 2.x reads it (lists `;`-separated).
    pub value: String,
    /// Where the value came from.
    pub source: KeySource,
}

/// The sources of the keys a cell's plan decides itself, whatever the configuration says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChosenSources {
    /// Of `state.backend.rocksdb.predefined-options`, when the cell runs a predefined profile (a
    /// row of the matrix, `run --profile`); None for a user profile, whose base is the
    /// configuration's.
    pub predefined_options: Option<KeySource>,
    /// Of `execution.checkpointing.interval`.
    pub interval: KeySource,
}

/// Every key a cell of `backend` under `checkpoint` runs with (see `keys::cell_values`), with its
/// source: the one `chosen` names (`execution.checkpointing.incremental` is always the cell's
/// checkpoint mode), else the origin of `config`'s setting when it set this value, else Flink's
/// default or the predefined profile when the value is theirs, else the cell.
pub fn cell_keys(
    backend: &BackendConfig,
    checkpoint: &CheckpointSetting,
    storage: &StorageSetting,
    config: &FlinkConfig,
    chosen: ChosenSources,
) -> Result<Vec<FlinkKey>> {
    let set = keys::parse_values(&config.entries)?;
    // Recorded only when set or implied by a directory: Flink picks `filesystem` itself then.
    let storage_source = match set.get(keys::STORAGE) {
        Some((_, origin)) => origin.source(),
        None => KeySource::FlinkDefault,
    };
    let chosen = [
        (keys::PREDEFINED_OPTIONS, chosen.predefined_options),
        (keys::INTERVAL, Some(chosen.interval)),
        (keys::INCREMENTAL, Some(KeySource::Cell)),
        (keys::STORAGE, Some(storage_source)),
    ];
    let profile = match backend {
        BackendConfig::RocksDb(rocks) => rocks.profile,
        BackendConfig::HashMap => PredefinedProfile::Default,
    };
    let is_default_of = |name: &str, profile, value: &Value| {
        keys::default_value(name, profile).as_ref() == Some(value)
    };
    Ok(keys::cell_values(backend, checkpoint, storage, &set)
        .into_iter()
        .map(|(name, value)| {
            let source = chosen
                .iter()
                .find(|(key, _)| *key == name)
                .and_then(|(_, source)| *source)
                .or_else(|| {
                    set.get(name)
                        .filter(|(configured, _)| *configured == value)
                        .map(|(_, origin)| origin.source())
                })
                .unwrap_or_else(|| {
                    if is_default_of(name, PredefinedProfile::Default, &value) {
                        KeySource::FlinkDefault
                    } else if is_default_of(name, profile, &value) {
                        KeySource::PredefinedProfile
                    } else {
                        KeySource::Cell
                    }
                });
            FlinkKey {
                key: name.to_string(),
                value: value.text(),
                source,
            }
        })
        .chain(recorded_only(config, backend, checkpoint))
        .collect())
}

/// The keys `config` sets that are valid Flink keys without a modelled effect (unaligned
/// checkpoints, local recovery, ...): the cell ran with them as far as Flink is concerned, so
/// they are recorded and carried into the recommended config.yaml as written. Checkpointing keys
/// only for cells that checkpoint, RocksDB keys only for RocksDB cells.
fn recorded_only<'a>(
    config: &'a FlinkConfig,
    backend: &BackendConfig,
    checkpoint: &CheckpointSetting,
) -> impl Iterator<Item = FlinkKey> + 'a {
    let checkpoints = checkpoint.mode != CheckpointMode::None;
    let rocksdb = matches!(backend, BackendConfig::RocksDb(_));
    config
        .entries
        .iter()
        .filter(move |(key, _)| {
            keys::is_recorded_only(key)
                && (checkpoints
                    || !(key.starts_with("execution.checkpointing.")
                        || key.starts_with("state.checkpoints.")))
                && (rocksdb || !key.starts_with("state.backend.rocksdb."))
        })
        .map(|(key, (value, origin))| FlinkKey {
            key: key.clone(),
            value: value.clone(),
            source: origin.source(),
        })
}

/// The keys someone set (those not [`KeySource::is_implied`]) as a Flink 2.x `config.yaml`, one
/// flattened `key: value` line each, lists as YAML lists.
pub fn config_yaml(keys: &[FlinkKey]) -> String {
    keys.iter()
        .filter(|k| !k.source.is_implied())
        .map(|k| {
            if keys::is_list(&k.key) {
                format!(
                    "{}: [{}]",
                    k.key,
                    k.value.split(';').collect::<Vec<_>>().join(", ")
                )
            } else {
                format!("{}: {}", k.key, k.value)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
