//! Deduplication / unique visitors (the classic UV job): per page, the users seen in the current
//! period, cleared by an event-time timer when the period ends.

use std::collections::{HashMap, HashSet};

use anyhow::Result;

use crate::workload::generation::distribution::KeyChooser;
use crate::workload::generation::stream::{Event, EventStream, EventTimeModel};
use crate::workload::generation::timers::TimerQueue;
use crate::workload::generator::Draws;
use crate::workload::op::{Namespace, OpKind, StateOp};
use crate::workload::spec::DedupState;
use crate::workload::spec::KeySpec;

/// Unique visitors per page and period, in map or value state.
#[derive(Debug)]
pub(crate) struct Dedup {
    stream: EventStream,
    state: DedupState,
    users: KeyChooser,
    user_count: u64,
    period: i64,
    watermark: i64,
    /// Users seen per state key in the current period (what the state holds).
    seen: HashMap<u64, HashSet<u64>>,
    timers: TimerQueue<u64>,
    time: i64,
}

impl Dedup {
    pub(crate) fn new(
        state: DedupState,
        users: &KeySpec,
        period: u64,
        stream: EventStream,
    ) -> Result<Dedup> {
        Ok(Dedup {
            stream,
            state,
            users: KeyChooser::new(users)?,
            user_count: users.count,
            period: period as i64,
            watermark: i64::MIN,
            seen: HashMap::new(),
            timers: TimerQueue::new(),
            time: 0,
        })
    }

    fn advance_watermark(&mut self, watermark: i64, out: &mut Vec<StateOp>) {
        self.watermark = self.watermark.max(watermark);
        while let Some((t, key)) = self.timers.pop_due(self.watermark) {
            let timers = match self.state {
                DedupState::Map => 2,
                DedupState::Value => 1,
            };
            let op = |state, kind| StateOp {
                state,
                key,
                namespace: Namespace::Void,
                kind,
            };
            out.push(op(timers, OpKind::TimerDelete(t)));
            match self.state {
                DedupState::Map => {
                    out.push(op(0, OpKind::MapClear));
                    out.push(op(1, OpKind::ValueClear));
                }
                DedupState::Value => out.push(op(0, OpKind::ValueClear)),
            }
            self.seen.remove(&key);
        }
    }
}

impl EventTimeModel for Dedup {
    fn stream(&mut self) -> &mut EventStream {
        &mut self.stream
    }

    fn on_watermark(&mut self, watermark: i64, _draws: &mut Draws, out: &mut Vec<StateOp>) {
        self.advance_watermark(watermark, out);
    }

    fn on_element(&mut self, event: &Event, draws: &mut Draws, out: &mut Vec<StateOp>) {
        let user = self.users.sample(&mut draws.rng);
        let period_end =
            event.timestamp - event.timestamp.rem_euclid(self.period) + self.period - 1;
        let (key, timers) = match self.state {
            DedupState::Map => (event.key, 2),
            // A (page, user) key, as one Long.
            DedupState::Value => (
                event.key.wrapping_mul(self.user_count).wrapping_add(user),
                1,
            ),
        };
        let op = |state, kind| StateOp {
            state,
            key,
            namespace: Namespace::Void,
            kind,
        };
        let users = self.seen.entry(key).or_default();
        let first_of_period = users.is_empty();
        let new_user = users.insert(user);
        match self.state {
            DedupState::Map => {
                out.push(op(0, OpKind::MapContains(user)));
                if new_user {
                    out.push(op(0, OpKind::MapPut(user, event.value)));
                    out.push(op(1, OpKind::ValueGet));
                    out.push(op(1, OpKind::ValuePut(draws.value_of_len(8))));
                }
            }
            DedupState::Value => {
                out.push(op(0, OpKind::ValueGet));
                if new_user {
                    out.push(op(0, OpKind::ValuePut(event.value)));
                }
            }
        }
        if first_of_period {
            out.push(op(timers, OpKind::TimerRegister(period_end)));
            self.timers.insert(period_end, key);
        }
    }

    fn set_time(&mut self, timestamp: i64) {
        self.time = timestamp;
    }

    fn time(&self) -> i64 {
        self.time
    }
}
