//! Bad workload files give errors that name the file, the field and what was expected, and the
//! command exits non-zero without panicking.

use std::process::Command;

use statebench::workload::WorkloadSpec;

const VALID: &str = r#"{
  "name": "t", "description": "d", "seed": 1, "events": 100, "warmup_events": 10,
  "max_parallelism": 128,
  "keys": { "count": 10, "distribution": { "type": "zipfian", "theta": 0.99 } },
  "value_size": { "type": "fixed", "bytes": 8 },
  "states": [
    { "type": "value", "name": "v", "read_only_fraction": 0.5 },
    { "type": "map", "name": "m", "user_keys": 4, "mix": { "put": 0.5, "get": 0.5 } }
  ]
}"#;

fn error_for(text: &str) -> String {
    match WorkloadSpec::parse(text, "bad.json") {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn the_valid_file_parses() {
    let spec = WorkloadSpec::parse(VALID, "good.json").unwrap();
    assert_eq!(spec.states.len(), 2);
}

#[test]
fn each_mistake_names_file_field_and_expectation() {
    let cases: [(&str, &str, &[&str]); 9] = [
        (r#""seed": 1,"#, "", &["bad.json", "seed", "missing"]),
        (
            r#""seed": 1"#,
            r#""seed": "one""#,
            &["bad.json", "seed", "expected u64"],
        ),
        (
            r#""events": 100"#,
            r#""events": 100, "colour": 1"#,
            &["bad.json", "colour", "expected one of"],
        ),
        (
            r#""theta": 0.99"#,
            r#""theta": -1"#,
            &["bad.json", "keys.distribution.theta", "> 0", "-1"],
        ),
        (
            r#""type": "zipfian""#,
            r#""type": "zipf""#,
            &["bad.json", "keys.distribution", "zipfian"],
        ),
        (
            r#""warmup_events": 10"#,
            r#""warmup_events": 100"#,
            &["bad.json", "warmup_events", "fewer than"],
        ),
        (
            r#""max_parallelism": 128"#,
            r#""max_parallelism": 40000"#,
            &["max_parallelism", "32768"],
        ),
        (
            r#""get": 0.5 }"#,
            r#""get": 0.4 }"#,
            &["states[1].mix", "add up to 1", "0.9"],
        ),
        (
            r#""name": "m""#,
            r#""name": "v""#,
            &["states[1].name", "no other state"],
        ),
    ];
    for (from, to, needles) in cases {
        assert!(VALID.contains(from), "test case does not apply: {from}");
        let message = error_for(&VALID.replacen(from, to, 1));
        for needle in needles {
            assert!(message.contains(needle), "{needle:?} not in: {message}");
        }
    }
}

#[test]
fn operator_models_need_a_stream_and_no_states() {
    let with_operator = VALID.replace(
        r#""states": ["#,
        r#""operator": { "type": "tumbling_window", "size_ms": 10, "aggregation": "incremental" }, "states": ["#,
    );
    let message = error_for(&with_operator);
    assert!(
        message.contains("`states`") && message.contains("operator"),
        "{message}"
    );
    let start = with_operator.find(r#", "states": ["#).unwrap();
    let without_states = format!("{}}}", &with_operator[..start]);
    let message = error_for(&without_states);
    assert!(message.contains("`stream`"), "{message}");
    let bad_slide = without_states.replace(
        r#""operator": {"#,
        r#""stream": { "gap": { "type": "constant", "ms": 1 }, "watermark_interval_ms": 5 }, "operator": {"#,
    ).replace(r#""type": "tumbling_window", "size_ms": 10"#, r#""type": "sliding_window", "size_ms": 10, "slide_ms": 3"#);
    let message = error_for(&bad_slide);
    assert!(
        message.contains("`operator.size_ms`") && message.contains("multiple"),
        "{message}"
    );
}

#[test]
fn syntax_errors_give_a_position() {
    let message = error_for(&VALID.replace("\"seed\": 1,", "\"seed\": 1,,"));
    assert!(
        message.contains("bad.json") && message.contains("line 2"),
        "{message}"
    );
}

#[test]
fn the_command_exits_non_zero_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, VALID.replace("0.99", "0")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_statebench"))
        .args(["matrix", path.to_str().unwrap(), "--reports"])
        .arg(dir.path().join("reports"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("broken.json") && stderr.contains("keys.distribution.theta"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !dir.path().join("reports").exists(),
        "no half-written results"
    );

    let missing = Command::new(env!("CARGO_BIN_EXE_statebench"))
        .args(["run", "no-such-workload.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-workload.json"));
}

#[test]
fn every_shipped_workload_is_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let spec = WorkloadSpec::load(&path).unwrap();
            assert!(
                !spec.description.is_empty(),
                "{} has no description",
                path.display()
            );
            count += 1;
        }
    }
    assert!(count >= 4, "expected the built-in workloads, found {count}");
}
