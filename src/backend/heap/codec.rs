//! How the heap backend writes its state objects into a full snapshot and reads them back.
//!
//! Key: `[key 8 B BE][namespace]`. Value: a stamped value is `[timestamp 8 B][int length][bytes]`;
//! a list is `[count][stamped value]*`, a map `[count]([user key 8 B][stamped value])*`, timers
//! `[count][timestamp]*`. The timestamps keep TTL working across a restore.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, ensure, Result};

use super::table::{Slot, Stamped, StateObject};
use crate::backend::byte_array::{read_byte_array, write_byte_array};
use crate::workload::{Namespace, StateKind};

/// Writes a slot's key bytes.
pub(super) fn encode_slot(slot: &Slot, out: &mut Vec<u8>) {
    out.extend_from_slice(&slot.0.to_be_bytes());
    slot.1.write_to(out);
}

/// Reads a slot's key bytes.
pub(super) fn decode_slot(bytes: &[u8]) -> Result<Slot> {
    let corrupt = || anyhow!("corrupt heap checkpoint key");
    let key = u64::from_be_bytes(bytes.get(..8).ok_or_else(corrupt)?.try_into()?);
    let namespace = Namespace::read_from(&bytes[8..]).ok_or_else(corrupt)?;
    Ok((key, namespace))
}

fn encode_stamped(v: &Stamped, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.at.to_be_bytes());
    write_byte_array(out, &v.bytes);
}

/// Serializes a state object.
pub(super) fn encode_object(object: &StateObject, out: &mut Vec<u8>) {
    match object {
        StateObject::Value(v) => encode_stamped(v, out),
        StateObject::List(list) => {
            out.extend_from_slice(&(list.len() as u32).to_be_bytes());
            for e in list.iter() {
                encode_stamped(e, out);
            }
        }
        StateObject::Map(map) => {
            out.extend_from_slice(&(map.len() as u32).to_be_bytes());
            for (uk, v) in map.iter() {
                out.extend_from_slice(&uk.to_be_bytes());
                encode_stamped(v, out);
            }
        }
        StateObject::Timers(timers) => {
            out.extend_from_slice(&(timers.len() as u32).to_be_bytes());
            for t in timers.iter() {
                out.extend_from_slice(&t.to_be_bytes());
            }
        }
    }
}

/// Reads a `u64`/`i64` field from the front of `input`.
fn take8(input: &mut &[u8]) -> Result<[u8; 8]> {
    let field = input
        .get(..8)
        .ok_or_else(|| anyhow!("corrupt heap checkpoint value"))?;
    *input = &input[8..];
    Ok(field.try_into()?)
}

fn decode_stamped(input: &mut &[u8]) -> Result<Stamped> {
    let at = i64::from_be_bytes(take8(input)?);
    let (bytes, rest) =
        read_byte_array(input).ok_or_else(|| anyhow!("corrupt heap checkpoint value"))?;
    *input = rest;
    Ok(Stamped {
        at,
        bytes: bytes.into(),
    })
}

/// Deserializes a state object of `kind`, refusing trailing or missing bytes.
pub(super) fn decode_object(kind: StateKind, bytes: &[u8]) -> Result<StateObject> {
    let mut rest = bytes;
    let object = if kind == StateKind::Value {
        StateObject::Value(decode_stamped(&mut rest)?)
    } else {
        let count_bytes: [u8; 4] = rest
            .get(..4)
            .ok_or_else(|| anyhow!("corrupt heap checkpoint value"))?
            .try_into()?;
        let count = u32::from_be_bytes(count_bytes) as usize;
        rest = &rest[4..];
        // Every element takes at least 8 bytes: a count larger than that is corrupt.
        ensure!(
            count <= rest.len() / 8,
            "corrupt heap checkpoint element count {count}"
        );
        match kind {
            StateKind::List => {
                let list = (0..count)
                    .map(|_| decode_stamped(&mut rest))
                    .collect::<Result<Vec<_>>>()?;
                StateObject::List(Arc::new(list))
            }
            StateKind::Map => {
                let mut map = HashMap::with_capacity(count);
                for _ in 0..count {
                    let uk = u64::from_be_bytes(take8(&mut rest)?);
                    map.insert(uk, decode_stamped(&mut rest)?);
                }
                StateObject::Map(Arc::new(map))
            }
            _ => {
                let timers = (0..count)
                    .map(|_| take8(&mut rest).map(i64::from_be_bytes))
                    .collect::<Result<Vec<_>>>()?;
                StateObject::Timers(Arc::new(timers))
            }
        }
    };
    ensure!(
        rest.is_empty(),
        "corrupt heap checkpoint value: {} trailing bytes",
        rest.len()
    );
    Ok(object)
}
