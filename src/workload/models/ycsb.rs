//! YCSB's core workloads A–F as keyed state: a record is one key's `MapState<field, bytes>`
//! (`fieldcount` fields). The first `recordcount` (= `keys.count`) events are the load phase,
//! one insert each; run warm-up past them to measure only the transaction phase.
//!
//! read = iterate all fields (YCSB `readallfields`); update = put one field; insert = put every
//! field of a new key; read-modify-write = read + update; scan = read each of up to
//! `max_scan_length` consecutive keys (keyed state has no cross-key scan, so a scan is that many
//! keyed reads). Requests pick keys from `keys.distribution` among the loaded records; workload
//! D reads the latest inserted records (zipfian over recency, YCSB's `latest`).

use rand::RngExt;
use rand_distr::{Distribution, Zipf};

use crate::workload::generation::stream::EventStream;
use crate::workload::generator::Draws;
use crate::workload::generator::OperatorModel;
use crate::workload::op::{Namespace, OpKind, StateOp};
use crate::workload::spec::YcsbWorkload;

/// One YCSB request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Request {
    Read,
    Update,
    Insert,
    ReadModifyWrite,
    Scan,
}

/// A YCSB core workload over keyed map state.
#[derive(Clone, Debug)]
pub(crate) struct Ycsb {
    stream: EventStream,
    workload: YcsbWorkload,
    fields: u64,
    max_scan: u64,
    record_count: u64,
    inserted: u64,
    time: i64,
}

impl Ycsb {
    pub(crate) fn new(
        workload: YcsbWorkload,
        fields: u64,
        max_scan: u64,
        record_count: u64,
        stream: EventStream,
    ) -> Ycsb {
        Ycsb {
            stream,
            workload,
            fields,
            max_scan,
            record_count,
            inserted: 0,
            time: 0,
        }
    }

    /// The request mix of the core workloads (workloads/workload[a-f] in YCSB).
    fn request(&self, u: f64) -> Request {
        use Request::*;
        match self.workload {
            YcsbWorkload::A => {
                if u < 0.5 {
                    Read
                } else {
                    Update
                }
            }
            YcsbWorkload::B => {
                if u < 0.95 {
                    Read
                } else {
                    Update
                }
            }
            YcsbWorkload::C => Read,
            YcsbWorkload::D => {
                if u < 0.95 {
                    Read
                } else {
                    Insert
                }
            }
            YcsbWorkload::E => {
                if u < 0.95 {
                    Scan
                } else {
                    Insert
                }
            }
            YcsbWorkload::F => {
                if u < 0.5 {
                    Read
                } else {
                    ReadModifyWrite
                }
            }
        }
    }

    /// The key a request reads or updates.
    fn pick(&self, draws: &mut Draws) -> u64 {
        if self.workload == YcsbWorkload::D && self.inserted > 1 {
            // latest: most recent records most popular.
            let zipf = Zipf::new(self.inserted as f64, 0.99).ok();
            let back = zipf.map_or(0, |z| z.sample(&mut draws.rng) as u64 - 1);
            self.inserted - 1 - back.min(self.inserted - 1)
        } else {
            draws.key().min(self.inserted.saturating_sub(1))
        }
    }
}

impl OperatorModel for Ycsb {
    fn event_time(&self) -> i64 {
        self.time
    }

    fn event(&mut self, draws: &mut Draws, _last: bool, out: &mut Vec<StateOp>) {
        let (event, _) = self.stream.next(draws);
        self.time = event.timestamp;
        let op = |key, kind| StateOp {
            state: 0,
            key,
            namespace: Namespace::Void,
            kind,
        };
        let request = if self.inserted < self.record_count {
            Request::Insert
        } else {
            let u: f64 = draws.rng.random();
            self.request(u)
        };
        match request {
            Request::Insert => {
                let key = self.inserted;
                self.inserted += 1;
                for field in 0..self.fields {
                    out.push(op(key, OpKind::MapPut(field, draws.value())));
                }
            }
            Request::Read => out.push(op(self.pick(draws), OpKind::MapIterate)),
            Request::Update => {
                let key = self.pick(draws);
                let field = draws.rng.random_range(0..self.fields);
                out.push(op(key, OpKind::MapPut(field, draws.value())));
            }
            Request::ReadModifyWrite => {
                let key = self.pick(draws);
                let field = draws.rng.random_range(0..self.fields);
                out.push(op(key, OpKind::MapIterate));
                out.push(op(key, OpKind::MapPut(field, draws.value())));
            }
            Request::Scan => {
                let start = self.pick(draws);
                let len = draws.rng.random_range(1..=self.max_scan);
                for key in start..(start + len).min(self.inserted) {
                    out.push(op(key, OpKind::MapIterate));
                }
            }
        }
    }
}
