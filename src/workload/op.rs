//! The one op type every stage shares: a single state access as Flink's state API issues it.

use serde::{Deserialize, Serialize};

/// Index of a state in the workload's `states` list (and of its column family in RocksDB).
pub type StateId = u16;

/// The namespace a state entry lives in. Plain keyed state uses Flink's `VoidNamespace`; window
/// state lives in the window's namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Namespace {
    /// `VoidNamespace`: serialized by Flink as a single zero byte.
    Void,
    /// The interval join's timer namespace `"CLEANUP_LEFT"` (a `String`).
    CleanupLeft,
    /// The interval join's timer namespace `"CLEANUP_RIGHT"`.
    CleanupRight,
    /// `TimeWindow [start, end)`, serialized as two big-endian longs.
    Window {
        /// Inclusive start, ms.
        start: i64,
        /// Exclusive end, ms.
        end: i64,
    },
}

impl Namespace {
    /// Appends Flink's serialized form of the namespace.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Namespace::Void => out.push(0),
            Namespace::CleanupLeft => write_java_string(CLEANUP_LEFT, out),
            Namespace::CleanupRight => write_java_string(CLEANUP_RIGHT, out),
            Namespace::Window { start, end } => {
                out.extend_from_slice(&start.to_be_bytes());
                out.extend_from_slice(&end.to_be_bytes());
            }
        }
    }

    /// Reads a namespace serialized by [`Namespace::write_to`]; the two forms differ in length.
    pub fn read_from(bytes: &[u8]) -> Option<Namespace> {
        match bytes.len() {
            1 if bytes[0] == 0 => Some(Namespace::Void),
            13 if &bytes[1..] == CLEANUP_LEFT.as_bytes() => Some(Namespace::CleanupLeft),
            14 if &bytes[1..] == CLEANUP_RIGHT.as_bytes() => Some(Namespace::CleanupRight),
            16 => Some(Namespace::Window {
                start: i64::from_be_bytes(bytes[..8].try_into().ok()?),
                end: i64::from_be_bytes(bytes[8..].try_into().ok()?),
            }),
            _ => None,
        }
    }

    /// Serialized length in bytes.
    pub fn serialized_len(&self) -> usize {
        match self {
            Namespace::Void => 1,
            Namespace::CleanupLeft => 1 + CLEANUP_LEFT.len(),
            Namespace::CleanupRight => 1 + CLEANUP_RIGHT.len(),
            Namespace::Window { .. } => 16,
        }
    }
}

const CLEANUP_LEFT: &str = "CLEANUP_LEFT";
const CLEANUP_RIGHT: &str = "CLEANUP_RIGHT";

/// Flink's `StringSerializer` (`StringValue.writeString`) for ASCII text: length + 1 as a 7-bit
/// varint, then one byte per character.
fn write_java_string(text: &str, out: &mut Vec<u8>) {
    let mut len = text.len() as u32 + 1;
    while len >= 0x80 {
        out.push((len as u8) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(text.as_bytes());
}

/// A value that an op writes, named by a tag and a length rather than stored: the bytes are
/// derived from the tag by [`fill_value`], so every backend sees the same bytes and a trace
/// stays small.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ValueRef {
    /// Seed of the value's bytes (derived from the workload seed and the op's position).
    pub tag: u64,
    /// Length of the value in bytes.
    pub len: u32,
}

/// What an op does to its state. Map user keys are `Long`s, like the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OpKind {
    /// `ValueState.value()`
    ValueGet,
    /// `ValueState.update(v)`
    ValuePut(ValueRef),
    /// `ValueState.clear()`
    ValueClear,
    /// `ListState.get()`, deserializing the whole list
    ListGet,
    /// `ListState.add(v)`: a RocksDB merge
    ListAdd(ValueRef),
    /// `ListState.update([v])`: the list replaced by one element (a put)
    ListUpdate(ValueRef),
    /// `ListState.clear()`
    ListClear,
    /// `MapState.get(uk)`
    MapGet(u64),
    /// `MapState.put(uk, v)`
    MapPut(u64, ValueRef),
    /// `MapState.contains(uk)`
    MapContains(u64),
    /// `MapState.remove(uk)`
    MapRemove(u64),
    /// `MapState.entries()` iterated to the end
    MapIterate,
    /// `MapState.clear()`
    MapClear,
    /// `TimerService.registerEventTimeTimer(t)` for the current key and namespace
    TimerRegister(i64),
    /// `TimerService.deleteEventTimeTimer(t)`, and the removal of a firing timer
    TimerDelete(i64),
}

