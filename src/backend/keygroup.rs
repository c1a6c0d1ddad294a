//! Flink's key-group assignment for `Long` keys (`KeyGroupRangeAssignment.assignToKeyGroup`).

use std::num::NonZeroU32;

/// `Long.hashCode()`: the two 32-bit halves xor-ed.
pub fn java_long_hash_code(key: u64) -> i32 {
    (key ^ (key >> 32)) as u32 as i32
}

/// Flink's `MathUtils.murmurHash(int)`: Murmur3's mixing of one int, made non-negative.
pub fn murmur_hash(code: i32) -> i32 {
    let mut h = (code as u32).wrapping_mul(0xcc9e_2d51);
    h = h.rotate_left(15);
    h = h.wrapping_mul(0x1b87_3593);
    h = h.rotate_left(13);
    h = h.wrapping_mul(5).wrapping_add(0xe654_6b64);
    h ^= 4;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    let signed = h as i32;
    if signed >= 0 {
        signed
    } else if signed != i32::MIN {
        -signed
    } else {
        0
    }
}

/// The key group of a `Long` key: `murmurHash(key.hashCode()) % maxParallelism`.
#[inline]
pub fn key_group(key: u64, max_parallelism: u32) -> u16 {
    let groups = NonZeroU32::new(max_parallelism).expect("a max parallelism of at least 1");
    key_group_of(key, groups)
}

/// [`key_group`] for a max parallelism known not to be 0: the remainder needs no check.
#[inline]
pub fn key_group_of(key: u64, max_parallelism: NonZeroU32) -> u16 {
    (murmur_hash(java_long_hash_code(key)) as u32 % max_parallelism) as u16
}

/// The operator (slot) index owning `key_group` among `parallelism` subtasks
/// (`KeyGroupRangeAssignment.computeOperatorIndexForKeyGroup`).
pub fn operator_index_for_key_group(max_parallelism: u32, parallelism: u32, key_group: u16) -> u32 {
    (u64::from(key_group) * u64::from(parallelism) / u64::from(max_parallelism)) as u32
}

/// The key groups (first, last, inclusive) subtask `index` of `parallelism` owns
/// (`KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex`).
pub fn key_group_range_for_operator(
    max_parallelism: u32,
    parallelism: u32,
    index: u32,
) -> (u16, u16) {
    let (m, p, i) = (
        u64::from(max_parallelism),
        u64::from(parallelism),
        u64::from(index),
    );
    let start = (i * m).div_ceil(p);
    let end = ((i + 1) * m - 1) / p;
    (start as u16, end as u16)
}

/// Bytes of the key-group prefix in RocksDB keys: 1 when max parallelism ≤ 128, else 2
/// (`CompositeKeySerializationUtils.computeRequiredBytesInKeyGroupPrefix`).
pub fn key_group_prefix_bytes(max_parallelism: u32) -> usize {
    if max_parallelism > 128 {
        2
    } else {
        1
    }
}
