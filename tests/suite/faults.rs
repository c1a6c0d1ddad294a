//! Faults, outputs and interruptions (issue 14), run against the real binary: an output never
//! replaces an input or a foreign file, the work dir is locked, a full disk leaves the last
//! complete results and no temporaries, and Ctrl-C keeps the cells done and can be resumed.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_statebench");

/// A small mixed workload of `events` events with checkpoints every 100 ms.
fn workload(dir: &Path, events: u64, seed: u64) -> PathBuf {
    let path = dir.join("w.json");
    let json = format!(
        r#"{{ "name": "faults", "description": "test", "seed": {seed}, "events": {events},
  "warmup_events": {warmup}, "max_parallelism": 128, "checkpoint_interval_ms": 100,
  "keys": {{ "count": 20000, "distribution": {{ "type": "uniform" }} }},
  "value_size": {{ "type": "fixed", "bytes": 100 }},
  "states": [
    {{ "type": "value", "name": "v", "read_only_fraction": 0.0 }},
    {{ "type": "map", "name": "m", "user_keys": 4,
       "mix": {{ "put": 0.8, "get": 0.2, "iterate": 0.0, "contains": 0.0, "remove": 0.0 }} }}
  ] }}"#,
        warmup = events / 10
    );
    fs::write(&path, json).unwrap();
    path
}

fn statebench(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the command failed with status 1 and an error line containing `needle`.
fn assert_error(output: &Output, needle: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    let line = err.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
    assert!(line.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every file name under `dir`, recursively.
fn names(dir: &Path) -> Vec<String> {
    let mut all = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            all.push(entry.file_name().to_string_lossy().into_owned());
            all.extend(names(&entry.path()));
        }
    }
    all
}

#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_kept() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 1000, 1);
    let original = fs::read(&w).unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&w, &link).unwrap();
    let hard = dir.path().join("hard.json");
    fs::hard_link(&w, &hard).unwrap();
    for out in [&w, &link, &hard] {
        let output = statebench(&["trace", "record", p(&w), p(out)]);
        assert_error(&output, "refusing to overwrite");
    }
    let trace = dir.path().join("t.sbt");
    assert!(statebench(&["trace", "record", p(&w), p(&trace)])
        .status
        .success());
    let recorded = fs::read(&trace).unwrap();
    assert_error(
        &statebench(&["trace", "export", p(&trace), p(&trace)]),
        "refusing to overwrite",
    );
    let csv = dir.path().join("t.csv");
    assert!(statebench(&["trace", "export", p(&trace), p(&csv)])
        .status
        .success());
    let exported = fs::read(&csv).unwrap();
    assert_error(
        &statebench(&["trace", "import", p(&csv), "--workload", p(&w), p(&csv)]),
        "refusing to overwrite",
    );
    assert_error(
        &statebench(&["trace", "import", p(&csv), "--workload", p(&w), p(&hard)]),
        "refusing to overwrite",
    );
    assert_eq!(fs::read(&w).unwrap(), original);
    assert_eq!(fs::read(&trace).unwrap(), recorded);
    assert_eq!(fs::read(&csv).unwrap(), exported);
}

#[test]
fn a_failed_trace_command_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 1000, 1);
    let csv = dir.path().join("bad.csv");
    fs::write(
        &csv,
        "event,time_ms,state,key,namespace,op,user_key,value_tag,value_len\n0,0,nope,1,void,value.get,,,\n",
    )
    .unwrap();
    let out = dir.path().join("out.sbt");
    let output = statebench(&["trace", "import", p(&csv), "--workload", p(&w), p(&out)]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let left = names(dir.path());
    assert!(!left.iter().any(|n| n.contains("partial")), "{left:?}");
    assert!(!out.exists());
}

/// `statebench run W --backend hashmap --work-dir WORK --reports REPORTS`.
fn run_hashmap(w: &Path, work: &Path, reports: &Path) -> Output {
    statebench(&[
        "run",
        p(w),
        "--backend",
        "hashmap",
        "--work-dir",
        p(work),
        "--reports",
        p(reports),
        "--repeats",
        "2",
        "--keep-page-cache",
    ])
}

#[test]
fn a_foreign_cell_directory_is_refused_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 2000, 1);
    let work = dir.path().join("work");
    fs::create_dir_all(work.join("hashmap-none")).unwrap();
    fs::write(work.join("hashmap-none/precious.txt"), b"mine").unwrap();
    let reports = dir.path().join("reports");
    let output = run_hashmap(&w, &work, &reports);
    assert_error(&output, "not made by statebench");
    assert_eq!(
        fs::read(work.join("hashmap-none/precious.txt")).unwrap(),
        b"mine"
    );
    assert!(!work.join("statebench.lock").exists());
    assert_eq!(names(&reports), Vec::<String>::new(), "no empty run dir");
}

