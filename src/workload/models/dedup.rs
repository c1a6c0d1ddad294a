//! Deduplication / unique visitors (the classic UV job): per page, the users seen in the current
//! period, cleared by an event-time timer when the period ends.

use std::collections::{HashMap, HashSet};

use anyhow::Result;

use crate::fxhash::FxBuild;
use crate::workload::generation::{Draws, Event, EventTimeModel, KeyChooser, TimerQueue};
use crate::workload::op::{Namespace, OpKind, StateId, StateOp};
use crate::workload::spec::{DedupState, KeySpec};

/// Map state: the users seen per page (`uv-users`).
const USERS: StateId = 0;
/// Map state: the unique count per page (`uv-count`).
const COUNT: StateId = 1;
/// Value state: the seen flag per (page, user) (`seen`).
const SEEN: StateId = 0;

/// The visits seen in the current period, by state key.
#[derive(Debug)]
enum Seen {
    /// Map state: the users seen per page.
    Users(HashMap<u64, HashSet<u64, FxBuild>, FxBuild>),
    /// Value state: the (page, user) keys seen. A key holds one user, so the key is new exactly
    /// when its user is: a set per key would be an allocation per visit pair (millions).
    Pairs(HashSet<u64, FxBuild>),
}

impl Seen {
    /// Records `user`'s visit under `key`: whether it is the key's first visit of the period,
    /// and whether the user is new to the key.
    fn visit(&mut self, key: u64, user: u64) -> (bool, bool) {
        match self {
            Seen::Users(pages) => {
                let users = pages.entry(key).or_default();
                let first_of_period = users.is_empty();
                (first_of_period, users.insert(user))
            }
            Seen::Pairs(pairs) => {
                let new = pairs.insert(key);
                (new, new)
            }
        }
    }

    /// Forgets `key`'s visits (its period ended).
    fn clear(&mut self, key: u64) {
        match self {
            Seen::Users(pages) => {
                pages.remove(&key);
            }
            Seen::Pairs(pairs) => {
                pairs.remove(&key);
            }
        }
    }
}

/// Unique visitors per page and period, in map or value state.
#[derive(Debug)]
pub(crate) struct Dedup {
    state: DedupState,
    users: KeyChooser,
    user_count: u64,
    period: i64,
    watermark: i64,
    /// What the state holds in the current period.
    seen: Seen,
    timers: TimerQueue<u64>,
}

impl Dedup {
    /// Deduplication in `state` of the `users` visiting each page, cleared every `period_ms`.
    pub(crate) fn new(state: DedupState, users: &KeySpec, period_ms: u64) -> Result<Dedup> {
        Ok(Dedup {
            state,
            users: KeyChooser::new(users)?,
            user_count: users.count,
            period: period_ms as i64,
            watermark: i64::MIN,
            seen: match state {
                DedupState::Map => Seen::Users(HashMap::default()),
                DedupState::Value => Seen::Pairs(HashSet::default()),
            },
            timers: TimerQueue::new(),
        })
    }

    /// The period-end timers (`_timer_state/event_user-timers`), after the other states.
    fn timers_state(&self) -> StateId {
        match self.state {
            DedupState::Map => 2,
            DedupState::Value => 1,
        }
    }
}

impl EventTimeModel for Dedup {
    /// Clears the state of every key whose period the watermark ended.
    fn on_watermark(&mut self, watermark: i64, _draws: &mut Draws, out: &mut Vec<StateOp>) {
        self.watermark = self.watermark.max(watermark);
        let timers = self.timers_state();
        while let Some((t, key)) = self.timers.pop_due(self.watermark) {
            let op = |state, kind| StateOp {
                state,
                key,
                namespace: Namespace::Void,
                kind,
            };
            out.push(op(timers, OpKind::TimerDelete(t)));
            match self.state {
                DedupState::Map => {
                    out.push(op(USERS, OpKind::MapClear));
                    out.push(op(COUNT, OpKind::ValueClear));
                }
                DedupState::Value => out.push(op(SEEN, OpKind::ValueClear)),
            }
            self.seen.clear(key);
        }
    }

    /// Checks whether the visit's user was seen this period, records a new one, and registers
    /// the period-end timer with the key's first visit.
    fn on_element(&mut self, event: &Event, draws: &mut Draws, out: &mut Vec<StateOp>) {
        let user = self.users.sample(&mut draws.rng);
        let period_end =
            event.timestamp - event.timestamp.rem_euclid(self.period) + self.period - 1;
        let key = match self.state {
            DedupState::Map => event.key,
            // A (page, user) key, as one Long.
            DedupState::Value => event.key.wrapping_mul(self.user_count).wrapping_add(user),
        };
        let op = |state, kind| StateOp {
            state,
            key,
            namespace: Namespace::Void,
            kind,
        };
        let (first_of_period, new_user) = self.seen.visit(key, user);
        match self.state {
            DedupState::Map => {
                out.push(op(USERS, OpKind::MapContains(user)));
                if new_user {
                    out.push(op(USERS, OpKind::MapPut(user, event.value)));
                    out.push(op(COUNT, OpKind::ValueGet));
                    out.push(op(COUNT, OpKind::ValuePut(draws.value_of_len(8))));
                }
            }
            DedupState::Value => {
                out.push(op(SEEN, OpKind::ValueGet));
                if new_user {
                    out.push(op(SEEN, OpKind::ValuePut(event.value)));
                }
            }
        }
        if first_of_period {
            out.push(op(self.timers_state(), OpKind::TimerRegister(period_end)));
            self.timers.insert(period_end, key);
        }
    }
}
