//! Flink's configuration as input: the `state.backend.*`, `state.backend.rocksdb.*` and
//! checkpointing keys read from a Flink config file (the flat legacy `flink-conf.yaml` or the
//! nested `config.yaml` of Flink 1.19+/2.x) and from `--set key=value`, resolved as Flink resolves
//! them: user setting > predefined profile > Flink default. Named user profiles (sets of keys over
//! a predefined profile) can be defined in a file and run beside the predefined ones.
//!
//! And back: [`cell_keys`] lists every key a cell runs with and where it came from, and
//! [`config_yaml`] writes the keys someone set as a Flink 2.x `config.yaml` that this module reads
//! back to the same settings.

mod cell_keys;
mod keys;
mod parse;
pub mod taskmanager;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};

use crate::backend::rocksdb::{PredefinedProfile, RocksDbConfig};
use crate::backend::BackendConfig;
use crate::checkpoint::{CheckpointMode, CheckpointSetting, Retention, StorageSetting};
use crate::input::{excerpt, read_text, MAX_CONFIG_FILE};
pub use cell_keys::{cell_keys, config_yaml, ChosenSources, FlinkKey, KeySource};
pub use keys::{
    parse_memory_size, KEYS, MAX_BLOCK_SIZE, MAX_MEMORY_SIZE, MAX_RETAINED, MAX_THREADS,
    MAX_WRITE_BUFFERS, MAX_WRITE_BUFFER_SIZE,
};
use parse::{flatten_yaml, parse_flat};
pub use parse::{MAX_YAML_DEPTH, MAX_YAML_NODES};

/// Where a setting came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A line of a file.
    File {
        /// The file.
        path: String,
        /// 1-based line, when known.
        line: Option<usize>,
    },
    /// `--set` on the command line.
    CommandLine,
    /// A profile of a user profiles file.
    UserProfile {
        /// The profiles file.
        path: String,
        /// The profile.
        name: String,
    },
}

impl Origin {
    /// The source a key set here is reported with.
    pub fn source(&self) -> KeySource {
        match self {
            Origin::File { .. } => KeySource::ConfigFile,
            Origin::CommandLine => KeySource::SetOption,
            Origin::UserProfile { .. } => KeySource::UserProfile,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File {
                path,
                line: Some(line),
            } => write!(f, "{path}, line {line}"),
            Origin::File { path, line: None } => write!(f, "{path}"),
            Origin::CommandLine => write!(f, "--set"),
            Origin::UserProfile { path, name } => write!(f, "{path} (profile {name})"),
        }
    }
}

/// A flat set of Flink configuration keys with their values and origins.
#[derive(Clone, Debug, Default)]
pub struct FlinkConfig {
    entries: BTreeMap<String, (String, Origin)>,
}

/// `state.backend.type`: which state backend a job (a cell) uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BackendType {
    /// `hashmap`: Flink's HashMapStateBackend (`filesystem`, its legacy name, reads as this).
    #[serde(rename = "hashmap")]
    HashMap,
    /// `rocksdb`: Flink's EmbeddedRocksDBStateBackend.
    #[serde(rename = "rocksdb")]
    RocksDb,
}

impl BackendType {
    /// Flink's name of the backend.
    pub fn name(self) -> &'static str {
        match self {
            BackendType::HashMap => "hashmap",
            BackendType::RocksDb => "rocksdb",
        }
    }

    /// The type of a backend to build.
    pub fn of(backend: &BackendConfig) -> BackendType {
        match backend {
            BackendConfig::HashMap => BackendType::HashMap,
            BackendConfig::RocksDb(_) => BackendType::RocksDb,
        }
    }
}

impl fmt::Display for BackendType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `execution.checkpointing.*` keys of a configuration, each set or at Flink's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointKeys {
    /// `execution.checkpointing.interval`; None (Flink's default) leaves checkpointing off.
    pub interval: Option<Duration>,
    /// `execution.checkpointing.incremental`.
    pub incremental: bool,
    /// `execution.checkpointing.min-pause`.
    pub min_pause: Duration,
    /// `execution.checkpointing.num-retained`.
    pub retained: usize,
    /// `execution.checkpointing.timeout`.
    pub timeout: Duration,
    /// `execution.checkpointing.tolerable-failed-checkpoints`.
    pub tolerable_failures: u32,
    /// `execution.checkpointing.max-concurrent-checkpoints`.
    pub max_concurrent: usize,
    /// `execution.checkpointing.externalized-checkpoint-retention`.
    pub retention: Retention,
}

