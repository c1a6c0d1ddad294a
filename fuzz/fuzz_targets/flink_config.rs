//! Fuzz target: `statebench::fuzz_entries::flink_config` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    statebench::fuzz_entries::flink_config(data);
});
