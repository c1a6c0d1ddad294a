//! The workload file (version 1): the document as a whole, read with serde, and the validation
//! that turns a bad file into an error naming the file, the field and what was expected. The
//! parts of the document (keys, value sizes, states, stream, operator) check themselves.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

use super::field_path::FieldPath;
use super::keys::KeySpec;
use super::operator::OperatorSpec;
use super::state::{StateKind, StateSpec, TtlSpec};
use super::stream::{check_span, StreamSpec};
use super::value_size::ValueSize;
use crate::input::{read_text, MAX_WORKLOAD_FILE};

/// The workload file format version this build reads.
pub const SPEC_VERSION: u32 = 1;

/// Flink's upper bound for max parallelism (`KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM`).
const MAX_PARALLELISM_UPPER_BOUND: u32 = 32_768;
/// Checkpoint interval bounds, ms: the same as for `--interval` and Flink's configuration.
const MIN_INTERVAL_MS: u64 = crate::checkpoint::MIN_INTERVAL.as_millis() as u64;
/// See [`MIN_INTERVAL_MS`].
const MAX_INTERVAL_MS: u64 = crate::checkpoint::MAX_DURATION.as_millis() as u64;
/// Most states one workload may declare (each is a column family).
const MAX_STATES: usize = 64;

/// A workload: the keyed state one operator keeps and how each event touches it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// File format version; 1.
    #[serde(default = "default_version")]
    pub version: u32,
    /// Short name, used in report directory names: letters, digits, `-` and `_`.
    pub name: String,
    /// One line saying what the workload models.
    pub description: String,
    /// Seed of every random choice; same file and seed, same op stream.
    pub seed: u64,
    /// Events replayed, warm-up included.
    pub events: u64,
    /// Leading events whose ops are applied but not measured.
    pub warmup_events: u64,
    /// Flink's max parallelism, i.e. the number of key groups.
    pub max_parallelism: u32,
    /// How keys are drawn.
    pub keys: KeySpec,
    /// Size of each written value.
    pub value_size: ValueSize,
    /// Plain keyed model: the states the operator uses, each with its per-event op mix. Empty
    /// when `operator` names an operator model, which declares its own states.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<StateSpec>,
    /// Event-time stream: timestamps, disorder and watermarks (needed by operator models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamSpec>,
    /// An operator model (windows) instead of the plain keyed `states` model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<OperatorSpec>,
    /// State time-to-live on every state but timers (Flink's `StateTtlConfig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<TtlSpec>,
    /// Default checkpoint interval for this workload, in milliseconds (the CLI may override it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_interval_ms: Option<u64>,
}

/// The version a file that names none has.
fn default_version() -> u32 {
    SPEC_VERSION
}