impl CheckpointKeys {
    /// The checkpoint setting the keys describe, None when they leave checkpointing off.
    pub fn setting(&self) -> Option<CheckpointSetting> {
        let mode = if self.incremental {
            CheckpointMode::Incremental
        } else {
            CheckpointMode::Full
        };
        self.interval
            .map(|interval| self.setting_with(mode, interval))
    }

    /// A checkpoint setting of `mode` every `interval`, with the coordinator's keys (min pause,
    /// retained, timeout, tolerable failures, max concurrent, retention) as these say.
    pub fn setting_with(&self, mode: CheckpointMode, interval: Duration) -> CheckpointSetting {
        CheckpointSetting {
            min_pause: self.min_pause,
            retained: self.retained,
            timeout: self.timeout,
            tolerable_failures: self.tolerable_failures,
            max_concurrent: self.max_concurrent,
            retention: self.retention,
            ..CheckpointSetting::new(mode, interval)
        }
    }
}

/// What a configuration resolves to for statebench.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// `state.backend.type`, when set.
    pub backend: Option<BackendType>,
    /// The RocksDB configuration: the profile's settings with the user's keys over them.
    pub rocksdb_config: RocksDbConfig,
    /// The checkpointing keys.
    pub checkpoint: CheckpointKeys,
    /// `taskmanager.memory.process.size`, when set: the container a TaskManager runs in, and
    /// so `--container-memory`'s default.
    pub process_bytes: Option<u64>,
    /// Where checkpoints are stored.
    pub storage: StorageSetting,
}

impl FlinkConfig {
    /// Reads a Flink configuration file (at most [`MAX_CONFIG_FILE`] bytes): `flink-conf.yaml`
    /// with Flink's legacy line parser (`key: value`), any other name as standard (nested) YAML
    /// flattened to dotted keys.
    pub fn from_file(path: &Path) -> Result<FlinkConfig> {
        let text = read_text(path, MAX_CONFIG_FILE, "Flink configuration")?;
        let legacy = path.file_name().is_some_and(|n| n == "flink-conf.yaml");
        FlinkConfig::parse(&text, &path.display().to_string(), legacy)
    }

    /// Parses the text of a Flink configuration file named `name`: Flink's legacy `key: value`
    /// lines when `legacy`, else standard YAML (at most [`MAX_YAML_DEPTH`] levels deep and
    /// [`MAX_YAML_NODES`] nodes with aliases expanded).
    pub fn parse(text: &str, name: &str, legacy: bool) -> Result<FlinkConfig> {
        let pairs = if legacy {
            parse_flat(text, name)?
        } else {
            flatten_yaml(text, name)?
        };
        let mut config = FlinkConfig::default();
        for (key, value, line) in pairs {
            config.entries.insert(
                key,
                (
                    value,
                    Origin::File {
                        path: name.to_string(),
                        line,
                    },
                ),
            );
        }
        config.check_known()?;
        Ok(config)
    }

    /// Applies `key=value` from the command line (over anything a file set).
    pub fn set(&mut self, assignment: &str) -> Result<()> {
        let (key, value) = assignment
            .split_once('=')
            .ok_or_else(|| anyhow!("--set {}: expected key=value", excerpt(assignment)))?;
        let key = key.trim().to_string();
        if !keys::is_known(&key) {
            bail!("{}", keys::unknown_key_message(&key, &Origin::CommandLine));
        }
        self.entries
            .insert(key, (value.trim().to_string(), Origin::CommandLine));
        Ok(())
    }

    /// Keys under the prefixes statebench reads must be known ones; other keys (a real
    /// configuration has many: `taskmanager.*`, `rest.*`, ...) are left alone.
    fn check_known(&self) -> Result<()> {
        for (key, (_, origin)) in &self.entries {
            if keys::in_scope(key) && !keys::is_known(key) {
                bail!("{}", keys::unknown_key_message(key, origin));
            }
        }
        Ok(())
    }

