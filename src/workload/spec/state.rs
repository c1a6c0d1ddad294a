//! The states of the plain keyed model, the storage shapes every state has, and state TTL: what
//! a backend needs to lay the states out and what each event does to them.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::field_path::FieldPath;

/// One state of the operator and what each event does to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StateSpec {
    /// `ValueState`: each event reads it, and unless the read is read-only, writes it back.
    Value {
        /// State name (the column family name).
        name: String,
        /// Fraction of events that only read (get); the rest do get + put.
        #[serde(default)]
        read_only_fraction: f64,
    },
    /// `ListState`: each event appends, or reads the whole list, or clears it.
    List {
        /// State name.
        name: String,
        /// Fraction of events that read the whole list instead of appending.
        #[serde(default)]
        get_fraction: f64,
        /// Fraction of events that clear the list (bounds list growth, as a firing window does).
        #[serde(default)]
        clear_fraction: f64,
    },
    /// `MapState`: each event does one map op on one of `user_keys` user keys, or iterates.
    Map {
        /// State name.
        name: String,
        /// Distinct user keys per key (ids `0..user_keys`).
        user_keys: u64,
        /// Which map op each event does.
        mix: MapMix,
    },
}

/// Fractions of map ops per event; they must add up to 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapMix {
    /// `put(uk, v)`
    #[serde(default)]
    pub put: f64,
    /// `get(uk)`
    #[serde(default)]
    pub get: f64,
    /// `entries()` iterated to the end
    #[serde(default)]
    pub iterate: f64,
    /// `contains(uk)`
    #[serde(default)]
    pub contains: f64,
    /// `remove(uk)`
    #[serde(default)]
    pub remove: f64,
}

/// The storage shape of a state, all a backend needs to lay it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    /// `ValueState`
    Value,
    /// `ListState`
    List,
    /// `MapState`
    Map,
    /// Event-time timers of a timer service (a priority queue per key group).
    Timer,
}

impl StateSpec {
    /// The state's name.
    pub fn name(&self) -> &str {
        match self {
            StateSpec::Value { name, .. }
            | StateSpec::List { name, .. }
            | StateSpec::Map { name, .. } => name,
        }
    }

    /// The state's storage shape.
    pub fn kind(&self) -> StateKind {
        match self {
            StateSpec::Value { .. } => StateKind::Value,
            StateSpec::List { .. } => StateKind::List,
            StateSpec::Map { .. } => StateKind::Map,
        }
    }

    /// Checks the fractions of the state's per-event op mix; `at` is where the state stands
    /// (`states[2]`).
    pub(crate) fn validate_mix(&self, at: &FieldPath) -> Result<()> {
        let fraction = |field: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                at.invalid(field, "a fraction from 0 to 1", v)
            }
        };
        match self {
            StateSpec::Value {
                read_only_fraction, ..
            } => fraction("read_only_fraction", *read_only_fraction),
            StateSpec::List {
                get_fraction,
                clear_fraction,
                ..
            } => {
                fraction("get_fraction", *get_fraction)?;
                fraction("clear_fraction", *clear_fraction)?;
                if get_fraction + clear_fraction > 1.0 + 1e-9 {
                    return at.invalid(
                        "get_fraction",
                        "get_fraction + clear_fraction <= 1",
                        get_fraction + clear_fraction,
                    );
                }
                Ok(())
            }
            StateSpec::Map { user_keys, mix, .. } => {
                if *user_keys == 0 {
                    return at.invalid("user_keys", "at least 1", user_keys);
                }
                let parts = [
                    ("put", mix.put),
                    ("get", mix.get),
                    ("iterate", mix.iterate),
                    ("contains", mix.contains),
                    ("remove", mix.remove),
                ];
                for (field, v) in parts {
                    fraction(&format!("mix.{field}"), v)?;
                }
                let sum: f64 = parts.iter().map(|(_, v)| v).sum();
                if (sum - 1.0).abs() > 1e-6 {
                    return at.invalid("mix", "fractions that add up to 1", sum);
                }
                Ok(())
            }
        }
    }
}

/// State TTL as Flink's `StateTtlConfig` sets it: values carry their last-write (or access)
/// time, expired values are never returned, and are cleaned up in the background (RocksDB:
/// compaction filter; heap: a few entries at every state access).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtlSpec {
    /// Time to live, ms of event time.
    pub ttl_ms: u64,
    /// When the timestamp is refreshed.
    #[serde(default)]
    pub update_type: TtlUpdate,
}

/// `StateTtlConfig.UpdateType`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TtlUpdate {
    /// `OnCreateAndWrite` (Flink's default).
    #[default]
    OnCreateAndWrite,
    /// `OnReadAndWrite`: reads refresh the timestamp too.
    OnReadAndWrite,
}

impl TtlSpec {
    /// Whether a value written (or accessed) at `stamp` has expired at `now`.
    pub fn expired(&self, stamp: i64, now: i64) -> bool {
        stamp.saturating_add(self.ttl_ms as i64) <= now
    }
}
