//! Flink's composite RocksDB keys (`SerializedCompositeKeyBuilder`).

use crate::backend::keygroup::{key_group, key_group_prefix_bytes};
use crate::workload::Namespace;

/// Builds `[key group][key][namespace]([user key])` into one reused buffer, as Flink's shared key
/// builder does: the key part is serialized once per current key, the user key per access.
#[derive(Clone, Debug)]
pub struct KeyBuilder {
    max_parallelism: u32,
    prefix_bytes: usize,
    buf: Vec<u8>,
    key_len: usize,
}

impl KeyBuilder {
    /// A builder for `max_parallelism` key groups.
    pub fn new(max_parallelism: u32) -> KeyBuilder {
        KeyBuilder {
            max_parallelism,
            prefix_bytes: key_group_prefix_bytes(max_parallelism),
            buf: Vec::with_capacity(32),
            key_len: 0,
        }
    }

    /// Sets the current key and namespace: `[key group BE][key as 8-byte BE long][namespace]`.
    pub fn set_key(&mut self, key: u64, namespace: Namespace) {
        self.buf.clear();
        self.push_key_group(key);
        self.buf.extend_from_slice(&key.to_be_bytes());
        namespace.write_to(&mut self.buf);
        self.key_len = self.buf.len();
    }

    /// Sets a timer key, as Flink's `TimerSerializer` writes it after the key-group prefix:
    /// `[key group][timestamp, sign bit flipped, BE][key][namespace]`, so timers sort by time.
    pub fn set_timer(&mut self, timestamp: i64, key: u64, namespace: Namespace) {
        self.buf.clear();
        self.push_key_group(key);
        self.buf
            .extend_from_slice(&((timestamp as u64) ^ (1 << 63)).to_be_bytes());
        self.buf.extend_from_slice(&key.to_be_bytes());
        namespace.write_to(&mut self.buf);
        self.key_len = self.buf.len();
    }

    fn push_key_group(&mut self, key: u64) {
        let kg = key_group(key, self.max_parallelism);
        if self.prefix_bytes == 2 {
            self.buf.extend_from_slice(&kg.to_be_bytes());
        } else {
            self.buf.push(kg as u8);
        }
    }

    /// Appends a map user key (a `Long`, 8 bytes BE) after the current key and namespace.
    pub fn set_user_key(&mut self, user_key: u64) {
        self.buf.truncate(self.key_len);
        self.buf.extend_from_slice(&user_key.to_be_bytes());
    }

    /// The key bytes built so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }
}
