//! The bytes of a trace, version 1 (integers little-endian unless said otherwise):
//! ```text
//! header  "SBTR"  u32 version  u32 spec_len  spec_len bytes of workload JSON  u64 events
//! block*  u32 payload_len (1 ..= 16 MiB)  u32 crc32(payload)  payload
//! end     u32 0  u64 events  u64 ops
//! ```
//! A payload is whole events. Event: varint zigzag(event_time − previous event_time), varint op
//! count (≤ 65 536), ops. Op: varint state, varint key, namespace (u8 tag: 0 void; 1 window, then
//! zigzag varints start and end − start; 2 CLEANUP_LEFT; 3 CLEANUP_RIGHT), kind (u8 tag, fields):
//! 0 value.get; 1 value.put v; 2 value.clear; 3 list.get; 4 list.add v; 5 list.update v;
//! 6 list.clear; 7 map.get uk; 8 map.put uk v; 9 map.contains uk; 10 map.remove uk;
//! 11 map.iterate; 12 map.clear; 13 timer.register zigzag t; 14 timer.delete zigzag t, where a
//! value v is its u64 tag then varint length and uk is a varint.
//!
//! This file holds the format's constants and the encoding of one op both ways, so the writer
//! and the reader cannot disagree about it.

use crate::workload::op::{Namespace, OpKind, StateOp, ValueRef};

/// The first bytes of every trace.
pub(super) const MAGIC: &[u8; 4] = b"SBTR";
/// The format version this build reads and writes.
pub(super) const VERSION: u32 = 1;
/// Largest block payload; also bounds the memory a reader uses.
pub(super) const MAX_BLOCK: usize = 16 << 20;
/// Payload size at which the writer closes a block.
pub(super) const TARGET_BLOCK: usize = 1 << 20;
/// Largest embedded workload.
pub(super) const MAX_SPEC: usize = 1 << 20;
/// Most ops one event may carry.
pub(super) const MAX_OPS_PER_EVENT: u64 = 1 << 16;

/// Appends `v` as a varint: 7 bits a byte, low bits first, the high bit set on all but the last.
pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Maps a signed number to an unsigned one that is small when the number is near zero.
pub(super) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// The inverse of [`zigzag`].
pub(super) fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

/// Appends a value: its tag, then its length as a varint.
fn encode_value(out: &mut Vec<u8>, v: ValueRef) {
    out.extend_from_slice(&v.tag.to_le_bytes());
    put_varint(out, v.len as u64);
}

/// Appends one op in the trace encoding.
pub(super) fn encode_op(out: &mut Vec<u8>, op: &StateOp) {
    put_varint(out, op.state as u64);
    put_varint(out, op.key);
    match op.namespace {
        Namespace::Void => out.push(0),
        Namespace::Window { start, end } => {
            out.push(1);
            put_varint(out, zigzag(start));
            put_varint(out, zigzag(end.wrapping_sub(start)));
        }
        Namespace::CleanupLeft => out.push(2),
        Namespace::CleanupRight => out.push(3),
    }
    match op.kind {
        OpKind::ValueGet => out.push(0),
        OpKind::ValuePut(v) => {
            out.push(1);
            encode_value(out, v);
        }
        OpKind::ValueClear => out.push(2),
        OpKind::ListGet => out.push(3),
        OpKind::ListAdd(v) => {
            out.push(4);
            encode_value(out, v);
        }
        OpKind::ListUpdate(v) => {
            out.push(5);
            encode_value(out, v);
        }
        OpKind::ListClear => out.push(6),
        OpKind::MapGet(uk) => {
            out.push(7);
            put_varint(out, uk);
        }
        OpKind::MapPut(uk, v) => {
            out.push(8);
            put_varint(out, uk);
            encode_value(out, v);
        }
        OpKind::MapContains(uk) => {
            out.push(9);
            put_varint(out, uk);
        }
        OpKind::MapRemove(uk) => {
            out.push(10);
            put_varint(out, uk);
        }
        OpKind::MapIterate => out.push(11),
        OpKind::MapClear => out.push(12),
        OpKind::TimerRegister(t) => {
            out.push(13);
            put_varint(out, zigzag(t));
        }
        OpKind::TimerDelete(t) => {
            out.push(14);
            put_varint(out, zigzag(t));
        }
    }
}

/// Reads one varint from `bytes` at `*at`.
pub(super) fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Reads one byte from `bytes` at `*at`.
fn get_u8(bytes: &[u8], at: &mut usize) -> Option<u8> {
    let b = *bytes.get(*at)?;
    *at += 1;
    Some(b)
}

/// Reads a value written by `encode_value`.
fn get_value(bytes: &[u8], at: &mut usize) -> Option<ValueRef> {
    let tag = u64::from_le_bytes(bytes.get(*at..*at + 8)?.try_into().ok()?);
    *at += 8;
    let len = u32::try_from(get_varint(bytes, at)?).ok()?;
    Some(ValueRef { tag, len })
}

/// Decodes one op; None if the bytes are not a valid op.
pub(super) fn decode_op(bytes: &[u8], at: &mut usize) -> Option<StateOp> {
    let state = u16::try_from(get_varint(bytes, at)?).ok()?;
    let key = get_varint(bytes, at)?;
    let namespace = match get_u8(bytes, at)? {
        0 => Namespace::Void,
        1 => {
            let start = unzigzag(get_varint(bytes, at)?);
            let length = unzigzag(get_varint(bytes, at)?);
            Namespace::Window {
                start,
                end: start.wrapping_add(length),
            }
        }
        2 => Namespace::CleanupLeft,
        3 => Namespace::CleanupRight,
        _ => return None,
    };
    let kind = match get_u8(bytes, at)? {
        0 => OpKind::ValueGet,
        1 => OpKind::ValuePut(get_value(bytes, at)?),
        2 => OpKind::ValueClear,
        3 => OpKind::ListGet,
        4 => OpKind::ListAdd(get_value(bytes, at)?),
        5 => OpKind::ListUpdate(get_value(bytes, at)?),
        6 => OpKind::ListClear,
        7 => OpKind::MapGet(get_varint(bytes, at)?),
        8 => {
            let uk = get_varint(bytes, at)?;
            OpKind::MapPut(uk, get_value(bytes, at)?)
        }
        9 => OpKind::MapContains(get_varint(bytes, at)?),
        10 => OpKind::MapRemove(get_varint(bytes, at)?),
        11 => OpKind::MapIterate,
        12 => OpKind::MapClear,
        13 => OpKind::TimerRegister(unzigzag(get_varint(bytes, at)?)),
        14 => OpKind::TimerDelete(unzigzag(get_varint(bytes, at)?)),
        _ => return None,
    };
    Some(StateOp {
        state,
        key,
        namespace,
        kind,
    })
}
