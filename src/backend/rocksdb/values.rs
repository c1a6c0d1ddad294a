//! Value bytes as Flink's RocksDB backend writes them, with and without state TTL.
//!
//! A value is `BytePrimitiveArraySerializer` output, `[int length][bytes]`. With TTL, Flink's
//! `TtlSerializer` puts the last-access timestamp first: `[timestamp 8 B][int length][bytes]`. A
//! list is its elements joined by ','; a map value is prefixed with a null flag. The compaction
//! filter reads the same layout to drop expired rows (Flink's `FlinkCompactionFilter`).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use rocksdb::CompactionDecision;

use super::options::LIST_DELIMITER;
use crate::backend::byte_array::{read_byte_array, write_byte_array};
use crate::workload::{StateKind, TtlSpec};

/// One value read back: its timestamp (with TTL) and its bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Read<'a> {
    /// Last write (or access) time, when TTL is on.
    pub stamp: Option<i64>,
    /// The user value.
    pub body: &'a [u8],
}

/// Encodes and decodes values for one backend's TTL setting.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ValueCodec {
    /// The TTL of the states, if any.
    pub ttl: Option<TtlSpec>,
}

impl ValueCodec {
    /// Appends `[timestamp]?[length][bytes]`.
    pub(crate) fn write(&self, out: &mut Vec<u8>, value: &[u8], now: i64) {
        if self.ttl.is_some() {
            out.extend_from_slice(&now.to_be_bytes());
        }
        write_byte_array(out, value);
    }

    /// Reads one value from the front of `input`; returns it and the rest.
    pub(crate) fn read<'a>(&self, input: &'a [u8]) -> Option<(Read<'a>, &'a [u8])> {
        let (stamp, input) = match self.ttl {
            Some(_) => (
                Some(i64::from_be_bytes(input.get(..8)?.try_into().ok()?)),
                &input[8..],
            ),
            None => (None, input),
        };
        let (body, rest) = read_byte_array(input)?;
        Some((Read { stamp, body }, rest))
    }

    /// The elements of a list value, in order; None if it is corrupt.
    pub(crate) fn elements<'a>(&self, mut list: &'a [u8]) -> Option<Vec<Read<'a>>> {
        let mut out = Vec::new();
        while !list.is_empty() {
            let (element, rest) = self.read(list)?;
            out.push(element);
            list = match rest.split_first() {
                Some((&LIST_DELIMITER, rest)) => rest,
                None => rest,
                Some(_) => return None,
            };
        }
        Some(out)
    }

    /// Whether a value read back has expired at `now`.
    pub(crate) fn expired(&self, read: &Read<'_>, now: i64) -> bool {
        match (self.ttl, read.stamp) {
            (Some(ttl), Some(stamp)) => ttl.expired(stamp, now),
            _ => false,
        }
    }

    /// The compaction filter of a TTL state: drops rows whose value has expired at the time in
    /// `now`. Lists go when their newest (last) element has expired; Flink's filter also trims an
    /// expired prefix of a live list, which rust-rocksdb's filter API cannot (it can only keep or
    /// remove a row), so expired elements of live lists wait for the next read.
    pub(crate) fn compaction_filter(
        self,
        kind: StateKind,
        now: Arc<AtomicI64>,
    ) -> impl FnMut(u32, &[u8], &[u8]) -> CompactionDecision + Send + 'static {
        move |_level, _key, value| {
            let now = now.load(Ordering::Relaxed);
            let newest = match kind {
                StateKind::Value => self.read(value).map(|(r, _)| r),
                StateKind::Map => value.get(1..).and_then(|v| self.read(v)).map(|(r, _)| r),
                StateKind::List => self.elements(value).and_then(|e| e.last().copied()),
                StateKind::Timer => None,
            };
            match newest {
                Some(read) if self.expired(&read, now) => CompactionDecision::Remove,
                _ => CompactionDecision::Keep,
            }
        }
    }
}
