//! Golden bytes: statebench lays keys out exactly as Flink's RocksDB backend does.
//! The key groups below were computed by Flink's own `MathUtils.murmurHash` and
//! `Long.hashCode` compiled with javac 17.

use statebench::backend::keygroup::{java_long_hash_code, key_group, key_group_prefix_bytes};
use statebench::backend::rocksdb::KeyBuilder;
use statebench::workload::Namespace;

/// (key as a Java long, key group at max parallelism 128, at 32768, at 1000).
const FLINK_KEY_GROUPS: [(i64, u16, u16, u16); 9] = [
    (0, 94, 31198, 54),
    (1, 86, 16342, 478),
    (2, 127, 15231, 463),
    (42, 29, 28189, 565),
    (1000, 7, 135, 311),
    (123_456_789, 81, 22865, 449),
    (4_294_967_296, 86, 16342, 478),
    (-1, 94, 31198, 54),
    (i64::MAX, 108, 10348, 732),
];

#[test]
fn key_groups_match_flinks_assignment() {
    for (key, kg128, kg32768, kg1000) in FLINK_KEY_GROUPS {
        let key = key as u64;
        assert_eq!(key_group(key, 128), kg128, "key {key} at 128");
        assert_eq!(key_group(key, 32768), kg32768, "key {key} at 32768");
        assert_eq!(key_group(key, 1000), kg1000, "key {key} at 1000");
    }
    assert_eq!(java_long_hash_code(4_294_967_296), 1);
    assert_eq!(java_long_hash_code(i64::MAX as u64), i32::MIN);
}

#[test]
fn a_long_key_in_void_namespace_is_ten_bytes_under_128_key_groups() {
    let mut keys = KeyBuilder::new(128);
    keys.set_key(42, Namespace::Void);
    assert_eq!(
        keys.bytes(),
        &[29, 0, 0, 0, 0, 0, 0, 0, 42, 0],
        "[key group][8-byte big-endian long][VoidNamespace byte]"
    );
    keys.set_user_key(7);
    assert_eq!(keys.bytes().len(), 18);
    assert_eq!(&keys.bytes()[10..], &[0, 0, 0, 0, 0, 0, 0, 7]);
    // Setting another user key replaces the previous one.
    keys.set_user_key(258);
    assert_eq!(&keys.bytes()[10..], &[0, 0, 0, 0, 0, 0, 1, 2]);
}

#[test]
fn more_than_128_key_groups_take_a_two_byte_big_endian_prefix() {
    assert_eq!(key_group_prefix_bytes(128), 1);
    assert_eq!(key_group_prefix_bytes(129), 2);
    let mut keys = KeyBuilder::new(32768);
    keys.set_key(0, Namespace::Void);
    // Key group 31198 = 0x79DE.
    assert_eq!(keys.bytes(), &[0x79, 0xDE, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn window_state_and_timer_keys_follow_flinks_serializers() {
    let window = Namespace::Window {
        start: 1000,
        end: 2000,
    };
    let mut keys = KeyBuilder::new(128);
    keys.set_key(42, window);
    // TimeWindow: start and end as big-endian longs after the key.
    let mut expected = vec![29, 0, 0, 0, 0, 0, 0, 0, 42];
    expected.extend_from_slice(&1000i64.to_be_bytes());
    expected.extend_from_slice(&2000i64.to_be_bytes());
    assert_eq!(keys.bytes(), expected.as_slice());
    // Timers: [key group][timestamp with the sign bit flipped][key][namespace], so that
    // timestamps sort in time order, negative ones first.
    keys.set_timer(1999, 42, window);
    let mut timer = vec![29, 0x80, 0, 0, 0, 0, 0, 0x07, 0xCF, 0, 0, 0, 0, 0, 0, 0, 42];
    timer.extend_from_slice(&expected[9..]);
    assert_eq!(keys.bytes(), timer.as_slice());
    keys.set_timer(-1, 42, window);
    assert_eq!(
        &keys.bytes()[1..9],
        &[0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    );
}
