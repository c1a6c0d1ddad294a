//! The workload file (version 1): serde types and the validation that turns a bad file into an
//! error naming the file, the field and what was expected.

use std::collections::HashSet;
use std::fmt::Display;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

use super::operator::OperatorSpec;

/// The workload file format version this build reads.
pub const SPEC_VERSION: u32 = 1;

/// Flink's upper bound for max parallelism (`KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM`).
const MAX_PARALLELISM_UPPER_BOUND: u32 = 32_768;
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

fn default_version() -> u32 {
    SPEC_VERSION
}

/// Key population and popularity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// Number of distinct keys (ids `0..count`).
    pub count: u64,
    /// How often each key is drawn.
    pub distribution: KeyDistribution,
}

/// Key popularity. Ids are `0..count`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyDistribution {
    /// Every key equally likely.
    Uniform,
    /// Key of rank r (0-based) drawn with probability ∝ 1/(r+1)^theta; YCSB uses theta 0.99.
    Zipfian {
        /// Skew exponent, > 0.
        theta: f64,
    },
    /// YCSB's scrambled zipfian: a zipfian rank r (0-based) over YCSB's 10^10 items, key
    /// `|fnv1a64(r)| % count`. The hot keys are not the low ids, every key keeps some traffic,
    /// and the skew is milder than `zipfian` over fewer keys: the hottest key takes
    /// 1/ζ(10^10, theta) of the draws (3.8% at theta 0.99).
    ScrambledZipfian {
        /// Skew exponent, > 0.
        theta: f64,
    },
    /// YCSB's hotspot: `hot_op_fraction` of draws go uniformly to the first `hot_fraction` of
    /// the keys, the rest uniformly to the others.
    Hotspot {
        /// Fraction of keys that are hot, in (0, 1).
        hot_fraction: f64,
        /// Fraction of draws that hit the hot set, in [0, 1].
        hot_op_fraction: f64,
    },
    /// YCSB's latest: draw i (0-based) first inserts key i % count, then returns the key
    /// inserted b draws ago, with b (0-based) zipfian over the min(i + 1, count) keys inserted
    /// so far: recent keys are popular, and once all keys exist the hot spot keeps cycling
    /// through the ids.
    Latest {
        /// Skew exponent, > 0.
        theta: f64,
    },
    /// 0, 1, 2, ..., count − 1, 0, ...
    Sequential,
    /// Always the same key (Gadget's constant popularity).
    Constant {
        /// The key, < count.
        key: u64,
    },
}

/// Size of written values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ValueSize {
    /// Always `bytes` bytes.
    Fixed {
        /// Value size in bytes.
        bytes: u32,
    },
    /// Uniform in `[min, max]` bytes.
    Uniform {
        /// Smallest size.
        min: u32,
        /// Largest size.
        max: u32,
    },
    /// Normal, rounded and clamped to `[0, 64 MiB]`.
    Normal {
        /// Mean size.
        mean: f64,
        /// Standard deviation.
        std_dev: f64,
    },
    /// Exponential with this mean, rounded and clamped to `[0, 64 MiB]`.
    Exponential {
        /// Mean size.
        mean: f64,
    },
}

/// Largest value size accepted (RocksDB handles more, but a benchmark of that is a mistake).
pub const MAX_VALUE_BYTES: u32 = 64 << 20;

impl KeySpec {
    /// Checks the key count and the distribution's parameters; `field` names this spec in
    /// errors (`keys`, `operator.users`).
    pub fn validate(&self, field: &str, origin: &str) -> Result<()> {
        let bad = |f: &str, expected: &str, got: &dyn Display| {
            Err(anyhow!(
                "{origin}: field `{field}.{f}`: expected {expected}, got {got}"
            ))
        };
        if self.count == 0 {
            return bad("count", "at least 1", &self.count);
        }
        match self.distribution {
            KeyDistribution::Zipfian { theta }
            | KeyDistribution::ScrambledZipfian { theta }
            | KeyDistribution::Latest { theta }
                if !(theta.is_finite() && theta > 0.0) =>
            {
                bad("distribution.theta", "a number > 0", &theta)
            }
            KeyDistribution::Hotspot { hot_fraction, .. }
                if !(hot_fraction > 0.0 && hot_fraction < 1.0) =>
            {
                bad(
                    "distribution.hot_fraction",
                    "a fraction in (0, 1)",
                    &hot_fraction,
                )
            }
            KeyDistribution::Hotspot {
                hot_op_fraction, ..
            } if !(0.0..=1.0).contains(&hot_op_fraction) => bad(
                "distribution.hot_op_fraction",
                "a fraction from 0 to 1",
                &hot_op_fraction,
            ),
            KeyDistribution::Constant { key } if key >= self.count => bad(
                "distribution.key",
                &format!("a key below count ({})", self.count),
                &key,
            ),
            _ => Ok(()),
        }
    }
}

