//! What a cell ran with, as results.json records it: the backend, profile, timer service and
//! checkpointing as types, and every Flink key with its value and source.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::backend::rocksdb::{PredefinedProfile, TimerFactory};
use crate::checkpoint::CheckpointMode;
use crate::config::{BackendType, FlinkKey};

/// The RocksDB profile a cell runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellProfile {
    /// One of Flink's predefined profiles.
    Predefined(PredefinedProfile),
    /// A user profile from `--profiles`.
    User {
        /// Its name.
        name: String,
        /// Its keys as the profiles file wrote them (empty when converted from version 1, which
        /// did not record them).
        keys: BTreeMap<String, String>,
    },
}

impl CellProfile {
    /// The profile's name: Flink's for a predefined one, the user's for theirs.
    pub fn name(&self) -> &str {
        match self {
            CellProfile::Predefined(p) => p.name(),
            CellProfile::User { name, .. } => name,
        }
    }

    /// The profile as cell ids name it: its name, with `+HEAP_TIMERS` when timers live on the
    /// heap (the timer service changes what a cell measures).
    pub fn label(&self, timers: TimerFactory) -> String {
        match timers {
            TimerFactory::Heap => format!("{}+HEAP_TIMERS", self.name()),
            TimerFactory::Rocksdb => self.name().to_string(),
        }
    }
}

/// What a cell ran with: backend, profile, timer service and checkpointing as types, and every
/// Flink key with its value and where it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellSetup {
    /// The state backend.
    pub backend: BackendType,
    /// The RocksDB profile, None for the heap backend.
    pub profile: Option<CellProfile>,
    /// Where RocksDB's timers live, None for the heap backend.
    pub timers: Option<TimerFactory>,
    /// The checkpoint mode.
    pub checkpoint_mode: CheckpointMode,
    /// Checkpoint interval in milliseconds (0 when checkpointing is off).
    pub checkpoint_interval_ms: u64,
    /// Every Flink key the cell ran with (backend, RocksDB settings and memory, timer service,
    /// checkpointing), by Flink 2.x name, with its source. Keys statebench reads but does not
    /// model are not listed.
    pub flink_keys: Vec<FlinkKey>,
}

impl CellSetup {
    /// The profile as cell ids name it ([`CellProfile::label`]); None for the heap backend.
    pub fn profile_label(&self) -> Option<String> {
        let timers = self.timers.unwrap_or_default();
        Some(self.profile.as_ref()?.label(timers))
    }
}
