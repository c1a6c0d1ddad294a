//! Traces: a recorded op stream replays exactly, survives CSV export and import, and a corrupt
//! or truncated trace is a clear error, never a panic or a huge allocation.

use crate::common;

use std::path::Path;
use std::time::Duration;

use statebench::checkpoint::CheckpointMode;
use statebench::run::OpInput;
use statebench::workload::trace::{self, TraceReader};
use statebench::workload::{OpGenerator, OpSource, StateOp, WorkloadSpec};

fn window_spec() -> WorkloadSpec {
    let path = format!(
        "{}/workloads/session-window.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut spec = WorkloadSpec::load(path.as_ref()).unwrap();
    spec.events = 30_000;
    spec.warmup_events = 3_000;
    spec
}

/// Every event of a source: (event time, ops).
fn drain(source: &mut dyn OpSource) -> anyhow::Result<Vec<(i64, Vec<StateOp>)>> {
    let mut ops = Vec::new();
    let mut all = Vec::new();
    while source.next_event(&mut ops)? {
        all.push((source.event_time(), ops.clone()));
    }
    Ok(all)
}

#[test]
fn a_trace_replays_the_generated_stream_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for spec in [window_spec(), common::mixed_spec(20_000, 300)] {
        let path = dir.path().join(format!("{}.sbt", spec.name));
        let summary = trace::record(&spec, &path).unwrap();
        assert_eq!(summary.events, spec.events);
        assert!(trace::is_trace(&path));
        let mut reader = TraceReader::open(&path).unwrap();
        assert_eq!(reader.spec(), &spec);
        assert!(
            !reader.extend_to(spec.events * 2),
            "a trace cannot be continued"
        );
        let replayed = drain(&mut reader).unwrap();
        let generated = drain(&mut OpGenerator::new(&spec).unwrap()).unwrap();
        assert_eq!(replayed.len() as u64, spec.events);
        assert_eq!(replayed, generated, "{}", spec.name);
        let ops: usize = replayed.iter().map(|(_, o)| o.len()).sum();
        assert_eq!(summary.ops as usize, ops);
        assert!(
            (summary.bytes as f64) < 16.0 * ops as f64,
            "compact: {} bytes for {ops} ops",
            summary.bytes
        );
    }
}

#[test]
fn csv_export_and_import_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let spec = window_spec();
    let (a, csv, b) = (
        dir.path().join("a.sbt"),
        dir.path().join("a.csv"),
        dir.path().join("b.sbt"),
    );
    trace::record(&spec, &a).unwrap();
    let rows = trace::export_csv(&a, &csv).unwrap();
    assert!(rows > spec.events);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("event,time_ms,state,key,namespace,op,user_key,value_tag,value_len\n"));
    assert!(text.contains(",window:") && text.contains("timer.register"));
    trace::import_csv(&csv, &spec, &b).unwrap();
    let first = drain(&mut TraceReader::open(&a).unwrap()).unwrap();
    let second = drain(&mut TraceReader::open(&b).unwrap()).unwrap();
    assert_eq!(first, second);
}

fn open_and_drain(path: &Path) -> anyhow::Result<usize> {
    let mut reader = TraceReader::open(path)?;
    Ok(drain(&mut reader)?.len())
}

#[test]
fn corrupt_and_truncated_traces_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sbt");
    trace::record(&common::mixed_spec(5_000, 100), &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let bad = dir.path().join("bad.sbt");
    // Truncated anywhere.
    for cut in (0..bytes.len())
        .step_by(bytes.len() / 97 + 1)
        .chain([bytes.len() - 1])
    {
        std::fs::write(&bad, &bytes[..cut]).unwrap();
        let err = open_and_drain(&bad).expect_err(&format!("cut at {cut} accepted"));
        assert!(format!("{err:#}").contains("bad.sbt"), "{err:#}");
    }
    // A flipped byte in the block payload.
    let mut flipped = bytes.clone();
    let at = bytes.len() - 100;
    flipped[at] ^= 0x10;
    std::fs::write(&bad, &flipped).unwrap();
    let err = format!("{:#}", open_and_drain(&bad).unwrap_err());
    assert!(err.contains("checksum"), "{err}");
    // Absurd lengths are refused before anything is allocated.
    let mut huge_spec = bytes.clone();
    huge_spec[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&bad, &huge_spec).unwrap();
    assert!(format!("{:#}", open_and_drain(&bad).unwrap_err()).contains("corrupt"));
    let spec_len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let block_at = 12 + spec_len + 8;
    let mut huge_block = bytes.clone();
    huge_block[block_at..block_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&bad, &huge_block).unwrap();
    assert!(format!("{:#}", open_and_drain(&bad).unwrap_err()).contains("exceeds the limit"));
    std::fs::write(&bad, b"not a trace at all").unwrap();
    assert!(format!("{:#}", open_and_drain(&bad).unwrap_err()).contains("not a statebench trace"));
}

#[test]
fn bad_csv_rows_are_named_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let spec = common::mixed_spec(10, 10);
    let header = "event,time_ms,state,key,namespace,op,user_key,value_tag,value_len\n";
    let cases = [
        (
            "0,0,0,1,void,value.get,,,\n0,0,0,1,void,value.fly,,,\n",
            "line 3",
            "unknown op",
        ),
        ("0,0,7,1,void,value.get,,,\n", "line 2", "state"),
        (
            "0,0,0,1,void,map.put,1,5,8\n",
            "line 2",
            "map.put on state 0",
        ),
        ("0,0,2,1,window:5,map.get,1,,\n", "line 2", "namespace"),
        (
            "0,0,0,1,void,value.get,,,\n2,0,0,1,void,value.get,,,\n",
            "line 3",
            "event",
        ),
    ];
    for (rows, line, what) in cases {
        let csv = dir.path().join("in.csv");
        std::fs::write(&csv, format!("{header}{rows}")).unwrap();
        let err = format!(
            "{:#}",
            trace::import_csv(&csv, &spec, &dir.path().join("o.sbt")).unwrap_err()
        );
        assert!(
            err.contains("in.csv") && err.contains(line) && err.contains(what),
            "{err}"
        );
        assert!(!dir.path().join("o.sbt").exists(), "no half-written trace");
    }
}

#[test]
fn a_cell_runs_from_a_trace_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.sbt");
    trace::record(&window_spec(), &path).unwrap();
    let input = OpInput::from_path(&path).unwrap();
    assert!(matches!(input, OpInput::Trace { .. }));
    let paths = common::cell_paths(dir.path());
    let result = common::run_input(
        &input,
        common::every_backend().remove(1),
        CheckpointMode::Incremental,
        Duration::from_millis(20),
        &paths,
    );
    // A trace holds the events it recorded: it is never continued to hold checkpoint intervals.
    assert_eq!(result.measured_events, 27_000);
    assert!(result.extension.is_none());
    assert!(result.restore.unwrap().verified);
}
