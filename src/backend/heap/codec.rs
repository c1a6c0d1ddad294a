//! Flink's serializers for what the heap backend holds, as its snapshots write them (integers
//! big-endian, like Java's `DataOutputStream`): keys as `LongSerializer` (8 bytes), namespaces
//! by their serializer, values as `BytePrimitiveArraySerializer` (int length, bytes) behind an
//! 8-byte timestamp only under state TTL (`TtlSerializer`: `TtlValue(timestamp, value)`), lists
//! as `ListSerializer` (int count, elements), maps as `MapSerializer` (int count, then per entry
//! the user key, a null flag and the value), timers as `TimerSerializer` (timestamp with its sign
//! bit flipped, key, namespace).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, bail, ensure, Result};

use super::table::{NamespaceSerializer, Stamped, StateObject};
use crate::backend::byte_array::write_byte_array;
use crate::backend::timer_set::Timer;
use crate::workload::{Namespace, StateKind};

/// Upper bound for one value, so a corrupt length cannot ask for a huge allocation.
const MAX_VALUE_BYTES: usize = 1 << 30;

/// Appends a key (`LongSerializer`).
pub(super) fn write_key(key: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(&key.to_be_bytes());
}

/// Appends a state object; `ttl` puts each value's timestamp before it.
pub(super) fn write_state(object: &StateObject, ttl: bool, out: &mut Vec<u8>) {
    let stamped = |v: &Stamped, out: &mut Vec<u8>| {
        if ttl {
            out.extend_from_slice(&v.at.to_be_bytes());
        }
        write_byte_array(out, &v.bytes);
    };
    match object {
        StateObject::Value(v) => stamped(v, out),
        StateObject::List(list) => {
            out.extend_from_slice(&(list.len() as u32).to_be_bytes());
            for e in list.iter() {
                stamped(e, out);
            }
        }
        StateObject::Map(map) => {
            out.extend_from_slice(&(map.len() as u32).to_be_bytes());
            for (user_key, v) in map.iter() {
                out.extend_from_slice(&user_key.to_be_bytes());
                out.push(0); // not null
                stamped(v, out);
            }
        }
    }
}

/// Appends a timer (`TimerSerializer`).
pub(super) fn write_timer(timer: &Timer, out: &mut Vec<u8>) {
    out.extend_from_slice(&((timer.timestamp as u64) ^ (1 << 63)).to_be_bytes());
    write_key(timer.key, out);
    timer.namespace.write_to(out);
}

/// Reads serialized fields from the front of a byte slice; every error names the field.
pub(super) struct Input<'a> {
    bytes: &'a [u8],
}

impl<'a> Input<'a> {
    /// Reads `bytes` from their start.
    pub(super) fn new(bytes: &'a [u8]) -> Input<'a> {
        Input { bytes }
    }

    /// Bytes not read yet.
    pub(super) fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// The next `n` bytes.
    pub(super) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        ensure!(
            n <= self.bytes.len(),
            "truncated: {what} needs {n} bytes, {} left",
            self.bytes.len()
        );
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        Ok(self.take(N, what)?.try_into().expect("N bytes"))
    }

    /// A byte.
    pub(super) fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    /// A big-endian `short`.
    pub(super) fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// A big-endian `int`.
    pub(super) fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// A big-endian `long`.
    pub(super) fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// A key.
    pub(super) fn key(&mut self) -> Result<u64> {
        self.u64("key")
    }

    /// A namespace written by `serializer`.
    pub(super) fn namespace(&mut self, serializer: NamespaceSerializer) -> Result<Namespace> {
        match serializer {
            NamespaceSerializer::Void => match self.u8("namespace")? {
                0 => Ok(Namespace::Void),
                other => bail!("VoidNamespace byte {other}, expected 0"),
            },
            NamespaceSerializer::Window => {
                let start = self.u64("window start")? as i64;
                let end = self.u64("window end")? as i64;
                Ok(Namespace::Window { start, end })
            }
            NamespaceSerializer::String => {
                let len = self.u8("namespace length")? as usize;
                ensure!(len > 0 && len < 0x80, "namespace string length {len}");
                let mut bytes = vec![len as u8];
                bytes.extend_from_slice(self.take(len - 1, "namespace")?);
                Namespace::read_from(&bytes)
                    .ok_or_else(|| anyhow!("unknown namespace string {:?}", &bytes[1..]))
            }
        }
    }

    fn stamped(&mut self, ttl: bool) -> Result<Stamped> {
        let at = if ttl {
            self.u64("TTL timestamp")? as i64
        } else {
            0
        };
        let len = self.u32("value length")? as usize;
        ensure!(len <= MAX_VALUE_BYTES, "value length {len}");
        Ok(Stamped {
            at,
            bytes: Arc::from(self.take(len, "value")?),
        })
    }

    /// A state object of `kind`; `ttl` says whether values carry timestamps.
    pub(super) fn state(&mut self, kind: StateKind, ttl: bool) -> Result<StateObject> {
        Ok(match kind {
            StateKind::Value => StateObject::Value(self.stamped(ttl)?),
            StateKind::List => {
                let count = self.u32("list length")?;
                let list = (0..count)
                    .map(|_| self.stamped(ttl))
                    .collect::<Result<Vec<_>>>()?;
                StateObject::List(Arc::new(list))
            }
            StateKind::Map => {
                let count = self.u32("map size")?;
                let mut map = HashMap::new();
                for _ in 0..count {
                    let user_key = self.u64("user key")?;
                    ensure!(self.u8("null flag")? == 0, "a null map value");
                    map.insert(user_key, self.stamped(ttl)?);
                }
                StateObject::Map(Arc::new(map))
            }
            StateKind::Timer => bail!("a timer is not a state object"),
        })
    }

    /// A timer whose namespace `serializer` wrote.
    pub(super) fn timer(&mut self, serializer: NamespaceSerializer) -> Result<Timer> {
        let timestamp = (self.u64("timer timestamp")? ^ (1 << 63)) as i64;
        let key = self.key()?;
        let namespace = self.namespace(serializer)?;
        Ok(Timer {
            timestamp,
            key,
            namespace,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_as_written_with_and_without_ttl() {
        let v = |at, b: &[u8]| Stamped {
            at,
            bytes: Arc::from(b),
        };
        let objects = [
            (StateKind::Value, StateObject::Value(v(5, b"abc"))),
            (
                StateKind::List,
                StateObject::List(Arc::new(vec![v(1, b"x"), v(2, b"")])),
            ),
            (
                StateKind::Map,
                StateObject::Map(Arc::new(HashMap::from([(9, v(3, b"yz"))]))),
            ),
        ];
        for ttl in [false, true] {
            for (kind, object) in &objects {
                let mut out = Vec::new();
                write_state(object, ttl, &mut out);
                let mut again = Vec::new();
                write_state(
                    &Input::new(&out).state(*kind, ttl).unwrap(),
                    ttl,
                    &mut again,
                );
                assert_eq!(out, again);
            }
        }
        let mut value = Vec::new();
        write_state(&objects[0].1, false, &mut value);
        assert_eq!(
            value, b"\0\0\0\x03abc",
            "no timestamp without TTL, int length"
        );
        let timer = Timer {
            timestamp: -3,
            key: 4,
            namespace: Namespace::CleanupRight,
        };
        let mut out = Vec::new();
        write_timer(&timer, &mut out);
        assert_eq!(out[0], 0x7F, "sign bit flipped");
        let read = Input::new(&out).timer(NamespaceSerializer::String).unwrap();
        assert_eq!(read, timer);
    }
}
