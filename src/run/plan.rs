//! What to run: the cells of `statebench matrix` and `statebench run`, planned from the command
//! line's Flink configuration (`--config`, then each `--set`), user profiles (`--profiles`) and
//! checkpoint interval (`--interval`). Each cell carries its setup: the Flink keys it runs with
//! and where each came from.
//!
//! - Keys resolve as Flink resolves them: a user profile's keys > `--set` > `--config` > the
//!   predefined profile > Flink's default.
//! - The checkpoint interval is `--interval`, else the configuration's
//!   `execution.checkpointing.interval`, else the workload's `checkpoint_interval_ms`, else
//!   [`DEFAULT_INTERVAL`]; min pause and retained checkpoints are the configuration's. The mode is
//!   the cell's.
//! - `state.backend.type`, when the configuration sets it, restricts the matrix to that backend's
//!   rows and is `run`'s backend unless `--backend` names one.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};

use super::cell::{Cell, CellOptions};
use crate::backend::rocksdb::{PredefinedProfile, RocksDbConfig};
use crate::backend::BackendConfig;
use crate::checkpoint::{parse_interval, CheckpointMode, CheckpointSetting, StorageSetting};
use crate::config::{
    cell_keys, load_user_profiles, BackendType, ChosenSources, FlinkConfig, KeySource, UserProfile,
};
use crate::results::{CellProfile, CellSetup};
use crate::workload::WorkloadSpec;

/// Checkpoint interval when neither the command line, the configuration nor the workload names
/// one.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);

/// The command line's settings, from which cells are planned.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// `--config`, each `--set` over it.
    config: FlinkConfig,
    /// `--profiles`.
    profiles: Vec<UserProfile>,
    /// `--interval`.
    interval: Option<Duration>,
    /// `--rocksdb-statistics`: RocksDB cells keep RocksDB's tickers.
    rocksdb_statistics: bool,
}

/// A RocksDB row of the matrix: a profile and what it resolves to.
#[derive(Clone, Debug)]
pub struct RocksDbRow {
    /// The profile.
    pub profile: CellProfile,
    /// The settings the row runs with.
    pub config: RocksDbConfig,
    /// The Flink configuration behind them: the command line's, a user profile's keys over it.
    flink: FlinkConfig,
}

impl Plan {
    /// A plan of a configuration, user profiles and `--interval`.
    pub fn new(
        config: FlinkConfig,
        profiles: Vec<UserProfile>,
        interval: Option<Duration>,
    ) -> Plan {
        Plan {
            config,
            profiles,
            interval,
            rocksdb_statistics: false,
        }
    }

    /// The plan with RocksDB's statistics (tickers only) on in every RocksDB cell
    /// (`--rocksdb-statistics`), or off as in Flink.
    pub fn with_rocksdb_statistics(mut self, on: bool) -> Plan {
        self.rocksdb_statistics = on;
        self
    }

    /// The plan of the command line's options: the `--config` file, each `--set` over it, the
    /// `--profiles` file and `--interval`.
    pub fn from_options(
        config: Option<&Path>,
        set: &[String],
        profiles: Option<&Path>,
        interval: Option<&str>,
    ) -> Result<Plan> {
        let mut flink = match config {
            Some(path) => FlinkConfig::from_file(path)?,
            None => FlinkConfig::default(),
        };
        for assignment in set {
            flink.set(assignment)?;
        }
        let profiles = match profiles {
            Some(path) => load_user_profiles(path)?,
            None => Vec::new(),
        };
        let interval = interval
            .map(|text| parse_interval(text).context("--interval"))
            .transpose()?;
        Ok(Plan::new(flink, profiles, interval))
    }

    /// The checkpoint setting the cells share, with mode `none` (each cell sets its own), and
    /// where its interval came from.
    pub fn checkpoint(&self, spec: &WorkloadSpec) -> Result<(CheckpointSetting, KeySource)> {
        let keys = self.config.resolve(None)?.checkpoint;
        let (interval, source) = match (self.interval, keys.interval) {
            (Some(interval), _) => (interval, KeySource::IntervalOption),
            (None, Some(interval)) => (
                interval,
                self.config
                    .source_of("execution.checkpointing.interval")
                    .unwrap_or(KeySource::ConfigFile),
            ),
            (None, None) => match spec.checkpoint_interval_ms {
                Some(ms) => (Duration::from_millis(ms), KeySource::Workload),
                None => (DEFAULT_INTERVAL, KeySource::StatebenchDefault),
            },
        };
        Ok((keys.setting_with(CheckpointMode::None, interval), source))
    }

