//! An order-independent checksum of a backend's logical state, so that a restored backend can be
//! compared with the live state a checkpoint captured, whatever the storage layout.

use serde::{Deserialize, Serialize};

use crate::workload::{Namespace, StateId};

/// Sum of per-entry hashes plus counts. Two states with the same logical entries have the same
/// digest in any backend and any iteration order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// Logical entries: one per value, per non-empty list, per map entry.
    pub entries: u64,
    /// Payload bytes of all entries.
    pub bytes: u64,
    /// Wrapping sum of the entries' 64-bit hashes.
    pub checksum: u64,
}

/// Where a logical entry lives; hashed together with its payload.
#[derive(Clone, Copy, Debug)]
pub struct EntryAddress {
    /// The state.
    pub state: StateId,
    /// The key.
    pub key: u64,
    /// The namespace.
    pub namespace: Namespace,
    /// The map user key, None for value and list state.
    pub user_key: Option<u64>,
}

impl Digest {
    /// The digest of two disjoint parts of a state together (the halves of a rescaled restore).
    pub fn combine(self, other: Digest) -> Digest {
        Digest {
            entries: self.entries + other.entries,
            bytes: self.bytes + other.bytes,
            checksum: self.checksum.wrapping_add(other.checksum),
        }
    }

    /// Adds one entry whose payload is given as a sequence of parts (a list's elements, or a
    /// single value). Parts are length-delimited in the hash, so `["ab"]` differs from `["a","b"]`.
    pub fn add<'a>(&mut self, at: EntryAddress, parts: impl IntoIterator<Item = &'a [u8]>) {
        let mut h = Fnv64::new();
        h.write(&at.state.to_le_bytes());
        h.write(&at.key.to_le_bytes());
        let mut namespace = Vec::with_capacity(16);
        at.namespace.write_to(&mut namespace);
        h.write(&namespace);
        match at.user_key {
            Some(uk) => {
                h.write(&[1]);
                h.write(&uk.to_le_bytes());
            }
            None => h.write(&[0]),
        }
        for part in parts {
            h.write(&(part.len() as u64).to_le_bytes());
            h.write(part);
            self.bytes += part.len() as u64;
        }
        self.entries += 1;
        self.checksum = self.checksum.wrapping_add(h.finish());
    }
}

/// FNV-1a, 64-bit, with a final avalanche so that sums of hashes stay well spread.
struct Fnv64(u64);

impl Fnv64 {
    fn new() -> Fnv64 {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(key: u64) -> EntryAddress {
        EntryAddress {
            state: 0,
            key,
            namespace: Namespace::Void,
            user_key: None,
        }
    }

    #[test]
    fn order_does_not_matter_but_content_does() {
        let mut a = Digest::default();
        a.add(at(1), [b"x".as_slice()]);
        a.add(at(2), [b"y".as_slice()]);
        let mut b = Digest::default();
        b.add(at(2), [b"y".as_slice()]);
        b.add(at(1), [b"x".as_slice()]);
        assert_eq!(a, b);
        let mut c = Digest::default();
        c.add(at(1), [b"x".as_slice()]);
        c.add(at(2), [b"z".as_slice()]);
        assert_ne!(a, c);
        let mut split = Digest::default();
        split.add(at(1), [b"a".as_slice(), b"b".as_slice()]);
        let mut joined = Digest::default();
        joined.add(at(1), [b"ab".as_slice()]);
        assert_ne!(split.checksum, joined.checksum);
    }
}
