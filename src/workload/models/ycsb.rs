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

use crate::workload::generation::{Draws, Event, EventTimeModel};
use crate::workload::op::{Namespace, OpKind, StateId, StateOp};
use crate::workload::spec::YcsbWorkload;

/// The table (`usertable`), the operator's only state.
const USERTABLE: StateId = 0;

/// One YCSB request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Request {
    /// Read every field of a record.
    Read,
    /// Write one field of a record.
    Update,
    /// Write every field of a new record.
    Insert,
    /// Read a record, then write one of its fields.
    ReadModifyWrite,
    /// Read consecutive records.
    Scan,
}

/// A YCSB core workload over keyed map state.
#[derive(Clone, Debug)]
pub(crate) struct Ycsb {
    workload: YcsbWorkload,
    fields: u64,
    max_scan: u64,
    record_count: u64,
    inserted: u64,
}

impl Ycsb {
    /// Core `workload` over records of `fields` fields, scans of at most `max_scan_length`
    /// records, after a load phase of `record_count` inserts.
    pub(crate) fn new(
        workload: YcsbWorkload,
        fields: u64,
        max_scan_length: u64,
        record_count: u64,
    ) -> Ycsb {
        Ycsb {
            workload,
            fields,
            max_scan: max_scan_length,
            record_count,
            inserted: 0,
        }
    }

    /// The request a uniform draw `u` picks from the core workload's mix (workloads/workload[a-f]
    /// in YCSB): the first request below the fraction, the second above.
    fn request(&self, u: f64) -> Request {
        use Request::*;
        let (below, fraction, above) = match self.workload {
            YcsbWorkload::A => (Read, 0.5, Update),
            YcsbWorkload::B => (Read, 0.95, Update),
            YcsbWorkload::C => (Read, 1.0, Read),
            YcsbWorkload::D => (Read, 0.95, Insert),
            YcsbWorkload::E => (Scan, 0.95, Insert),
            YcsbWorkload::F => (Read, 0.5, ReadModifyWrite),
        };
        if u < fraction {
            below
        } else {
            above
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

impl EventTimeModel for Ycsb {
    /// The table has no timers: watermarks change nothing.
    fn on_watermark(&mut self, _watermark: i64, _draws: &mut Draws, _out: &mut Vec<StateOp>) {}

    /// One request per element; the element only paces the requests (its key and value are
    /// not used: a request picks its own record).
    fn on_element(&mut self, _event: &Event, draws: &mut Draws, out: &mut Vec<StateOp>) {
        let op = |key, kind| StateOp {
            state: USERTABLE,
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