#[test]
fn a_work_dir_in_use_is_refused_and_a_stale_lock_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 2000, 1);
    let work = dir.path().join("work");
    fs::create_dir_all(&work).unwrap();
    let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    fs::write(work.join("statebench.lock"), format!("{}\n", sleeper.id())).unwrap();
    let reports = dir.path().join("reports");
    assert_error(
        &run_hashmap(&w, &work, &reports),
        &format!(
            "work dir {} is in use by pid {}",
            work.display(),
            sleeper.id()
        ),
    );
    assert!(work.join("statebench.lock").exists(), "the live lock stays");
    assert_eq!(names(&reports), Vec::<String>::new());
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    let output = run_hashmap(&w, &work, &reports);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("taking over the stale lock"));
    assert_eq!(names(&work), Vec::<String>::new(), "work dir left clean");
}

/// A `matrix` run in the background whose stderr lines arrive on a channel.
fn spawn_matrix(w: &Path, reports: &Path, extra: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(BIN)
        .args(["matrix", p(w), "--reports", p(reports)])
        .args(["--repeats", "2", "--keep-page-cache"])
        .args(extra)
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

/// Sends `signal` (as `kill` names it: `-INT`, `-TERM`) to `child`.
fn send(child: &Child, signal: &str) {
    let sent = Command::new("kill")
        .args([signal.to_string(), child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Waits for the first cell's line, then sends `signals`, or SIGINT every millisecond until
/// the process exits when `signals` is empty; returns the exit status and the whole stderr.
fn interrupt_after_first_cell(
    child: &mut Child,
    lines: &mpsc::Receiver<String>,
    signals: &[&str],
) -> (Option<i32>, String) {
    let mut seen = Vec::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no first cell: {seen:?}"));
        let done = line.starts_with("[1/28]");
        seen.push(line);
        if done {
            break;
        }
    }
    for signal in signals {
        send(child, signal);
    }
    if signals.is_empty() {
        while child.try_wait().unwrap().is_none() {
            // SAFETY: kill(2) on our own child, which has not been reaped yet.
            unsafe { kill(child.id() as i32, 2) };
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let status = child.wait().unwrap();
    seen.extend(lines.iter());
    (status.code(), seen.join("\n"))
}

fn run_dir(reports: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = fs::read_dir(reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

fn cell_ids(dir: &Path) -> Vec<String> {
    let results: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("results.json")).unwrap()).unwrap();
    results["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// The repeats results.json holds, as `<cell>#<repeat>`, sorted.
fn repeats_kept(dir: &Path) -> Vec<String> {
    let results: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("results.json")).unwrap()).unwrap();
    let mut kept: Vec<String> = results["cells"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            let id = c["id"].as_str().unwrap().to_string();
            c["repeats"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |r| format!("{id}#{}", r["repeat"]))
        })
        .collect();
    kept.sort();
    kept
}

#[test]
fn ctrl_c_keeps_the_cells_done_and_resume_finishes_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 30_000, 1);
    let reports = dir.path().join("reports");
    let (mut child, lines) = spawn_matrix(&w, &reports, &[]);
    let (code, err) = interrupt_after_first_cell(&mut child, &lines, &["-INT"]);
    assert_eq!(code, Some(130), "{err}");
    let run = run_dir(&reports);
    let kept = repeats_kept(&run);
    assert!(!kept.is_empty() && kept.len() < 28, "{kept:?}");
    assert!(
        err.contains(&format!(
            "error: interrupted by SIGINT: kept {} of 28 repeats",
            kept.len()
        )),
        "{err}"
    );
    assert!(err.contains("and report.md; resume with: statebench matrix"));
    assert!(run.join("report.md").exists());
    assert!(!run.join("work").exists(), "work dir cleaned");

    // Resuming with other settings is refused, naming what differs.
    assert_error(
        &statebench(&["matrix", p(&w), "--repeats", "3", "--resume", p(&run)]),
        "the repeats per cell differs: the run used 2, this command 3",
    );
    let refused = statebench(&[
        "matrix",
        p(&w),
        "--reports",
        p(&reports),
        "--repeats",
        "2",
        "--interval",
        "1s",
        "--resume",
        p(&run),
    ]);
    assert_error(&refused, "the checkpoint interval (ms) differs");
    let other = tempfile::tempdir().unwrap();
    let w2 = workload(other.path(), 30_000, 2);
    assert_error(
        &statebench(&["matrix", p(&w2), "--repeats", "2", "--resume", p(&run)]),
        "the seed differs: the run used 1, this command 2",
    );
    assert_error(
        &statebench(&[
            "matrix",
            p(&w),
            "--repeats",
            "2",
            "--set",
            "state.backend.rocksdb.writebuffer.size=128mb",
            "--resume",
            p(&run),
        ]),
        "the settings (profiles, --config, --set) differs",
    );
    let manifest = run.join("run.json");
    let original = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        original.replace(env!("CARGO_PKG_VERSION"), "0.0.0-old"),
    )
    .unwrap();
    assert_error(
        &statebench(&["matrix", p(&w), "--repeats", "2", "--resume", p(&run)]),
        "the statebench version differs: the run used 0.0.0-old",
    );
    fs::write(&manifest, original).unwrap();

    // Killed (kill -9) while resuming: the next resume takes over the stale lock and finishes.
    let (mut child, lines) = spawn_matrix(&w, &reports, &["--resume", p(&run)]);
    let before = kept.len();
    loop {
        let line = lines.recv_timeout(Duration::from_secs(120)).unwrap();
        if line.starts_with(&format!("[{}/28]", before + 1)) {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let output = statebench(&[
        "matrix",
        p(&w),
        "--reports",
        p(&reports),
        "--repeats",
        "2",
        "--keep-page-cache",
        "--resume",
        p(&run),
    ]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("taking over the stale lock"), "{err}");
    assert_eq!(cell_ids(&run).len(), 14);
    let all = repeats_kept(&run);
    assert_eq!(all.len(), 28, "{all:?}");
    assert!(kept.iter().all(|k| all.contains(k)), "{kept:?} kept");
    let mut unique = all.clone();
    unique.dedup();
    assert_eq!(unique.len(), 28);
    assert!(run.join("report.md").exists());
    assert!(!run.join("work").exists());
}

/// The pid of `parent`'s child process (the repeat it runs), once it has one.
fn child_of(parent: &Child) -> i32 {
    let path = format!("/proc/{0}/task/{0}/children", parent.id());
    loop {
        let text = fs::read_to_string(&path).unwrap_or_default();
        if let Some(pid) = text.split_whitespace().next() {
            return pid.parse().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_crashed_repeat_is_a_clear_error_and_the_repeats_done_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 30_000, 1);
    let reports = dir.path().join("reports");
    let (mut child, lines) = spawn_matrix(&w, &reports, &[]);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.starts_with("[2/28]")) {
        seen.push(lines.recv_timeout(Duration::from_secs(120)).unwrap());
    }
    // The third repeat's process, killed as a crash would end it.
    let repeat = child_of(&child);
    // SAFETY: kill(2) with SIGKILL on the repeat's process, a child of our child.
    unsafe { kill(repeat, 9) };
    let status = child.wait().unwrap();
    seen.extend(lines.iter());
    let err = seen.join("\n");
    assert_eq!(status.code(), Some(1), "{err}");
    let line = err.lines().find(|l| l.starts_with("error: ")).unwrap();
    assert!(
        line.contains(", repeat ")
            && line.contains("the repeat's process was killed by signal 9 (SIGKILL)"),
        "{line}"
    );
    let run = run_dir(&reports);
    let kept = repeats_kept(&run);
    assert!(kept.len() >= 2 && kept.len() < 28, "{kept:?}");
    assert!(
        line.contains(&format!("kept {} of 28 repeats", kept.len())),
        "{line}"
    );
    assert!(line.contains("resume with: statebench matrix"), "{line}");
    assert!(!run.join("work").exists(), "work dir cleaned");
}

#[test]
fn a_second_ctrl_c_aborts_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 30_000, 1);
    let reports = dir.path().join("reports");
    let (mut child, lines) = spawn_matrix(&w, &reports, &[]);
    // After the first cell, SIGINT every millisecond until the process is gone: the first one
    // asks for a graceful stop, which takes longer than a millisecond, so a later one lands
    // while it stops (signals sent while one is pending merge into it, hence the repetition).
    let (code, err) = interrupt_after_first_cell(&mut child, &lines, &[]);
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("second interrupt, aborting now"), "{err}");
    // Aborted at once: whatever results.json was on disk is whole (none if the abort came
    // before the first cell was saved).
    let run = run_dir(&reports);
    if run.join("results.json").exists() {
        assert!(!cell_ids(&run).is_empty());
    }
}

