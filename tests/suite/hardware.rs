//! Hardware choices: `--scale` multiplies a workload, report.html renders with its plots in a real
//! headless browser (Chromium), and `statebench compare` puts runs side by side with their
//! differences first.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use statebench::backend::rocksdb::{MemoryMode, PredefinedProfile, RocksDbConfig};
use statebench::backend::BackendConfig;
use statebench::checkpoint::CheckpointMode;
use statebench::results::{read_results, BoundMechanism};
use statebench::run::Plan;

use crate::common;

fn statebench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_statebench"))
        .args(args)
        .output()
        .unwrap()
}

/// Writes a tiny mixed workload of `events` events and 50 keys into `dir`.
fn tiny_workload(dir: &Path, events: u64) -> PathBuf {
    let path = dir.join("tiny.json");
    let spec = common::mixed_spec(events, 50);
    std::fs::write(&path, serde_json::to_vec(&spec).unwrap()).unwrap();
    path
}

#[test]
fn scale_multiplies_keys_and_events_and_refuses_traces() {
    let dir = tempfile::tempdir().unwrap();
    let workload = tiny_workload(dir.path(), 2_000);
    let run = common::run_heap_cell(
        &workload,
        &dir.path().join("reports"),
        &["--scale", "2.5", "--repeats", "1"],
    );
    let results = read_results(&run).unwrap();
    assert_eq!(results.workload.events, 5_000);
    assert_eq!(results.workload.warmup_events, 500);
    assert_eq!(results.workload.keys.count, 125);
    assert!(results.workload.description.contains("scaled ×2.5"));
    assert_eq!(results.cells[0].measured_events, 4_500);

    let bad = statebench(&["run", workload.to_str().unwrap(), "--scale", "0"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected a positive number"));
    let trace = dir.path().join("tiny.sbt");
    let recorded = statebench(&[
        "trace",
        "record",
        workload.to_str().unwrap(),
        trace.to_str().unwrap(),
    ]);
    assert!(recorded.status.success());
    let refused = statebench(&["run", trace.to_str().unwrap(), "--scale", "2"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is a trace, whose ops are fixed"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[test]
fn compare_lists_the_differences_first_and_rates_every_cell() {
    let dir = tempfile::tempdir().unwrap();
    let workload = tiny_workload(dir.path(), 3_000);
    let reports = dir.path().join("reports");
    let a = common::run_heap_cell(&workload, &reports, &["--repeats", "1"]);
    let b = common::run_heap_cell(&workload, &reports, &["--scale", "2", "--repeats", "1"]);
    let out = dir.path().join("cmp");
    let done = statebench(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    let differs = md.find("## What differs").unwrap();
    let events = md
        .find("| events (warm-up) | 3000 (300) | 6000 (600) |")
        .expect(&md);
    let cells = md.find("## Throughput per cell").unwrap();
    assert!(differs < events && events < cells, "{md}");
    assert!(md.contains("| `hashmap-full` |"), "{md}");
    assert!(md.contains("The same on every run:") && md.contains("CPUs"));
    let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
    assert!(html.contains("src=\"data:image/svg+xml;base64,"));
    let one = statebench(&["compare", a.to_str().unwrap()]);
    assert!(!one.status.success());
}

/// Chromium's binary, or None (with the reason printed) where it is not installed.
fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser"].into_iter().find(|name| {
        Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        eprintln!(
            "SKIPPED: no chromium on PATH (scripts/setup.sh installs Debian's `chromium`; it \
             could not be installed here)"
        );
    }
    found
}

/// A script that, once the page has loaded, counts the non-white pixels of every image drawn
/// onto a canvas and writes the counts into the body's `data-ink` attribute.
const INK_PROBE: &str =
    "<script>window.addEventListener('load',()=>{const ink=[...document.images]\
.map(i=>{if(!i.complete||!i.naturalWidth)return 0;const c=document.createElement('canvas');\
c.width=i.naturalWidth;c.height=i.naturalHeight;const x=c.getContext('2d');x.drawImage(i,0,0);\
const d=x.getImageData(0,0,c.width,c.height).data;let n=0;for(let k=0;k<d.length;k+=4)\
{if(d[k+3]>0&&(d[k]<200||d[k+1]<200||d[k+2]<200))n++}return n});\
document.body.setAttribute('data-ink',ink.join(','))})</script>";

fn headless(browser: &str, args: &[&str], page: &Path) -> Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap()
}

#[test]
fn report_html_renders_with_its_plots_in_a_headless_browser() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let workload = tiny_workload(dir.path(), 3_000);
    let run = common::run_heap_cell(&workload, &dir.path().join("reports"), &["--repeats", "1"]);
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    let plots = html.matches("<img class=\"plot\"").count();
    assert_eq!(plots, statebench::report::PLOTS.len());
    // The page as shipped, in the browser: its DOM holds every plot inline.
    let dom = headless(browser, &["--dump-dom"], &run.join("report.html"));
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<h2>Recommendation</h2>"), "{dom}");
    assert_eq!(
        dom.matches("src=\"data:image/svg+xml;base64,").count(),
        plots
    );
    // A copy that measures what the browser drew: every plot decoded and has ink.
    let probe = dir.path().join("probe.html");
    std::fs::write(
        &probe,
        html.replace("</body>", &format!("{INK_PROBE}</body>")),
    )
    .unwrap();
    let probed = headless(browser, &["--dump-dom"], &probe);
    let probed = String::from_utf8_lossy(&probed.stdout);
    let ink: Vec<u64> = probed
        .split_once("data-ink=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(counts, _)| counts.split(',').map(|n| n.parse().unwrap()).collect())
        .expect("the probe ran");
    assert_eq!(ink.len(), plots, "{ink:?}");
    assert!(
        ink.iter().all(|&n| n > 1_000),
        "a plot drew nothing: {ink:?}"
    );
    // A screenshot of the page holds far more than one of an empty page of the same size.
    let shot = |page: &Path, name: &str| {
        let png = dir.path().join(name);
        let arg = format!("--screenshot={}", png.display());
        headless(browser, &[&arg, "--window-size=1200,2400"], page);
        std::fs::read(&png).unwrap()
    };
    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let (report_png, blank_png) = (
        shot(&run.join("report.html"), "report.png"),
        shot(&blank, "blank.png"),
    );
    assert!(report_png.starts_with(b"\x89PNG"));
    assert!(
        report_png.len() > 10 * blank_png.len(),
        "report screenshot {} bytes, blank page {} bytes",
        report_png.len(),
        blank_png.len()
    );
}

/// Runs one RocksDB DEFAULT cell of `workload` once, with incremental checkpoints every 50 ms
/// and `extra` options, into `reports`; returns its run directory.
fn rocksdb_cell(workload: &Path, reports: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec![
        "run",
        workload.to_str().unwrap(),
        "--checkpoint",
        "incremental",
        "--interval",
        "50ms",
        "--repeats",
        "1",
    ];
    args.extend_from_slice(extra);
    common::statebench_run(&args, reports)
}

#[test]
fn container_memory_bounds_each_repeat_and_defaults_to_the_process_size() {
    let dir = tempfile::tempdir().unwrap();
    // Long enough that the measured part takes several of the kernel's 10 ms CPU-time ticks.
    let workload = tiny_workload(dir.path(), 40_000);
    // The default: the configuration's taskmanager.memory.process.size.
    let run = rocksdb_cell(
        &workload,
        &dir.path().join("reports"),
        &["--set", "taskmanager.memory.process.size=1g"],
    );
    let results = read_results(&run).unwrap();
    let cell = &results.cells[0];
    let bound = cell.memory_bound.as_ref().expect("memory was bounded");
    assert_eq!(bound.limit_bytes, 1 << 30);
    let used = cell
        .resources
        .as_ref()
        .expect("the process's use was measured");
    assert!(used.cpu_s > 0.0 && used.cores >= 1, "{used:?}");
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("Memory bounded to 1.00 GiB by"), "{md}");
    assert!(md.contains("**What binds on this hardware:"), "{md}");
    match bound.mechanism {
        BoundMechanism::DirectIo => {
            eprintln!("SKIPPED the cgroup checks: {}", bound.note);
            return;
        }
        BoundMechanism::CgroupV1 | BoundMechanism::CgroupV2 => {
            let peak = bound.peak_bytes.expect("the cgroup's peak");
            assert!(peak > 0 && peak <= 1 << 30, "peak {peak}");
        }
    }
    // A heap cell whose state (about 150 MB of values) cannot fit 64 MiB: the kernel kills it,
    // and the error says so.
    let big = dir.path().join("big.json");
    let mut spec = common::mixed_spec(30_000, 15_000);
    spec.value_size = serde_json::from_str(r#"{"type":"fixed","bytes":10000}"#).unwrap();
    std::fs::write(&big, serde_json::to_vec(&spec).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_statebench"))
        .args(["run", big.to_str().unwrap(), "--backend", "hashmap"])
        .args([
            "--repeats",
            "1",
            "--no-savepoint",
            "--container-memory",
            "64m",
        ])
        .arg("--reports")
        .arg(dir.path().join("reports-big"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("the kernel killed it for want of memory"),
        "{stderr}"
    );
}

#[test]
fn slots_split_the_key_groups_and_the_managed_memory_and_apply_every_op_once() {
    let dir = tempfile::tempdir().unwrap();
    let workload = tiny_workload(dir.path(), 4_000);
    let run = |slots: &str| {
        let reports = dir.path().join(format!("reports-{slots}"));
        read_results(&rocksdb_cell(&workload, &reports, &["--slots", slots])).unwrap()
    };
    let (one, two) = (run("1"), run("2"));
    let (one, two) = (&one.cells[0], &two.cells[0]);
    assert!(one.slots.is_empty());
    assert_eq!(two.slots.len(), 2);
    assert_eq!(two.slots[0].key_groups, (0, 63));
    assert_eq!(two.slots[1].key_groups, (64, 127));
    // The same ops, each applied by one slot, and the same state in the end.
    assert_eq!(two.measured_ops, one.measured_ops);
    assert_eq!(
        two.slots.iter().map(|s| s.measured_ops).sum::<u64>(),
        two.measured_ops
    );
    assert!(two.slots.iter().all(|s| s.measured_ops > 0));
    let (r1, r2) = (one.restore.as_ref().unwrap(), two.restore.as_ref().unwrap());
    assert!(r1.verified && r2.verified);
    assert_eq!((r2.entries, r2.bytes), (r1.entries, r1.bytes));
    assert_eq!(two.all_ops.count, two.measured_ops);
    let slots_key = two
        .setup
        .flink_keys
        .iter()
        .find(|k| k.key == "taskmanager.numberOfTaskSlots")
        .unwrap();
    assert_eq!(slots_key.value, "2");
    // Flink divides the TaskManager's managed memory among its slots.
    let plan = Plan::from_options(
        None,
        &["taskmanager.numberOfTaskSlots=2".to_string()],
        None,
        None,
    )
    .unwrap();
    let spec = common::mixed_spec(100, 10);
    let managed = plan
        .matrix(&spec)
        .unwrap()
        .into_iter()
        .find_map(|cell| match cell.backend {
            BackendConfig::RocksDb(c) => Some(c.memory),
            BackendConfig::HashMap => None,
        })
        .unwrap();
    assert!(
        matches!(managed, MemoryMode::Managed { total_bytes, .. } if total_bytes == 536_870_920 / 2),
        "{managed:?}"
    );
}

/// The fallback where no cgroup can be made: RocksDB with direct I/O for reads, flushes and
/// compactions runs, checkpoints and restores as usual, and its OPTIONS file says so.
#[test]
fn rocksdb_with_direct_io_runs_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let paths = common::cell_paths(dir.path());
    let mut config = RocksDbConfig::new(PredefinedProfile::Default);
    config.direct_io = true;
    let result = common::run(
        &common::mixed_spec(3_000, 50),
        BackendConfig::RocksDb(config),
        CheckpointMode::Incremental,
        std::time::Duration::from_millis(50),
        &paths,
    );
    assert!(result.restore.unwrap().verified);
    let options = std::fs::read_to_string(dir.path().join(result.options_file.unwrap())).unwrap();
    assert!(options.contains("use_direct_reads=true"), "{options}");
    assert!(options.contains("use_direct_io_for_flush_and_compaction=true"));
}
