//! Issue 14, hostile inputs: every case a careless or hostile user tried ends in a one-line error
//! naming the input, the field or position and the limit (exit status 1 from the command), or
//! behaves correctly; never a panic, an abort, a hang or unbounded memory.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use statebench::checkpoint::{parse_duration, parse_interval};
use statebench::config::{parse_user_profiles, FlinkConfig};
use statebench::workload::trace::{self, check_csv, TraceReader};
use statebench::workload::{OpGenerator, OpSource, WorkloadSpec};

/// A plain keyed workload with one value state (id 0) and one map state (id 1).
const KEYED: &str = r#"{ "name": "keyed", "description": "test", "seed": 1, "events": 1,
  "warmup_events": 0, "max_parallelism": 128,
  "keys": { "count": 10, "distribution": { "type": "uniform" } },
  "value_size": { "type": "fixed", "bytes": 8 },
  "states": [ { "type": "value", "name": "v" },
              { "type": "map", "name": "m", "user_keys": 4,
                "mix": { "put": 1, "get": 0, "iterate": 0, "contains": 0, "remove": 0 } } ] }"#;

/// The error of a `Result` as one line.
fn error<T: std::fmt::Debug>(result: anyhow::Result<T>) -> String {
    let message = format!("{:#}", result.unwrap_err());
    assert!(!message.contains('\n'), "one line: {message}");
    message
}

/// Asserts that `message` contains every one of `parts`.
fn says(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} missing in: {message}");
    }
}

/// Runs the built `statebench` with `args`; asserts exit status 1 and returns stderr.
fn fails(args: &[&str]) -> String {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_statebench"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{args:?} took too long"
    );
    stderr
}

fn workload_path() -> String {
    format!("{}/workloads/quickstart.json", env!("CARGO_MANIFEST_DIR"))
}

/// A version-1 trace of `KEYED` with one event holding `op` (its encoded bytes), checksums valid.
fn trace_with_op(op: &[u8], after_trailer: &[u8]) -> Vec<u8> {
    let spec = WorkloadSpec::parse(KEYED, "keyed").unwrap();
    let json = serde_json::to_vec(&spec).unwrap();
    let mut bytes = b"SBTR".to_vec();
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&(json.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&json);
    bytes.extend_from_slice(&1u64.to_le_bytes());
    let mut payload = vec![0, 1]; // time delta 0, one op
    payload.extend_from_slice(op);
    bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&1u64.to_le_bytes());
    bytes.extend_from_slice(&1u64.to_le_bytes());
    bytes.extend_from_slice(after_trailer);
    bytes
}

/// Encoded value.put of a value of `len` bytes on state `state`, key 1, void namespace.
fn value_put(state: u8, len: u32) -> Vec<u8> {
    let mut op = vec![state, 1, 0, 1];
    op.extend_from_slice(&7u64.to_le_bytes());
    let mut v = len as u64;
    while v >= 0x80 {
        op.push(v as u8 | 0x80);
        v >>= 7;
    }
    op.push(v as u8);
    op
}

/// Reads a trace's bytes to the end.
fn read_trace(bytes: Vec<u8>) -> anyhow::Result<u64> {
    let mut reader =
        TraceReader::from_reader(Box::new(std::io::Cursor::new(bytes)), "t.sbt".as_ref())?;
    let mut ops = Vec::new();
    while reader.next_event(&mut ops)? {}
    Ok(reader.position())
}

#[test]
fn case_1_13_durations_are_bounded_and_one_interval_rule_holds_everywhere() {
    says(
        &error(parse_duration("99999999999999999999h")),
        &["99999999999999999999h", "limit of 1099511627776 ms"],
    );
    says(
        &error(parse_interval("0s")),
        &["\"0s\"", "minimum of 10 ms"],
    );
    for (key, value) in [
        ("execution.checkpointing.interval", "99999999999999999999h"),
        ("execution.checkpointing.min-pause", "99999999999999999999h"),
        ("execution.checkpointing.interval", "0s"),
    ] {
        let mut config = FlinkConfig::default();
        config.set(&format!("{key}={value}")).unwrap();
        says(&error(config.resolve(None)), &["--set", key, value, "ms"]);
    }
    let spec = KEYED.replace(
        r#""seed": 1,"#,
        r#""seed": 1, "checkpoint_interval_ms": 5,"#,
    );
    says(
        &error(WorkloadSpec::parse(&spec, "w.json")),
        &["w.json", "checkpoint_interval_ms", "10 to"],
    );
}