impl ValueSize {
    /// Checks the size parameters.
    fn validate(&self, origin: &str) -> Result<()> {
        let bad = |f: &str, expected: &str, got: &dyn Display| {
            Err(anyhow!(
                "{origin}: field `value_size.{f}`: expected {expected}, got {got}"
            ))
        };
        let max = MAX_VALUE_BYTES as f64;
        match *self {
            ValueSize::Fixed { bytes } if bytes > MAX_VALUE_BYTES => {
                bad("bytes", &format!("at most {MAX_VALUE_BYTES}"), &bytes)
            }
            ValueSize::Uniform { max, .. } if max > MAX_VALUE_BYTES => {
                bad("max", &format!("at most {MAX_VALUE_BYTES}"), &max)
            }
            ValueSize::Uniform { min, max } if min > max => {
                bad("min", &format!("at most max ({max})"), &min)
            }
            ValueSize::Normal { mean, .. } | ValueSize::Exponential { mean }
                if !(mean.is_finite() && mean > 0.0 && mean <= max) =>
            {
                bad(
                    "mean",
                    &format!("a size > 0 and <= {MAX_VALUE_BYTES}"),
                    &mean,
                )
            }
            ValueSize::Normal { std_dev, .. } if !(std_dev.is_finite() && std_dev >= 0.0) => {
                bad("std_dev", "a number >= 0", &std_dev)
            }
            _ => Ok(()),
        }
    }
}

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

/// The event-time stream: how timestamps advance, how many events arrive out of order, and how
/// watermarks follow (Flink's `BoundedOutOfOrdernessWatermarks`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    /// Event-time gap between consecutive events.
    pub gap: GapDistribution,
    /// Fraction of events whose timestamp lies behind the stream's clock.
    #[serde(default)]
    pub out_of_order_fraction: f64,
    /// How far behind (uniform up to this, ms) an out-of-order event's timestamp lies.
    #[serde(default)]
    pub max_delay_ms: u64,
    /// The watermark's bound on out-of-orderness, ms: watermark = max timestamp − this − 1.
    #[serde(default)]
    pub watermark_delay_ms: u64,
    /// Event time between watermarks, ms (Flink's auto-watermark interval, 200 ms by default).
    pub watermark_interval_ms: u64,
}

/// Distribution of event-time gaps between events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum GapDistribution {
    /// Always `ms`.
    Constant {
        /// Gap, ms.
        ms: f64,
    },
    /// Exponential with this mean (a Poisson arrival process).
    Exponential {
        /// Mean gap, ms.
        mean_ms: f64,
    },
    /// Uniform in `[min_ms, max_ms]`.
    Uniform {
        /// Smallest gap, ms.
        min_ms: f64,
        /// Largest gap, ms.
        max_ms: f64,
    },
    /// Normal, clamped at 0 (events never go back in arrival order).
    Normal {
        /// Mean gap, ms.
        mean_ms: f64,
        /// Standard deviation, ms.
        std_dev_ms: f64,
    },
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
}

