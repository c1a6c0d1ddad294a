//! Replays every file of the fuzz corpora (`fuzz/corpus/<target>/`) through the entry points
//! the fuzz targets use, on stable: no input may panic, and the seeds that are valid inputs
//! must stay accepted.

use std::path::Path;

use statebench::fuzz_entries;

/// Feeds every file of `fuzz/corpus/<target>` to `entry`; returns (files, accepted).
fn replay(target: &str, entry: fn(&[u8]) -> bool) -> (usize, usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let (mut files, mut accepted) = (0, 0);
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        files += 1;
        accepted += usize::from(entry(&data));
    }
    (files, accepted)
}

#[test]
fn workload_corpus() {
    let (files, accepted) = replay("workload", fuzz_entries::workload);
    assert!(
        files >= 15 && accepted >= 15,
        "{files} files, {accepted} accepted"
    );
}

#[test]
fn trace_corpus() {
    let (files, accepted) = replay("trace", fuzz_entries::trace);
    assert!(
        files >= 2 && accepted >= 2,
        "{files} files, {accepted} accepted"
    );
}

#[test]
fn csv_corpus() {
    let (files, accepted) = replay("csv", fuzz_entries::csv);
    assert!(
        files >= 2 && accepted >= 2,
        "{files} files, {accepted} accepted"
    );
}

#[test]
fn flink_config_corpus() {
    let (files, accepted) = replay("flink_config", fuzz_entries::flink_config);
    assert!(
        files >= 3 && accepted >= 3,
        "{files} files, {accepted} accepted"
    );
}