    /// Resolves the configuration over `profile` (or the profile it names itself).
    pub fn resolve(&self, profile: Option<PredefinedProfile>) -> Result<Resolved> {
        keys::resolve(&self.entries, profile)
    }

    /// A configuration of the given keys, as a user profile file defines them.
    fn from_pairs(pairs: Vec<(String, String)>, origin: &Origin) -> Result<FlinkConfig> {
        let mut config = FlinkConfig::default();
        for (key, value) in pairs {
            config.entries.insert(key, (value, origin.clone()));
        }
        config.check_known()?;
        Ok(config)
    }

    /// Where the configuration's `key` came from, None when it does not set it.
    pub fn source_of(&self, key: &str) -> Option<KeySource> {
        self.entries.get(key).map(|(_, origin)| origin.source())
    }

    /// Every key set, with its value as written.
    pub fn keys(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|(key, (value, _))| (key.as_str(), value.as_str()))
    }

    /// Merges `other` over this configuration (its keys win).
    pub fn overlay(&self, other: &FlinkConfig) -> FlinkConfig {
        let mut merged = self.clone();
        merged
            .entries
            .extend(other.entries.iter().map(|(k, v)| (k.clone(), v.clone())));
        merged
    }
}

/// A named user profile: RocksDB keys over a predefined profile.
#[derive(Clone, Debug)]
pub struct UserProfile {
    /// The profile's name (used in cell ids).
    pub name: String,
    /// Its keys.
    pub config: FlinkConfig,
}

/// Reads named profiles from a YAML file (at most [`MAX_CONFIG_FILE`] bytes): a mapping of
/// profile name to a mapping of Flink keys (nested or dotted), e.g.
/// `BIG_BUFFERS: { state.backend.rocksdb.writebuffer.size: 128mb }`. A profile may name its base
/// with `state.backend.rocksdb.predefined-options`. A profile holds `state.backend.rocksdb.*` and
/// `taskmanager.*` keys only: the backend type and checkpointing are the matrix's, a
/// `--config`'s or a `--set`'s.
pub fn load_user_profiles(path: &Path) -> Result<Vec<UserProfile>> {
    let text = read_text(path, MAX_CONFIG_FILE, "profiles file")?;
    parse_user_profiles(&text, &path.display().to_string())
}

/// Parses the text of a profiles file named `name` (see [`load_user_profiles`]). A profile may
/// not take the name of a predefined profile, in any case.
pub fn parse_user_profiles(text: &str, name: &str) -> Result<Vec<UserProfile>> {
    let profiles = parse::profile_sections(text, name)?;
    let mut out = Vec::new();
    for (profile, pairs) in profiles {
        if profile.is_empty()
            || profile.len() > 64
            || !profile
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            bail!(
                "{name}: profile {}: expected a name of 1 to 64 letters, digits, '_' and '-'",
                excerpt(&profile)
            );
        }
        if let Some(p) = PredefinedProfile::ALL
            .iter()
            .find(|p| p.name().eq_ignore_ascii_case(&profile))
        {
            bail!(
                "{name}: profile {profile:?}: that name is the predefined profile {} (names are compared ignoring case); choose another name",
                p.name()
            );
        }
        if let Some((key, _)) = pairs.iter().find(|(key, _)| {
            !(key.starts_with("state.backend.rocksdb.") || key.starts_with("taskmanager."))
        }) {
            bail!(
                "{name}: profile {profile:?}: {}: a profile holds state.backend.rocksdb.* and \
                 taskmanager.* keys only; set it with --config or --set",
                excerpt(key)
            );
        }
        let origin = Origin::UserProfile {
            path: name.to_string(),
            name: profile.clone(),
        };
        let config = FlinkConfig::from_pairs(pairs, &origin)?;
        // Resolve once now so a bad value is reported when the file is read.
        config.resolve(None)?;
        out.push(UserProfile {
            name: profile,
            config,
        });
    }
    Ok(out)
}