impl WorkloadSpec {
    /// Reads and validates a workload file.
    pub fn load(path: &Path) -> Result<WorkloadSpec> {
        let text = read_text(path, MAX_WORKLOAD_FILE, "workload file")?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates workload JSON; `origin` names the source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<WorkloadSpec> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let spec: WorkloadSpec = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            let (line, column) = (inner.line(), inner.column());
            let what = strip_position(&inner.to_string());
            if inner.is_syntax() || inner.is_eof() {
                anyhow!("{origin}: not valid JSON: {what} (line {line}, column {column})")
            } else if field == "." || field.contains('?') {
                anyhow!("{origin}: {what} (line {line}, column {column})")
            } else {
                anyhow!("{origin}: field `{field}`: {what} (line {line}, column {column})")
            }
        })?;
        spec.validate(origin)?;
        Ok(spec)
    }

    /// The names and shapes of the states, in state-id order.
    pub fn layout(&self) -> Vec<(String, StateKind)> {
        match &self.operator {
            Some(op) => op.layout(),
            None => self
                .states
                .iter()
                .map(|s| (s.name().to_string(), s.kind()))
                .collect(),
        }
    }

    /// The workload `factor` times as large, for bigger machines (`--scale`): `factor` times the
    /// keys, events and warm-up events (rounded), everything else as it is, validated again (a
    /// scale that breaks a limit is an error naming it). The description says it was scaled, so
    /// reports and resume checks tell the two apart.
    pub fn scaled(&self, factor: f64) -> Result<WorkloadSpec> {
        if !(factor.is_finite() && factor > 0.0) {
            return Err(anyhow!("--scale {factor}: expected a positive number"));
        }
        let times = |n: u64| ((n as f64 * factor).round() as u64).max(1);
        let mut scaled = self.clone();
        scaled.keys.count = times(self.keys.count);
        scaled.events = times(self.events);
        scaled.warmup_events = match self.warmup_events {
            0 => 0,
            w => times(w).min(scaled.events - 1),
        };
        scaled.description = format!("{} (scaled ×{factor} by --scale)", self.description);
        scaled.validate(&format!("{} scaled ×{factor}", self.name))?;
        Ok(scaled)
    }

    /// Checks every value the types cannot.
    fn validate(&self, origin: &str) -> Result<()> {
        let root = FieldPath::root(origin);
        if self.version != SPEC_VERSION {
            return root.invalid("version", &format!("{SPEC_VERSION}"), self.version);
        }
        if self.name.is_empty() || !is_plain_name(&self.name) {
            return root.invalid(
                "name",
                "a non-empty name of letters, digits, '-' and '_'",
                format!("{:?}", self.name),
            );
        }
        if self.events == 0 {
            return root.invalid("events", "at least 1", self.events);
        }
        if self.warmup_events >= self.events {
            return root.invalid(
                "warmup_events",
                &format!("fewer than `events` ({})", self.events),
                self.warmup_events,
            );
        }
        if !(1..=MAX_PARALLELISM_UPPER_BOUND).contains(&self.max_parallelism) {
            return root.invalid(
                "max_parallelism",
                &format!("1 to {MAX_PARALLELISM_UPPER_BOUND}"),
                self.max_parallelism,
            );
        }
        self.keys.validate(&root.child("keys"))?;
        self.value_size.validate(&root.child("value_size"))?;
        match &self.operator {
            Some(operator) => self.validate_operator(operator, &root)?,
            None => self.validate_states(&root)?,
        }
        if let Some(TtlSpec { ttl_ms, .. }) = self.ttl {
            if ttl_ms == 0 {
                return root.child("ttl").invalid("ttl_ms", "at least 1", 0);
            }
            check_span(&root.child("ttl"), "ttl_ms", ttl_ms)?;
        }
        match self.checkpoint_interval_ms {
            Some(ms) if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&ms) => root.invalid(
                "checkpoint_interval_ms",
                &format!("{MIN_INTERVAL_MS} to {MAX_INTERVAL_MS} (ms)"),
                ms,
            ),
            _ => Ok(()),
        }
    }

    /// Checks an operator model's parameters and the event-time stream it runs on.
    fn validate_operator(&self, operator: &OperatorSpec, root: &FieldPath) -> Result<()> {
        if !self.states.is_empty() {
            return root.invalid(
                "states",
                "no `states` when `operator` is given",
                self.states.len(),
            );
        }
        let Some(stream) = &self.stream else {
            return root.invalid("stream", "an event-time stream for the operator", "none");
        };
        stream.validate(&root.child("stream"), self.events)?;
        operator.validate(&root.child("operator"))
    }

    /// Checks the plain keyed model's states: their number, their names and their op mixes.
    fn validate_states(&self, root: &FieldPath) -> Result<()> {
        if self.states.is_empty() || self.states.len() > MAX_STATES {
            return root.invalid(
                "states",
                &format!("1 to {MAX_STATES} states"),
                self.states.len(),
            );
        }
        let mut names = HashSet::new();
        for (i, state) in self.states.iter().enumerate() {
            let at = root.child(&format!("states[{i}]"));
            let name = state.name();
            if name.is_empty() || name == "default" || !is_plain_name(name) {
                return at.invalid(
                    "name",
                    "a name of letters, digits, '-' and '_', not \"default\"",
                    format!("{name:?}"),
                );
            }
            if !names.insert(name) {
                return at.invalid("name", "a name no other state has", format!("{name:?}"));
            }
            state.validate_mix(&at)?;
        }
        Ok(())
    }
}

/// Whether a name is made of letters, digits, `-` and `_` only (it names directories and column
/// families).
fn is_plain_name(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// serde_json appends " at line L column C" to its messages; we print the position ourselves.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