    /// The RocksDB rows of the matrix: each predefined profile with the configuration over it,
    /// then each user profile (the configuration, then the profile's keys over it).
    pub fn rocksdb_rows(&self) -> Result<Vec<RocksDbRow>> {
        let mut rows = Vec::new();
        for predefined in PredefinedProfile::ALL {
            rows.push(RocksDbRow {
                profile: CellProfile::Predefined(predefined),
                config: self.config.resolve(Some(predefined))?.rocksdb_config,
                flink: self.config.clone(),
            });
        }
        for user in &self.profiles {
            let flink = self.config.overlay(&user.config);
            let keys = user.config.keys();
            rows.push(RocksDbRow {
                profile: CellProfile::User {
                    name: user.name.clone(),
                    keys: keys.map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                },
                config: flink.resolve(None)?.rocksdb_config,
                flink,
            });
        }
        for row in &mut rows {
            row.config.label = row.profile.label(row.config.timers);
            row.config.statistics = self.rocksdb_statistics;
        }
        Ok(rows)
    }

    /// Where checkpoints are stored (`execution.checkpointing.storage`, `.dir`, `s3.*`).
    pub fn storage(&self) -> Result<StorageSetting> {
        Ok(self.config.resolve(None)?.storage)
    }

    /// The backend `state.backend.type` restricts the plan to, if the configuration sets it.
    fn configured_backend(&self) -> Result<Option<BackendType>> {
        Ok(self.config.resolve(None)?.backend)
    }

    /// Every cell of the matrix: hashmap × {none, full}, then each RocksDB row × {none, full,
    /// incremental}; only one backend's when the configuration sets `state.backend.type`.
    pub fn matrix(&self, spec: &WorkloadSpec) -> Result<Vec<Cell>> {
        let (checkpoint, interval_source) = self.checkpoint(spec)?;
        let storage = self.storage()?;
        let only = self.configured_backend()?;
        ensure!(
            only != Some(BackendType::HashMap) || self.profiles.is_empty(),
            "state.backend.type is hashmap, but --profiles names RocksDB profiles: drop one of them"
        );
        let mut rows = Vec::new();
        if only != Some(BackendType::RocksDb) {
            rows.push((BackendConfig::HashMap, None, self.config.clone()));
        }
        if only != Some(BackendType::HashMap) {
            for row in self.rocksdb_rows()? {
                rows.push((
                    BackendConfig::RocksDb(row.config),
                    Some(row.profile),
                    row.flink,
                ));
            }
        }
        let mut cells = Vec::new();
        for (backend, profile, flink) in rows {
            for mode in CheckpointMode::ALL {
                if backend.supports(mode) {
                    let setting = CheckpointSetting { mode, ..checkpoint };
                    cells.push(planned_cell(
                        backend.clone(),
                        profile.clone(),
                        &flink,
                        (setting, storage.clone()),
                        interval_source,
                    )?);
                }
            }
        }
        Ok(cells)
    }

    /// The configuration's `taskmanager.memory.process.size`, when it sets one: the container
    /// memory a TaskManager of that configuration runs in.
    pub fn process_bytes(&self) -> Result<Option<u64>> {
        Ok(self.config.resolve(None)?.process_bytes)
    }

    /// The one cell of `statebench run`: `backend` (else the configuration's
    /// `state.backend.type`, else RocksDB) with `profile` (a predefined or user profile's name,
    /// any case; ignored by the heap backend) and checkpoints of `mode`.
    pub fn single_cell(
        &self,
        spec: &WorkloadSpec,
        backend: Option<BackendType>,
        profile: &str,
        mode: CheckpointMode,
    ) -> Result<Cell> {
        let (checkpoint, interval_source) = self.checkpoint(spec)?;
        let checkpoint = CheckpointSetting { mode, ..checkpoint };
        let backend = match backend {
            Some(backend) => backend,
            None => self.configured_backend()?.unwrap_or(BackendType::RocksDb),
        };
        let (backend, profile, flink) = match backend {
            BackendType::HashMap => (BackendConfig::HashMap, None, self.config.clone()),
            BackendType::RocksDb => {
                let rows = self.rocksdb_rows()?;
                let names: Vec<&str> = rows.iter().map(|r| r.profile.name()).collect();
                let Some(row) = rows
                    .iter()
                    .find(|r| r.profile.name().eq_ignore_ascii_case(profile))
                else {
                    bail!(
                        "--profile {profile:?}: expected one of {}",
                        names.join(", ")
                    );
                };
                (
                    BackendConfig::RocksDb(row.config.clone()),
                    Some(row.profile.clone()),
                    row.flink.clone(),
                )
            }
        };
        ensure!(
            backend.supports(mode),
            "--checkpoint {mode}: the {} backend does not take {mode} checkpoints",
            backend.name()
        );
        planned_cell(
            backend,
            profile,
            &flink,
            (checkpoint, self.storage()?),
            interval_source,
        )
    }
}

impl Cell {
    /// A cell of a backend built in code rather than planned from a configuration: the keys
    /// the profile and Flink's defaults do not explain are attributed to the cell.
    pub fn new(backend: BackendConfig, checkpoint: CheckpointSetting) -> Cell {
        let profile = match &backend {
            BackendConfig::RocksDb(rocks) => Some(CellProfile::Predefined(rocks.profile)),
            BackendConfig::HashMap => None,
        };
        planned_cell(
            backend,
            profile,
            &FlinkConfig::default(),
            (checkpoint, StorageSetting::default()),
            KeySource::Cell,
        )
        .expect("an empty configuration has no value to reject")
    }
}