#[test]
fn case_2_deep_or_exploding_yaml_is_refused() {
    let deep = "a:\n".to_string()
        + &(1..20_000)
            .map(|i| format!("{}a:\n", " ".repeat(i)))
            .collect::<String>();
    says(
        &error(FlinkConfig::parse(&deep, "config.yaml", false)),
        &["config.yaml", "limit of 64 levels"],
    );
    let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (p, n) in ('a'..='i').zip('b'..='j') {
        laughs.push_str(&format!(
            "{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        ));
    }
    says(
        &error(FlinkConfig::parse(&laughs, "config.yaml", false)),
        &["config.yaml", "limit of 100000 nodes"],
    );
    says(
        &error(parse_user_profiles(&laughs, "profiles.yaml")),
        &["profiles.yaml", "limit of 100000 nodes"],
    );
}

#[test]
fn case_3_11_trace_ops_must_fit_their_state_and_the_value_cap() {
    assert_eq!(read_trace(trace_with_op(&value_put(0, 8), b"")).unwrap(), 1);
    says(
        &error(read_trace(trace_with_op(&value_put(0, u32::MAX), b""))),
        &[
            "t.sbt",
            "block 1",
            "event 0, op 0",
            "4294967295",
            "limit of 67108864 bytes",
        ],
    );
    // map.put (tag 8, user key 3) on the value state 0.
    let mut map_put = vec![0, 1, 0, 8, 3];
    map_put.extend_from_slice(&value_put(0, 8)[4..]);
    says(
        &error(read_trace(trace_with_op(&map_put, b""))),
        &[
            "t.sbt",
            "event 0, op 0",
            "map.put on state 0 (\"v\"), which is Value state",
        ],
    );
}

#[test]
fn case_3_6_11_csv_rows_are_checked_and_bounded() {
    let spec = WorkloadSpec::parse(KEYED, "keyed").unwrap();
    let header = "event,time_ms,state,key,namespace,op,user_key,value_tag,value_len\n";
    let check = |rows: &str| check_csv(format!("{header}{rows}").as_bytes(), "in.csv", &spec);
    assert_eq!(check("0,0,0,1,void,value.put,,7,8\n").unwrap(), 1);
    says(
        &error(check("0,0,0,1,void,value.put,,7,4294967295\n")),
        &["in.csv: line 2", "value_len", "limit of 67108864 bytes"],
    );
    says(
        &error(check("0,0,0,1,void,map.put,3,7,8\n")),
        &["in.csv: line 2", "map.put on state 0", "Value state"],
    );
    let long = format!("0,0,0,1,void,value.put,,7,{}\n", "9".repeat(100_000));
    let message = error(check(&long));
    says(&message, &["in.csv: line 2", "limit of 1024 bytes"]);
    assert!(message.len() < 200, "{message}");
    let long_field = format!("0,0,0,1,{},value.put,,7,8\n", "x".repeat(900));
    let message = error(check(&long_field));
    says(
        &message,
        &["in.csv: line 2", "namespace", "(900 characters)"],
    );
    assert!(message.len() < 300, "{message}");
}

#[test]
fn case_5_window_and_gap_settings_are_bounded_by_the_work_per_event() {
    let stream = r#""stream": { "gap": { "type": "constant", "ms": GAP },
        "watermark_interval_ms": 200 }, "operator": OPERATOR"#;
    let spec = |gap: &str, operator: &str| {
        KEYED
            .replace(r#""events": 1,"#, r#""events": 2000,"#)
            .replace(
                &KEYED[KEYED.find(r#""states""#).unwrap()..KEYED.len() - 1],
                &stream.replace("GAP", gap).replace("OPERATOR", operator),
            )
    };
    says(
        &error(WorkloadSpec::parse(
            &spec(
                "1",
                r#"{ "type": "sliding_window", "size_ms": 60000, "slide_ms": 1, "aggregation": "holistic" }"#,
            ),
            "w.json",
        )),
        &[
            "w.json",
            "operator.slide_ms",
            "at most 1000",
            "60000 windows per element",
        ],
    );
    says(
        &error(WorkloadSpec::parse(
            &spec(
                "1",
                r#"{ "type": "tumbling_window", "size_ms": 18446744073709551615, "aggregation": "incremental" }"#,
            ),
            "w.json",
        )),
        &["w.json", "operator.size_ms", "at most 1099511627776 ms"],
    );
    says(
        &error(WorkloadSpec::parse(
            &spec("1e300", r#"{ "type": "continuous_aggregation" }"#),
            "w.json",
        )),
        &["w.json", "stream.gap", "at most 1099511627776 ms"],
    );
    // A gap of 1e9 ms is legal: the stream steps over the watermarks it skips at once.
    let started = Instant::now();
    let big_gap = WorkloadSpec::parse(
        &spec(
            "1e9",
            r#"{ "type": "tumbling_window", "size_ms": 1000, "aggregation": "incremental" }"#,
        ),
        "w.json",
    )
    .unwrap();
    let mut generator = OpGenerator::new(&big_gap).unwrap();
    let mut ops = Vec::new();
    let mut events = 0;
    while generator.next_event(&mut ops) {
        events += 1;
    }
    assert_eq!(events, 2000);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn case_6_input_files_are_bounded() {
    says(
        &error(WorkloadSpec::load(Path::new("/dev/zero"))),
        &["/dev/zero", "workload file", "limit of 1048576 bytes"],
    );
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("config.yaml");
    std::fs::write(&big, "#".repeat(5 << 20)).unwrap();
    says(
        &error(FlinkConfig::from_file(&big)),
        &["config.yaml", "limit of 4194304 bytes"],
    );
}

#[test]
fn case_12_a_user_profile_may_not_take_a_predefined_name_in_any_case() {
    for name in ["default", "Default", "flash_ssd_optimized"] {
        let text = format!("{name}:\n  state.backend.rocksdb.use-bloom-filter: true\n");
        says(
            &error(parse_user_profiles(&text, "p.yaml")),
            &["p.yaml", name, "predefined profile", "ignoring case"],
        );
    }
}

#[test]
fn case_4_thread_counts_and_other_rocksdb_numbers_are_bounded() {
    for (key, value, limit) in [
        ("state.backend.rocksdb.thread.num", "99999999", "1 to 256"),
        (
            "state.backend.rocksdb.writebuffer.count",
            "1000000",
            "1 to 64",
        ),
        (
            "state.backend.rocksdb.files.open",
            "99999999999",
            "-1 or a count from 1 to 2147483647",
        ),
        (
            "state.backend.rocksdb.writebuffer.size",
            "1tb",
            "at most 68719476736 bytes",
        ),
        (
            "state.backend.rocksdb.block.blocksize",
            "8gb",
            "at most 1073741824 bytes",
        ),
        (
            "execution.checkpointing.num-retained",
            "99999999",
            "1 to 1000",
        ),
    ] {
        let mut config = FlinkConfig::default();
        config.set(&format!("{key}={value}")).unwrap();
        says(&error(config.resolve(None)), &["--set", key, value, limit]);
    }
}

#[test]
fn case_14_trace_framing_errors_say_what_is_wrong() {
    says(
        &error(read_trace(trace_with_op(&value_put(0, 8), b"junk"))),
        &["t.sbt", "bytes after the trailer"],
    );
    says(
        &error(read_trace(b"SBTR\x01".to_vec())),
        &["t.sbt", "shorter than its 12-byte header"],
    );
    says(
        &error(read_trace(b"XXXXxxxxxxxxxxxx".to_vec())),
        &["t.sbt", "does not start with \"SBTR\""],
    );
    let message = error(WorkloadSpec::parse("{ \"name\": ", "w.json"));
    says(&message, &["w.json", "line 1"]);
    assert!(!message.contains('?'), "{message}");
    let message = error(WorkloadSpec::parse("{ \"name\": \"x\" oops", "w.json"));
    assert!(!message.contains("`?`"), "{message}");
}

#[test]
fn the_command_ends_each_case_with_exit_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload_path();
    let reports = dir.path().join("reports");
    let reports = reports.to_str().unwrap();
    let deep = dir.path().join("config.yaml");
    let nested: String = (0..2_000)
        .map(|i| format!("{}a:\n", " ".repeat(i)))
        .collect();
    std::fs::write(&deep, nested).unwrap();
    let deep = deep.to_str().unwrap();
    let run_cases: [(&[&str], &[&str]); 5] = [
        (
            &[
                "--checkpoint",
                "full",
                "--interval",
                "99999999999999999999h",
            ],
            &["--interval", "limit of 1099511627776 ms"],
        ),
        (
            &["--checkpoint", "full", "--interval", "0s"],
            &["--interval", "minimum of 10 ms"],
        ),
        (
            &["--set", "state.backend.rocksdb.thread.num=99999999"],
            &["state.backend.rocksdb.thread.num", "1 to 256"],
        ),
        (&["--config", deep], &["config.yaml", "limit of 64 levels"]),
        (&[], &["limit of 1048576 bytes"]),
    ];
    for (i, (options, expected)) in run_cases.iter().enumerate() {
        // The last case runs /dev/zero as the workload.
        let input = if options.is_empty() { "/dev/zero" } else { &w };
        let mut args = vec!["run", input, "--reports", reports];
        args.extend_from_slice(options);
        says(&fails(&args), expected);
        assert!(!Path::new(reports).exists(), "case {i}: no run directory");
    }
    let t = dir.path().join("t.sbt");
    std::fs::write(&t, trace_with_op(&value_put(0, u32::MAX), b"")).unwrap();
    let t = t.to_str().unwrap();
    let csv = dir.path().join("t.csv");
    says(
        &fails(&["trace", "export", t, csv.to_str().unwrap()]),
        &["t.sbt", "event 0, op 0", "limit of 67108864 bytes"],
    );
    says(
        &fails(&["workload", "describe", t]),
        &["t.sbt", "a statebench trace", "needs a workload file"],
    );
}

#[test]
fn a_recorded_trace_still_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let spec =
        WorkloadSpec::parse(&KEYED.replace(r#""events": 1,"#, r#""events": 50,"#), "k").unwrap();
    let path = dir.path().join("k.sbt");
    trace::record(&spec, &path).unwrap();
    let mut reader = TraceReader::open(&path).unwrap();
    let mut ops = Vec::new();
    while reader.next_event(&mut ops).unwrap() {}
    assert_eq!(reader.position(), 50);
}
