//! The operators a workload can name instead of the plain keyed states: each operator's
//! parameters, the states it keeps (named as Flink names them) and the checks of its parameters.
//! What each operator does per event is its model's business (`models/`); the file format only
//! says which states exist, so a backend or a trace can be laid out without running a model.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::field_path::FieldPath;
use super::keys::KeySpec;
use super::state::StateKind;
use super::stream::check_span;

/// Most windows one element may fall in (`size_ms / slide_ms` of a sliding window): each is a
/// state write and a timer per element.
pub const MAX_WINDOWS_PER_ELEMENT: u64 = 1000;
/// Most YCSB fields per record (`fields`): an insert writes every field.
pub const MAX_YCSB_FIELDS: u64 = 1000;
/// Longest YCSB scan (`max_scan_length`): a scan reads this many records.
pub const MAX_YCSB_SCAN: u64 = 10_000;

/// An operator a workload names, with its parameters; its model turns events into the state ops
/// Flink's operator would issue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OperatorSpec {
    /// Keyed tumbling event-time windows (`TumblingEventTimeWindows`).
    TumblingWindow {
        /// Window size, ms.
        size_ms: u64,
        /// Incremental (reduce/aggregate) or holistic (process over a buffered list).
        aggregation: Aggregation,
        /// `allowedLateness`, ms.
        #[serde(default)]
        allowed_lateness_ms: u64,
    },
    /// Keyed sliding event-time windows (`SlidingEventTimeWindows`).
    SlidingWindow {
        /// Window size, ms.
        size_ms: u64,
        /// Slide, ms; size must be a multiple.
        slide_ms: u64,
        /// Incremental or holistic.
        aggregation: Aggregation,
        /// `allowedLateness`, ms.
        #[serde(default)]
        allowed_lateness_ms: u64,
    },
    /// Keyed event-time session windows (`EventTimeSessionWindows.withGap`): merging windows,
    /// with Flink's merging-window-set state.
    SessionWindow {
        /// Session gap, ms.
        gap_ms: u64,
        /// Incremental or holistic.
        aggregation: Aggregation,
        /// `allowedLateness`, ms.
        #[serde(default)]
        allowed_lateness_ms: u64,
    },
    /// A keyed aggregate that is never cleared: `keyBy().reduce()` outside windows.
    ContinuousAggregation,
    /// `a.join(b).where().equalTo().window(Tumbling...)`: both inputs buffered in one window's
    /// list state (a coGroup), joined when the window fires.
    WindowJoin {
        /// Window size, ms.
        size_ms: u64,
    },
    /// `a.keyBy().intervalJoin(b.keyBy()).between(lower, upper)`: each side buffered in map state
    /// by timestamp, every element probing the other side's buffer, buffers cleaned by timers.
    IntervalJoin {
        /// Lower bound, ms (may be negative).
        lower_bound_ms: i64,
        /// Upper bound, ms (≥ lower bound).
        upper_bound_ms: i64,
        /// Fraction of events on the left input.
        left_fraction: f64,
    },
    /// Unique visitors per page and period (deduplication), cleared when the period ends.
    Dedup {
        /// Map state of seen users per page, or a value state per (page, user).
        state: DedupState,
        /// Visitors: how many and how often each visits.
        users: KeySpec,
        /// Period after which the state is cleared (a day in the classic UV job), ms.
        period_ms: u64,
    },
    /// One of YCSB's core workloads A–F as keyed state: a record is a key's map of fields.
    Ycsb {
        /// Which core workload.
        workload: YcsbWorkload,
        /// Fields per record (YCSB `fieldcount`, 10).
        #[serde(default = "default_fields")]
        fields: u64,
        /// Longest scan (YCSB `maxscanlength`, 100), for workload E.
        #[serde(default = "default_scan")]
        max_scan_length: u64,
    },
}

/// YCSB's default `fieldcount`.
fn default_fields() -> u64 {
    10
}

/// YCSB's default `maxscanlength`.
fn default_scan() -> u64 {
    100
}

/// How a window keeps its contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// `reduce`/`aggregate`: one accumulator per window, get + put per event.
    Incremental,
    /// `process`: every element buffered in list state, read whole when the window fires.
    Holistic,
}