/// The class of an op, the unit latencies are reported by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpClass {
    /// value get
    ValueGet,
    /// value put
    ValuePut,
    /// value clear
    ValueClear,
    /// list get
    ListGet,
    /// list add
    ListAdd,
    /// list update
    ListUpdate,
    /// list clear
    ListClear,
    /// map get
    MapGet,
    /// map put
    MapPut,
    /// map contains
    MapContains,
    /// map remove
    MapRemove,
    /// map iterate
    MapIterate,
    /// map clear
    MapClear,
    /// timer register
    TimerRegister,
    /// timer delete
    TimerDelete,
}

impl OpClass {
    /// Every class, in report order.
    pub const ALL: [OpClass; 15] = [
        OpClass::ValueGet,
        OpClass::ValuePut,
        OpClass::ValueClear,
        OpClass::ListGet,
        OpClass::ListAdd,
        OpClass::ListUpdate,
        OpClass::ListClear,
        OpClass::MapGet,
        OpClass::MapPut,
        OpClass::MapContains,
        OpClass::MapRemove,
        OpClass::MapIterate,
        OpClass::MapClear,
        OpClass::TimerRegister,
        OpClass::TimerDelete,
    ];

    /// The name used in reports, e.g. `value.get`.
    pub fn name(self) -> &'static str {
        match self {
            OpClass::ValueGet => "value.get",
            OpClass::ValuePut => "value.put",
            OpClass::ValueClear => "value.clear",
            OpClass::ListGet => "list.get",
            OpClass::ListAdd => "list.add",
            OpClass::ListUpdate => "list.update",
            OpClass::ListClear => "list.clear",
            OpClass::MapGet => "map.get",
            OpClass::MapPut => "map.put",
            OpClass::MapContains => "map.contains",
            OpClass::MapRemove => "map.remove",
            OpClass::MapIterate => "map.iterate",
            OpClass::MapClear => "map.clear",
            OpClass::TimerRegister => "timer.register",
            OpClass::TimerDelete => "timer.delete",
        }
    }

    /// Position in [`OpClass::ALL`], for array-indexed per-class tables.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether ops of this class write a value ([`OpKind::value`] is `Some`): a bit test rather
    /// than a branch, for loops over ops whose kinds come in random order.
    #[inline]
    pub fn writes_value(self) -> bool {
        const WRITES: u32 = 1 << OpClass::ValuePut as u32
            | 1 << OpClass::ListAdd as u32
            | 1 << OpClass::ListUpdate as u32
            | 1 << OpClass::MapPut as u32;
        WRITES >> self as u32 & 1 == 1
    }
}

impl OpKind {
    /// The value this op writes, if any.
    #[inline]
    pub fn value(&self) -> Option<ValueRef> {
        match *self {
            OpKind::ValuePut(v)
            | OpKind::ListAdd(v)
            | OpKind::ListUpdate(v)
            | OpKind::MapPut(_, v) => Some(v),
            _ => None,
        }
    }

    /// The class this op is reported under.
    #[inline]
    pub fn class(&self) -> OpClass {
        match self {
            OpKind::ValueGet => OpClass::ValueGet,
            OpKind::ValuePut(_) => OpClass::ValuePut,
            OpKind::ValueClear => OpClass::ValueClear,
            OpKind::ListGet => OpClass::ListGet,
            OpKind::ListAdd(_) => OpClass::ListAdd,
            OpKind::ListUpdate(_) => OpClass::ListUpdate,
            OpKind::ListClear => OpClass::ListClear,
            OpKind::MapGet(_) => OpClass::MapGet,
            OpKind::MapPut(..) => OpClass::MapPut,
            OpKind::MapContains(_) => OpClass::MapContains,
            OpKind::MapRemove(_) => OpClass::MapRemove,
            OpKind::MapIterate => OpClass::MapIterate,
            OpKind::MapClear => OpClass::MapClear,
            OpKind::TimerRegister(_) => OpClass::TimerRegister,
            OpKind::TimerDelete(_) => OpClass::TimerDelete,
        }
    }
}

/// One state access: which state, under which key and namespace, doing what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StateOp {
    /// The state accessed.
    pub state: StateId,
    /// The current key (a Java `Long`).
    pub key: u64,
    /// The namespace.
    pub namespace: Namespace,
    /// The access.
    pub kind: OpKind,
}

/// Writes the bytes of `value` into `out` (cleared first): the same tag gives the same bytes on
/// every machine (see [`write_value`]).
pub fn fill_value(value: ValueRef, out: &mut Vec<u8>) {
    out.clear();
    append_value(value, out);
}