impl WorkloadSpec {
    /// Reads and validates a workload file.
    pub fn load(path: &Path) -> Result<WorkloadSpec> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read workload file {}", path.display()))?;
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
            if field == "." {
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

    /// Checks every value the types cannot.
    fn validate(&self, origin: &str) -> Result<()> {
        let bad = |field: &str, expected: &str, got: &dyn Display| {
            Err(anyhow!(
                "{origin}: field `{field}`: expected {expected}, got {got}"
            ))
        };
        if self.version != SPEC_VERSION {
            return bad("version", &format!("{SPEC_VERSION}"), &self.version);
        }
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return bad(
                "name",
                "a non-empty name of letters, digits, '-' and '_'",
                &format!("{:?}", self.name),
            );
        }
        if self.events == 0 {
            return bad("events", "at least 1", &self.events);
        }
        if self.warmup_events >= self.events {
            return bad(
                "warmup_events",
                &format!("fewer than `events` ({})", self.events),
                &self.warmup_events,
            );
        }
        if !(1..=MAX_PARALLELISM_UPPER_BOUND).contains(&self.max_parallelism) {
            return bad(
                "max_parallelism",
                &format!("1 to {MAX_PARALLELISM_UPPER_BOUND}"),
                &self.max_parallelism,
            );
        }
        self.keys.validate("keys", origin)?;
        self.value_size.validate(origin)?;
        if let Some(op) = &self.operator {
            if !self.states.is_empty() {
                return bad(
                    "states",
                    "no `states` when `operator` is given",
                    &self.states.len(),
                );
            }
            let Some(stream) = &self.stream else {
                return bad("stream", "an event-time stream for the operator", &"none");
            };
            validate_stream(stream, origin)?;
            op.validate(origin)?;
            return self.validate_shared(origin);
        }
        if self.states.is_empty() || self.states.len() > MAX_STATES {
            return bad(
                "states",
                &format!("1 to {MAX_STATES} states"),
                &self.states.len(),
            );
        }
        let mut names = HashSet::new();
        for (i, state) in self.states.iter().enumerate() {
            let at = |f: &str| format!("states[{i}].{f}");
            let name = state.name();
            if name.is_empty()
                || name == "default"
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return bad(
                    &at("name"),
                    "a name of letters, digits, '-' and '_', not \"default\"",
                    &format!("{name:?}"),
                );
            }
            if !names.insert(name) {
                return bad(
                    &at("name"),
                    "a name no other state has",
                    &format!("{name:?}"),
                );
            }
            let fraction = |field: &str, v: f64| {
                if (0.0..=1.0).contains(&v) {
                    Ok(())
                } else {
                    bad(&at(field), "a fraction from 0 to 1", &v)
                }
            };
            match state {
                StateSpec::Value {
                    read_only_fraction, ..
                } => fraction("read_only_fraction", *read_only_fraction)?,
                StateSpec::List {
                    get_fraction,
                    clear_fraction,
                    ..
                } => {
                    fraction("get_fraction", *get_fraction)?;
                    fraction("clear_fraction", *clear_fraction)?;
                    if get_fraction + clear_fraction > 1.0 + 1e-9 {
                        return bad(
                            &at("get_fraction"),
                            "get_fraction + clear_fraction <= 1",
                            &(get_fraction + clear_fraction),
                        );
                    }
                }
                StateSpec::Map { user_keys, mix, .. } => {
                    if *user_keys == 0 {
                        return bad(&at("user_keys"), "at least 1", user_keys);
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
                        return bad(&at("mix"), "fractions that add up to 1", &sum);
                    }
                }
            }
        }
        self.validate_shared(origin)
    }

    fn validate_shared(&self, origin: &str) -> Result<()> {
        if let Some(TtlSpec { ttl_ms: 0, .. }) = self.ttl {
            return Err(anyhow!(
                "{origin}: field `ttl.ttl_ms`: expected at least 1, got 0"
            ));
        }
        match self.checkpoint_interval_ms {
            Some(ms) if ms < 10 => Err(anyhow!(
                "{origin}: field `checkpoint_interval_ms`: expected at least 10, got {ms}"
            )),
            _ => Ok(()),
        }
    }
}

fn validate_stream(stream: &StreamSpec, origin: &str) -> Result<()> {
    let bad = |field: &str, expected: &str, got: &dyn Display| {
        Err(anyhow!(
            "{origin}: field `stream.{field}`: expected {expected}, got {got}"
        ))
    };
    let (gap, spread) = match stream.gap {
        GapDistribution::Constant { ms } | GapDistribution::Exponential { mean_ms: ms } => {
            (ms, 0.0)
        }
        GapDistribution::Uniform { min_ms, max_ms } => ((min_ms + max_ms) / 2.0, max_ms - min_ms),
        GapDistribution::Normal {
            mean_ms,
            std_dev_ms,
        } => (mean_ms, std_dev_ms),
    };
    if !(gap.is_finite() && gap > 0.0) {
        return bad("gap", "a mean gap > 0 ms", &gap);
    }
    if !(spread.is_finite() && spread >= 0.0) {
        return bad("gap", "min_ms <= max_ms and std_dev_ms >= 0", &spread);
    }
    if let GapDistribution::Uniform { min_ms, .. } = stream.gap {
        if min_ms < 0.0 {
            return bad("gap.min_ms", "a gap >= 0 ms", &min_ms);
        }
    }
    if !(0.0..=1.0).contains(&stream.out_of_order_fraction) {
        return bad(
            "out_of_order_fraction",
            "a fraction from 0 to 1",
            &stream.out_of_order_fraction,
        );
    }
    if stream.watermark_interval_ms == 0 {
        return bad("watermark_interval_ms", "at least 1", &0);
    }
    Ok(())
}

/// serde_json appends " at line L column C" to its messages; we print the position ourselves.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