#[test]
fn sigterm_stops_like_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 30_000, 1);
    let reports = dir.path().join("reports");
    let (mut child, lines) = spawn_matrix(&w, &reports, &[]);
    let (code, err) = interrupt_after_first_cell(&mut child, &lines, &["-TERM"]);
    assert_eq!(code, Some(143), "{err}");
    assert!(err.contains("error: interrupted by SIGTERM: kept"), "{err}");
    assert!(run_dir(&reports).join("report.md").exists());
}

/// Whether real ENOSPC can be made here: root, with `unshare` for a private tmpfs.
fn can_mount_tmpfs() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let unshare = Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !(root && unshare) {
        println!("SKIPPED: needs root and unshare -m to mount a small tmpfs for real ENOSPC");
    }
    root && unshare
}

/// Runs statebench with `args` in a private mount namespace where `mount` is a tmpfs of `size`;
/// afterwards the tmpfs's contents are copied to `copy`.
fn on_tmpfs(mount: &Path, size: &str, copy: &Path, args: &[&str]) -> Output {
    fs::create_dir_all(mount).unwrap();
    fs::create_dir_all(copy).unwrap();
    let script = format!(
        "mount -t tmpfs -o size={size} tmpfs '{m}' || exit 99; \"$0\" \"$@\"; s=$?; \
         cp -a '{m}/.' '{c}/'; exit $s",
        m = mount.display(),
        c = copy.display()
    );
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script, BIN])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_full_work_dir_fails_cleanly_and_leaves_nothing_behind() {
    if !can_mount_tmpfs() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 60_000, 1);
    let reports = dir.path().join("reports");
    for (backend, mode) in [("hashmap", "full"), ("rocksdb", "incremental")] {
        let mount = dir.path().join(format!("mnt-{backend}"));
        let copy = dir.path().join(format!("copy-{backend}"));
        let output = on_tmpfs(
            &mount,
            "1m",
            &copy,
            &[
                "run",
                p(&w),
                "--backend",
                backend,
                "--checkpoint",
                mode,
                "--work-dir",
                p(&mount),
                "--reports",
                p(&reports),
            ],
        );
        assert_error(&output, "No space left on device");
        let errors = stderr(&output)
            .lines()
            .filter(|l| l.starts_with("error: "))
            .count();
        assert_eq!(errors, 1, "{}", stderr(&output));
        assert_eq!(
            names(&copy),
            Vec::<String>::new(),
            "{backend}: work dir left clean"
        );
        assert_eq!(names(&reports), Vec::<String>::new(), "no empty run dir");
    }
}

