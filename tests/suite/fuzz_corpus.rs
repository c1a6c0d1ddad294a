//! Replays every file of the fuzz corpora (`fuzz/corpus/<target>/`) through the entry points
//! the fuzz targets use, on stable: no input may panic, and the seeds that are valid inputs
//! must stay accepted.

use std::path::Path;

use statebench::fuzz_entries;

/// A fuzz entry point: bytes in, whether they were accepted.
type Entry = fn(&[u8]) -> bool;

/// Feeds every file of `fuzz/corpus/<target>` to `entry`; returns (files, accepted).
fn replay(target: &str, entry: Entry) -> (usize, usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let (mut files, mut accepted) = (0, 0);
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        // A running fuzzer may remove files it has reduced.
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        files += 1;
        accepted += usize::from(entry(&data));
    }
    (files, accepted)
}

#[test]
fn every_corpus_replays_and_its_seeds_are_accepted() {
    let targets: [(&str, Entry, usize); 4] = [
        ("workload", fuzz_entries::workload, 15),
        ("trace", fuzz_entries::trace, 2),
        ("csv", fuzz_entries::csv, 2),
        ("flink_config", fuzz_entries::flink_config, 3),
    ];
    for (target, entry, seeds) in targets {
        let (files, accepted) = replay(target, entry);
        assert!(
            files >= seeds && accepted >= seeds,
            "{target}: {files} files, {accepted} accepted, expected at least {seeds} valid seeds"
        );
    }
}