impl Aggregation {
    /// The kind of state a window's contents live in.
    pub(crate) fn contents_kind(self) -> StateKind {
        match self {
            Aggregation::Incremental => StateKind::Value,
            Aggregation::Holistic => StateKind::List,
        }
    }
}

/// How the window join keeps its windows: its coGroup buffers both inputs whole, in list state.
pub(crate) const WINDOW_JOIN_AGGREGATION: Aggregation = Aggregation::Holistic;

/// The state a dedup operator keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupState {
    /// Per page: `MapState<user, Boolean>` of users seen plus a `ValueState<Long>` count.
    Map,
    /// Keyed by (page, user): one `ValueState<Boolean>` "seen" per pair.
    Value,
}

/// YCSB's core workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YcsbWorkload {
    /// 50% read, 50% update.
    A,
    /// 95% read, 5% update.
    B,
    /// 100% read.
    C,
    /// 95% read (latest), 5% insert.
    D,
    /// 95% scan, 5% insert.
    E,
    /// 50% read, 50% read-modify-write.
    F,
}

/// State names, as Flink's operators name them.
pub mod names {
    /// WindowOperator's window contents.
    pub const WINDOW_CONTENTS: &str = "window-contents";
    /// WindowOperator's event-time timers.
    pub const WINDOW_TIMERS: &str = "_timer_state/event_window-timers";
    /// WindowOperator's merging window set (session windows).
    pub const MERGING_WINDOW_SET: &str = "merging-window-set";
    /// IntervalJoinOperator's left buffer.
    pub const LEFT_BUFFER: &str = "LEFT_BUFFER";
    /// IntervalJoinOperator's right buffer.
    pub const RIGHT_BUFFER: &str = "RIGHT_BUFFER";
    /// IntervalJoinOperator's cleanup timers.
    pub const CLEANUP_TIMERS: &str = "_timer_state/event_CLEANUP_TIMER";
    /// A keyed aggregate.
    pub const AGGREGATE: &str = "aggregate";
    /// Dedup: users seen per page.
    pub const UV_USERS: &str = "uv-users";
    /// Dedup: unique count per page.
    pub const UV_COUNT: &str = "uv-count";
    /// Dedup: seen flag per (page, user).
    pub const SEEN: &str = "seen";
    /// Dedup: period-end timers.
    pub const DEDUP_TIMERS: &str = "_timer_state/event_user-timers";
    /// YCSB's table.
    pub const USERTABLE: &str = "usertable";
}

impl OperatorSpec {
    /// The states the operator keeps, in state-id order.
    pub fn layout(&self) -> Vec<(String, StateKind)> {
        use names::*;
        let windows = |aggregation: Aggregation| {
            vec![
                (WINDOW_CONTENTS, aggregation.contents_kind()),
                (WINDOW_TIMERS, StateKind::Timer),
            ]
        };
        let states: Vec<(&str, StateKind)> = match *self {
            OperatorSpec::TumblingWindow { aggregation, .. }
            | OperatorSpec::SlidingWindow { aggregation, .. } => windows(aggregation),
            OperatorSpec::WindowJoin { .. } => windows(WINDOW_JOIN_AGGREGATION),
            OperatorSpec::SessionWindow { aggregation, .. } => {
                let mut states = windows(aggregation);
                states.push((MERGING_WINDOW_SET, StateKind::List));
                states
            }
            OperatorSpec::ContinuousAggregation => vec![(AGGREGATE, StateKind::Value)],
            OperatorSpec::IntervalJoin { .. } => vec![
                (LEFT_BUFFER, StateKind::Map),
                (RIGHT_BUFFER, StateKind::Map),
                (CLEANUP_TIMERS, StateKind::Timer),
            ],
            OperatorSpec::Dedup {
                state: DedupState::Map,
                ..
            } => vec![
                (UV_USERS, StateKind::Map),
                (UV_COUNT, StateKind::Value),
                (DEDUP_TIMERS, StateKind::Timer),
            ],
            OperatorSpec::Dedup {
                state: DedupState::Value,
                ..
            } => vec![(SEEN, StateKind::Value), (DEDUP_TIMERS, StateKind::Timer)],
            OperatorSpec::Ycsb { .. } => vec![(USERTABLE, StateKind::Map)],
        };
        states
            .into_iter()
            .map(|(name, kind)| (name.to_string(), kind))
            .collect()
    }