/// Runs statebench with `args` and then a small workload, its work dir on disk (`work/`) and its
/// reports on a tmpfs of `size` whose contents end up in `copy/`; None where that is impossible.
fn with_reports_on_tmpfs(size: &str, args: &[&str]) -> Option<(Output, tempfile::TempDir)> {
    if !can_mount_tmpfs() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 3_000, 1);
    let mount = dir.path().join("mnt");
    let work = dir.path().join("work");
    let mut all = args.to_vec();
    all.extend([p(&w), "--work-dir", p(&work), "--reports", p(&mount)]);
    let output = on_tmpfs(&mount, size, &dir.path().join("copy"), &all);
    Some((output, dir))
}

#[test]
fn a_full_reports_disk_keeps_the_last_complete_results() {
    let Some((output, dir)) = with_reports_on_tmpfs("600k", &["matrix", "--repeats", "2"]) else {
        return;
    };
    assert_error(&output, "No space left on device");
    let err = stderr(&output);
    let run = run_dir(&dir.path().join("copy"));
    let left = names(&run);
    assert!(!left.iter().any(|n| n.contains("partial")), "{left:?}");
    let kept = repeats_kept(&run);
    assert!(!kept.is_empty() && kept.len() < 28, "{kept:?}");
    assert!(
        err.contains(&format!("kept {} of 28 repeats", kept.len())),
        "{err}"
    );
    assert_eq!(names(&dir.path().join("work")), Vec::<String>::new());
}

#[test]
fn a_full_disk_at_the_first_results_write_removes_the_run_directory() {
    let Some((output, dir)) = with_reports_on_tmpfs("16k", &["run", "--backend", "hashmap"]) else {
        return;
    };
    assert_error(&output, "No space left on device");
    assert!(stderr(&output).contains("no repeat was saved, so the run directory was removed"));
    assert_eq!(names(&dir.path().join("copy")), Vec::<String>::new());
}