/// Appends the bytes of `value` to `out` (see [`write_value`]).
pub fn append_value(value: ValueRef, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + value.len as usize, 0);
    write_value(value, &mut out[start..]);
}

/// Appends the value bytes of `ops` to `values`, one after another; returns each op's span of
/// them (empty for an op that writes none): the flat form `backend::Events` takes, for callers
/// that generate a whole stream before any clock starts (the overhead bench, tests).
pub fn append_values(ops: &[StateOp], values: &mut Vec<u8>) -> Vec<(usize, usize)> {
    ops.iter()
        .map(|op| {
            let start = values.len();
            if let Some(value) = op.kind.value() {
                append_value(value, values);
            }
            (start, values.len())
        })
        .collect()
}

/// Words of [`VALUE_POOL`] one chunk of a value covers: 4 KiB.
const CHUNK_WORDS: usize = 512;

/// Pseudo-random words (SplitMix64 from a fixed seed, built at compile time) that values are cut
/// from: twice a chunk, so a chunk read from any of the first [`CHUNK_WORDS`] offsets is
/// contiguous. 8 KiB: it stays in the L1 cache beside the backend's working set.
static VALUE_POOL: [u64; 2 * CHUNK_WORDS] = {
    let mut pool = [0u64; 2 * CHUNK_WORDS];
    let mut state = 0x7661_6c75_655f_706fu64;
    let mut i = 0;
    while i < pool.len() {
        pool[i] = splitmix64(&mut state);
        i += 1;
    }
    pool
};

/// Writes the bytes of `value` into `bytes`, which is exactly `value.len` long: for a buffer
/// reused without zeroing it first.
///
/// Each 4 KiB chunk of a value is a run of [`VALUE_POOL`] words from an offset, each word xored
/// with a 64-bit mask; offset and mask are drawn per chunk by SplitMix64 from the tag. The bytes
/// look random to a compressor as a SplitMix64 stream does (two values, or two chunks, never
/// share a byte run, as their masks differ), but cost a load, a xor and a store per word instead
/// of a 64-bit mix: the harness's value materialisation stays small next to a 20 ns heap op.
#[inline]
pub fn write_value(value: ValueRef, bytes: &mut [u8]) {
    debug_assert_eq!(bytes.len(), value.len as usize);
    let mut state = value.tag;
    for chunk in bytes.chunks_mut(8 * CHUNK_WORDS) {
        let offset = (splitmix64(&mut state) % CHUNK_WORDS as u64) as usize;
        let full = chunk.len() / 8;
        let mask = splitmix64(&mut state);
        let words = &VALUE_POOL[offset..offset + CHUNK_WORDS];
        let mut bytes = chunk.chunks_exact_mut(8);
        for (out, word) in (&mut bytes).zip(words) {
            out.copy_from_slice(&(word ^ mask).to_le_bytes());
        }
        let rest = bytes.into_remainder();
        let n = rest.len();
        if n > 0 {
            let last = words[full] ^ mask;
            rest.copy_from_slice(&last.to_le_bytes()[..n]);
        }
    }
}

/// One step of SplitMix64 (Steele, Lea, Flood 2014).
#[inline]
pub(crate) const fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classes_that_write_a_value_are_the_kinds_with_one() {
        let v = ValueRef { tag: 1, len: 2 };
        let kinds = [
            OpKind::ValueGet,
            OpKind::ValuePut(v),
            OpKind::ValueClear,
            OpKind::ListGet,
            OpKind::ListAdd(v),
            OpKind::ListUpdate(v),
            OpKind::ListClear,
            OpKind::MapGet(3),
            OpKind::MapPut(3, v),
            OpKind::MapContains(3),
            OpKind::MapRemove(3),
            OpKind::MapIterate,
            OpKind::MapClear,
            OpKind::TimerRegister(4),
            OpKind::TimerDelete(4),
        ];
        assert_eq!(kinds.len(), OpClass::ALL.len());
        for kind in kinds {
            assert_eq!(
                kind.class().writes_value(),
                kind.value().is_some(),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn values_have_their_length_and_depend_only_on_the_tag() {
        let mut a = Vec::new();
        let mut b = vec![1, 2, 3];
        for len in [0, 1, 7, 8, 9, 100] {
            fill_value(ValueRef { tag: 5, len }, &mut a);
            fill_value(ValueRef { tag: 5, len }, &mut b);
            assert_eq!(a.len(), len as usize);
            assert_eq!(a, b);
        }
        fill_value(ValueRef { tag: 6, len: 100 }, &mut b);
        assert_ne!(a, b);
    }
}
