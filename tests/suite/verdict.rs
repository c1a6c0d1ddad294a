//! The verdict across repeats and runs, against the real binary: `statebench stability` runs the
//! matrix several times and tallies the answers; constraints rule cells out in the report with the
//! reason, and `report DIR` applies new ones.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_statebench");

/// A tiny workload and a configuration restricting the matrix to the heap backend's two cells.
fn heap_only(dir: &Path) -> (String, String) {
    let workload = dir.join("w.json");
    std::fs::write(
        &workload,
        r#"{"name":"t","description":"d","seed":1,"events":4000,"warmup_events":400,"max_parallelism":128,"checkpoint_interval_ms":20,"keys":{"count":50,"distribution":{"type":"uniform"}},"value_size":{"type":"fixed","bytes":8},"states":[{"type":"value","name":"v","read_only_fraction":0.5}]}"#,
    )
    .unwrap();
    let config = dir.join("heap.yaml");
    std::fs::write(&config, "state:\n  backend:\n    type: hashmap\n").unwrap();
    let text = |p: &Path| p.to_str().unwrap().to_string();
    (text(&workload), text(&config))
}

fn statebench(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

#[test]
fn stability_runs_the_matrix_and_tallies_the_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (workload, config) = heap_only(dir.path());
    let reports = dir.path().join("reports");
    let out = statebench(&[
        "stability",
        &workload,
        "--runs",
        "2",
        "--repeats",
        "2",
        "--keep-page-cache",
        "--config",
        &config,
        "--reports",
        reports.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs: Vec<&str> = stdout.lines().filter(|l| l.starts_with("run ")).collect();
    assert_eq!(runs.len(), 2, "{stdout}");
    // hashmap-full is the only cell that checkpoints: every run recommends it.
    assert!(
        runs.iter().all(|l| l.contains("recommended hashmap-full")),
        "{stdout}"
    );
    assert!(
        stdout.contains("recommendation the same in 2 of 2 runs: hashmap-full"),
        "{stdout}"
    );
    assert!(stdout.contains("set of cells tied with the fastest the same in 2 of 2 runs"));
    // Only the heap backend ran: no RocksDB cell to recommend, in either run.
    assert!(
        stdout.contains("RocksDB recommendation the same in 2 of 2 runs: no RocksDB cell eligible"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_dir(&reports).unwrap().count(),
        2,
        "a run directory per run"
    );
}

#[test]
fn constraints_rule_cells_out_in_the_report_and_report_applies_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (workload, config) = heap_only(dir.path());
    let reports = dir.path().join("reports");
    let out = statebench(&[
        "matrix",
        &workload,
        "--repeats",
        "2",
        "--keep-page-cache",
        "--config",
        &config,
        "--heap-budget",
        "1kb",
        "--reports",
        reports.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = std::fs::read_dir(&reports)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("**No recommendation**"), "{md}");
    assert!(
        md.contains("- `hashmap-full`: its state needs")
            && md.contains("more than the heap budget of 1.00 KiB (--heap-budget)"),
        "{md}"
    );
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["constraints"]["heap_budget_bytes"], 1024);
    assert_eq!(results["analysis"]["cells"][1]["repeats"], 2);
    // Redrawn with a generous budget, the heap cell is back.
    let out = statebench(&["report", run.to_str().unwrap(), "--heap-budget", "64gb"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("**Use `hashmap-full`**"), "{md}");
    assert!(!md.contains("Ruled out"));
    let bad = statebench(&["report", run.to_str().unwrap(), "--p99", "soon"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--p99"));
}