/// A cell and its setup: `backend` (running `profile`, resolved from `flink`) under a checkpoint
/// setting whose interval came from `interval_source`, storing its checkpoints as `storage` says.
fn planned_cell(
    backend: BackendConfig,
    profile: Option<CellProfile>,
    flink: &FlinkConfig,
    (checkpoint, storage): (CheckpointSetting, StorageSetting),
    interval_source: KeySource,
) -> Result<Cell> {
    let chosen = ChosenSources {
        predefined_options: match profile {
            Some(CellProfile::Predefined(_)) => Some(KeySource::Cell),
            _ => None,
        },
        interval: interval_source,
    };
    let setup = CellSetup {
        backend: BackendType::of(&backend),
        profile,
        timers: match &backend {
            BackendConfig::RocksDb(rocks) => Some(rocks.timers),
            BackendConfig::HashMap => None,
        },
        checkpoint_mode: checkpoint.mode,
        checkpoint_interval_ms: match checkpoint.mode {
            CheckpointMode::None => 0,
            _ => checkpoint.interval.as_millis() as u64,
        },
        flink_keys: cell_keys(&backend, &checkpoint, &storage, flink, chosen)?,
    };
    Ok(Cell {
        backend,
        checkpoint,
        storage,
        setup,
        options: CellOptions::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::rocksdb::TimerFactory;

    fn spec(interval_ms: Option<u64>) -> WorkloadSpec {
        let interval = interval_ms.map_or(String::new(), |ms| {
            format!(r#""checkpoint_interval_ms":{ms},"#)
        });
        WorkloadSpec::parse(
            &format!(
                r#"{{"name":"t","description":"d","seed":1,"events":100,"warmup_events":10,
                "max_parallelism":128,"keys":{{"count":10,"distribution":{{"type":"uniform"}}}},
                "value_size":{{"type":"fixed","bytes":8}},{interval}
                "states":[{{"type":"value","name":"v","read_only_fraction":0.5}}]}}"#
            ),
            "test",
        )
        .unwrap()
    }

    fn config(assignments: &[&str]) -> FlinkConfig {
        let mut config = FlinkConfig::default();
        for assignment in assignments {
            config.set(assignment).unwrap();
        }
        config
    }

    #[test]
    fn the_interval_is_the_flag_then_the_configuration_then_the_workload_then_two_seconds() {
        let configured = config(&[
            "execution.checkpointing.interval=3s",
            "execution.checkpointing.num-retained=2",
        ]);
        let second = Duration::from_secs(1);
        let cases = [
            (
                Plan::new(configured.clone(), vec![], Some(second)),
                second,
                KeySource::IntervalOption,
            ),
            (
                Plan::new(configured, vec![], None),
                Duration::from_secs(3),
                KeySource::SetOption,
            ),
            (
                Plan::default(),
                Duration::from_millis(500),
                KeySource::Workload,
            ),
        ];
        for (plan, interval, source) in cases {
            let (setting, from) = plan.checkpoint(&spec(Some(500))).unwrap();
            assert_eq!((setting.interval, from), (interval, source));
            assert_eq!(setting.mode, CheckpointMode::None);
        }
        let (setting, from) = Plan::default().checkpoint(&spec(None)).unwrap();
        assert_eq!(
            (setting.interval, from),
            (DEFAULT_INTERVAL, KeySource::StatebenchDefault)
        );
        // Min pause and retained count apply whichever interval wins.
        let paused = Plan::new(
            config(&["execution.checkpointing.min-pause=100ms"]),
            vec![],
            None,
        );
        let (setting, _) = paused.checkpoint(&spec(None)).unwrap();
        assert_eq!(setting.min_pause, Duration::from_millis(100));
    }

    #[test]
    fn rocksdb_rows_are_the_predefined_profiles_then_the_user_profiles() {
        let user = UserProfile {
            name: "MINE".into(),
            config: config(&["state.backend.rocksdb.writebuffer.size=1mb"]),
        };
        let plan = Plan::new(
            config(&["state.backend.rocksdb.timer-service.factory=HEAP"]),
            vec![user],
            None,
        );
        let rows = plan.rocksdb_rows().unwrap();
        let labels: Vec<&str> = rows.iter().map(|r| r.config.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "DEFAULT+HEAP_TIMERS",
                "SPINNING_DISK_OPTIMIZED+HEAP_TIMERS",
                "SPINNING_DISK_OPTIMIZED_HIGH_MEM+HEAP_TIMERS",
                "FLASH_SSD_OPTIMIZED+HEAP_TIMERS",
                "MINE+HEAP_TIMERS",
            ]
        );
        assert!(rows.iter().all(|r| r.config.timers == TimerFactory::Heap));
        assert_eq!(rows[4].config.settings.write_buffer_size, 1 << 20);
        assert_eq!(rows[4].profile.name(), "MINE");
        let cells = plan.matrix(&spec(None)).unwrap();
        assert_eq!(cells.len(), 2 + 5 * 3);
        assert_eq!(cells[2].id(), "rocksdb-DEFAULT+HEAP_TIMERS-none");
    }
}