#[test]
fn a_full_disk_while_writing_a_trace_or_csv_leaves_no_partial_file() {
    if !can_mount_tmpfs() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 3_000, 1);
    let trace = dir.path().join("t.sbt");
    assert!(statebench(&["trace", "record", p(&w), p(&trace)])
        .status
        .success());
    let mount = dir.path().join("mnt");
    for (i, args) in [
        vec!["trace", "record", p(&w)],
        vec!["trace", "export", p(&trace)],
    ]
    .into_iter()
    .enumerate()
    {
        let copy = dir.path().join(format!("copy-{i}"));
        let out = mount.join("out");
        let mut args = args;
        args.push(p(&out));
        let output = on_tmpfs(&mount, "32k", &copy, &args);
        assert_error(&output, &format!("cannot write {}", out.display()));
        assert!(stderr(&output).contains("No space left on device"));
        assert_eq!(names(&copy), Vec::<String>::new(), "{args:?}");
    }
}

#[test]
fn ctrl_c_before_any_cell_finished_removes_the_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 20_000_000, 1);
    let reports = dir.path().join("reports");
    let child = Command::new(BIN)
        .args([
            "run",
            p(&w),
            "--backend",
            "hashmap",
            "--reports",
            p(&reports),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    send(&child, "-INT");
    let output = child.wait_with_output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(130), "{err}");
    assert!(
        err.contains(
            "error: interrupted by SIGINT: no repeat was saved, so the run directory was removed"
        ),
        "{err}"
    );
    assert_eq!(names(&reports), Vec::<String>::new());
}

#[test]
fn a_second_run_on_a_busy_work_dir_names_the_running_pid() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 30_000, 1);
    let work = dir.path().join("work");
    let reports = dir.path().join("reports");
    let (mut child, lines) = spawn_matrix(&w, &reports, &["--work-dir", p(&work)]);
    lines
        .iter()
        .find(|l| l.starts_with("[1/28]"))
        .expect("the first run finishes a cell");
    let other = dir.path().join("other-reports");
    let output = run_hashmap(&w, &work, &other);
    assert_error(
        &output,
        &format!(
            "work dir {} is in use by pid {}",
            work.display(),
            child.id()
        ),
    );
    assert_eq!(names(&other), Vec::<String>::new());
    send(&child, "-INT");
    child.wait().unwrap();
}

#[test]
fn a_full_checkpoint_dir_fails_checkpoints_with_the_cause_by_flinks_tolerance_rules() {
    if !can_mount_tmpfs() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 60_000, 1);
    let reports = dir.path().join("reports");
    let mount = dir.path().join("checkpoints");
    let work = dir.path().join("work");
    for tolerable in ["0", "1000"] {
        let copy = dir.path().join(format!("copy-{tolerable}"));
        let checkpoint_dir = format!("execution.checkpointing.dir={}", p(&mount));
        let tolerance = format!("execution.checkpointing.tolerable-failed-checkpoints={tolerable}");
        let args = [
            "run",
            p(&w),
            "--backend",
            "hashmap",
            "--checkpoint",
            "full",
            "--no-savepoint",
            "--set",
            &checkpoint_dir,
            "--set",
            &tolerance,
            "--work-dir",
            p(&work),
            "--reports",
            p(&reports),
        ];
        let output = on_tmpfs(&mount, "64k", &copy, &args);
        // Nothing half-written is left to be taken for a checkpoint: a chk-N directory exists
        // only with its _metadata.
        let files = names(&copy);
        assert!(
            files.iter().all(|n| !n.starts_with("chk-")) || files.contains(&"_metadata".into()),
            "{files:?}"
        );
        if tolerable == "0" {
            assert_error(&output, "Exceeded checkpoint tolerable failure threshold.");
            assert!(stderr(&output).contains("No space left on device"));
            continue;
        }
        assert!(output.status.success(), "{}", stderr(&output));
        let results: serde_json::Value =
            serde_json::from_slice(&fs::read(run_dir(&reports).join("results.json")).unwrap())
                .unwrap();
        let failed = results["cells"][0]["failed_checkpoints"]
            .as_array()
            .unwrap();
        assert!(!failed.is_empty());
        assert!(failed.iter().all(|f| f["reason"]
            .as_str()
            .unwrap()
            .contains("No space left on device")));
    }
}