    /// Checks the operator's parameters; `at` is where the operator stands (`operator`).
    pub(crate) fn validate(&self, at: &FieldPath) -> Result<()> {
        match *self {
            OperatorSpec::TumblingWindow {
                size_ms,
                allowed_lateness_ms,
                ..
            } => {
                validate_windows(at, size_ms, size_ms)?;
                check_span(at, "allowed_lateness_ms", allowed_lateness_ms)
            }
            OperatorSpec::WindowJoin { size_ms } => validate_windows(at, size_ms, size_ms),
            OperatorSpec::SlidingWindow {
                size_ms,
                slide_ms,
                allowed_lateness_ms,
                ..
            } => {
                validate_windows(at, size_ms, slide_ms)?;
                check_span(at, "allowed_lateness_ms", allowed_lateness_ms)
            }
            OperatorSpec::SessionWindow {
                gap_ms,
                allowed_lateness_ms,
                ..
            } => {
                if gap_ms == 0 {
                    return at.invalid("gap_ms", "at least 1", 0);
                }
                check_span(at, "gap_ms", gap_ms)?;
                check_span(at, "allowed_lateness_ms", allowed_lateness_ms)
            }
            OperatorSpec::ContinuousAggregation => Ok(()),
            OperatorSpec::IntervalJoin {
                lower_bound_ms,
                upper_bound_ms,
                left_fraction,
            } => {
                if lower_bound_ms > upper_bound_ms {
                    return at.invalid(
                        "lower_bound_ms",
                        "a lower bound ≤ upper_bound_ms",
                        format!("{lower_bound_ms} > {upper_bound_ms}"),
                    );
                }
                check_span(at, "lower_bound_ms", lower_bound_ms.unsigned_abs())?;
                check_span(at, "upper_bound_ms", upper_bound_ms.unsigned_abs())?;
                if !(0.0..=1.0).contains(&left_fraction) {
                    return at.invalid("left_fraction", "a fraction from 0 to 1", left_fraction);
                }
                Ok(())
            }
            OperatorSpec::Dedup {
                ref users,
                period_ms,
                ..
            } => {
                if period_ms == 0 {
                    return at.invalid("period_ms", "at least 1", 0);
                }
                check_span(at, "period_ms", period_ms)?;
                users.validate(&at.child("users"))
            }
            OperatorSpec::Ycsb {
                fields,
                max_scan_length,
                ..
            } => {
                if !(1..=MAX_YCSB_FIELDS).contains(&fields) {
                    return at.invalid("fields", &format!("1 to {MAX_YCSB_FIELDS}"), fields);
                }
                if !(1..=MAX_YCSB_SCAN).contains(&max_scan_length) {
                    return at.invalid(
                        "max_scan_length",
                        &format!("1 to {MAX_YCSB_SCAN}"),
                        max_scan_length,
                    );
                }
                Ok(())
            }
        }
    }
}

/// Checks the windows of a window operator: a size of at most [`super::MAX_SPAN_MS`] that is a
/// whole number of slides, at most [`MAX_WINDOWS_PER_ELEMENT`] of them (the windows each
/// element falls in).
fn validate_windows(at: &FieldPath, size_ms: u64, slide_ms: u64) -> Result<()> {
    if size_ms == 0 || slide_ms == 0 || !size_ms.is_multiple_of(slide_ms) {
        return at.invalid(
            "size_ms",
            "size_ms > 0 and a multiple of slide_ms > 0",
            format!("size {size_ms}, slide {slide_ms}"),
        );
    }
    check_span(at, "size_ms", size_ms)?;
    if size_ms / slide_ms > MAX_WINDOWS_PER_ELEMENT {
        return at.invalid(
            "slide_ms",
            &format!(
                "a slide of at least size_ms / {MAX_WINDOWS_PER_ELEMENT} (each element falls in size_ms / slide_ms windows, at most {MAX_WINDOWS_PER_ELEMENT})"
            ),
            format!("{slide_ms} ({} windows per element)", size_ms / slide_ms),
        );
    }
    Ok(())
}
