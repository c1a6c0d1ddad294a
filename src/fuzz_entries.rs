//! The entry points the fuzz targets (`fuzz/`, run with `cargo +nightly fuzz`) feed arbitrary
//! bytes through, one per kind of input a user hands statebench. `tests/suite/fuzz_corpus.rs` replays
//! every corpus file through the same functions on stable, so CI checks the corpora too.
//!
//! Each function must return (an error is fine) for any input: no panic, no hang, memory within
//! the limits of [`crate::input`]. What they return is whether the input was accepted.

use std::io::Cursor;
use std::path::Path;

use crate::config::{parse_user_profiles, FlinkConfig};
use crate::workload::trace::{check_csv, TraceReader};
use crate::workload::{OpGenerator, OpSource, WorkloadSpec};

/// Events a fuzzed workload is run for: enough to reach every model's per-event work.
const FUZZ_EVENTS: usize = 32;

/// A workload file: parsed, validated and, when valid, its first events generated.
pub fn workload(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(spec) = WorkloadSpec::parse(text, "fuzz.json") else {
        return false;
    };
    let Ok(mut generator) = OpGenerator::new(&spec) else {
        return false;
    };
    let mut ops = Vec::new();
    for _ in 0..FUZZ_EVENTS {
        if !generator.next_event(&mut ops) {
            break;
        }
    }
    true
}

/// A binary trace: opened and read to its end.
pub fn trace(data: &[u8]) -> bool {
    let input = Box::new(Cursor::new(data.to_vec()));
    let Ok(mut reader) = TraceReader::from_reader(input, Path::new("fuzz.sbt")) else {
        return false;
    };
    let mut ops = Vec::new();
    loop {
        match reader.next_event(&mut ops) {
            Ok(true) => {}
            Ok(false) => return true,
            Err(_) => return false,
        }
    }
}

/// The workload a fuzzed CSV is checked against: its first byte picks a plain keyed workload
/// (value, list and map states) or a session window (value, timer and list states).
const CSV_WORKLOADS: [&str; 2] = [
    r#"{ "name": "fuzz", "description": "fuzz", "seed": 1, "events": 10, "warmup_events": 0,
    "max_parallelism": 128, "keys": { "count": 10, "distribution": { "type": "uniform" } },
    "value_size": { "type": "fixed", "bytes": 8 },
    "states": [ { "type": "value", "name": "v" },
                { "type": "list", "name": "l", "get_fraction": 0.1, "clear_fraction": 0.1 },
                { "type": "map", "name": "m", "user_keys": 4,
                  "mix": { "put": 0.5, "get": 0.5, "iterate": 0, "contains": 0, "remove": 0 } } ] }"#,
    r#"{ "name": "fuzz", "description": "fuzz", "seed": 1, "events": 10, "warmup_events": 0,
    "max_parallelism": 128, "keys": { "count": 10, "distribution": { "type": "uniform" } },
    "value_size": { "type": "fixed", "bytes": 8 },
    "stream": { "gap": { "type": "constant", "ms": 1 }, "watermark_interval_ms": 10 },
    "operator": { "type": "session_window", "gap_ms": 5, "aggregation": "incremental" } }"#,
];

/// A CSV op stream: checked row by row against one of [`CSV_WORKLOADS`] (chosen by the first
/// byte; the rest is the CSV).
pub fn csv(data: &[u8]) -> bool {
    let Some((&pick, rest)) = data.split_first() else {
        return false;
    };
    let json = CSV_WORKLOADS[pick as usize % CSV_WORKLOADS.len()];
    let spec = WorkloadSpec::parse(json, "fuzz.json").expect("the fuzz workloads are valid");
    check_csv(Cursor::new(rest), "fuzz.csv", &spec).is_ok()
}

/// A Flink configuration: the first byte picks legacy `flink-conf.yaml` lines, a nested
/// `config.yaml`, or a profiles file; the rest is the file, parsed and resolved.
pub fn flink_config(data: &[u8]) -> bool {
    let Some((&pick, rest)) = data.split_first() else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return false;
    };
    match pick % 3 {
        0 | 1 => FlinkConfig::parse(text, "fuzz.yaml", pick % 3 == 0)
            .and_then(|config| config.resolve(None))
            .is_ok(),
        _ => parse_user_profiles(text, "profiles.yaml").is_ok(),
    }
}
