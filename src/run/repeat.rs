//! One repeat of one cell in a fresh child process: the statebench binary re-executed with the
//! hidden subcommand [`REPEAT_SUBCOMMAND`], its job (input, cell, where to work and write) as JSON
//! on its standard input, its result written atomically to `repeats/<cell>.r<k>.json` in the run
//! directory, which the parent reads. No allocator state, page cache of the process, thread or
//! RocksDB global (block cache, environment threads) carries from one repeat to the next.
//!
//! [`repeat_command`] is the one place the child's `Command` is built (other code hooks it, for
//! example to place the child in a cgroup). The child is in its own process group, so a Ctrl-C
//! at the terminal reaches only the parent, which forwards it (and SIGTERM) to the child once;
//! the child stops after the current event, cleans its cell directory and exits 130/143. The
//! kernel kills the child if the parent dies (`PR_SET_PDEATHSIG`), so a second Ctrl-C, which
//! ends the parent at once, leaves no child behind.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::cell::{run_cell, Cell, CellPaths, OpInput};
use super::container::Cgroup;
use super::interrupt::{self, Interrupted};
use super::replay::Progress;
use crate::atomic::write_atomically;
use crate::results::CellResult;

/// The hidden subcommand a repeat's child process runs.
pub const REPEAT_SUBCOMMAND: &str = "__repeat";

/// How often the parent looks at the child, the interruption flag and the progress it sent.
const POLL: Duration = Duration::from_millis(20);

/// Lines of the child's standard error kept for the error of a repeat that crashed.
const STDERR_TAIL: usize = 8;

/// What the child is asked to do.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RepeatJob {
    /// The ops to replay.
    pub input: OpInput,
    /// The cell.
    pub cell: Cell,
    /// [`fingerprint`] of `input` and `cell` in the parent: the child refuses a job that did not
    /// survive serialization unchanged.
    pub fingerprint: String,
    /// Where the cell works and writes (`repeat` set).
    pub paths: CellPaths,
    /// Where the child writes its [`CellResult`].
    pub result: PathBuf,
}

/// CRC-32 of the input's workload and the cell's every setting, hex.
pub fn fingerprint(input: &OpInput, cell: &Cell) -> Result<String> {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&serde_json::to_vec(input)?);
    hasher.update(format!("{cell:?}").as_bytes());
    Ok(format!("{:08x}", hasher.finalize()))
}

/// The result file of repeat `repeat` of cell `id`, relative to the run directory.
pub fn result_file(id: &str, repeat: u32) -> String {
    format!("repeats/{id}.r{repeat}.json")
}

extern "C" {
    fn prctl(option: i32, ...) -> i32;
    fn getppid() -> i32;
    fn kill(pid: i32, sig: i32) -> i32;
    fn _exit(status: i32) -> !;
}

/// `prctl` option: the signal the child gets when its parent dies.
const PR_SET_PDEATHSIG: i32 = 1;
/// SIGKILL's number on Linux.
const SIGKILL: i32 = 9;

/// The command that runs one repeat: `executable __repeat` with the job on standard input,
/// progress lines on standard output, messages on standard error; in its own process group and
/// killed if the parent dies. The one place a repeat's process is built.
pub fn repeat_command(executable: &Path) -> Command {
    let mut command = Command::new(executable);
    command
        .arg(REPEAT_SUBCOMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let parent = std::process::id() as i32;
    // SAFETY: between fork and exec the closure calls only prctl(2), getppid(2) and _exit(2),
    // which are async-signal-safe, and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if getppid() != parent {
                // The parent died before the death signal was armed.
                _exit(128 + SIGKILL);
            }
            Ok(())
        });
    }
    command
}

/// Runs repeat `paths.repeat` of `cell` in a child process of `executable` and returns what it
/// measured. With a `cgroup`, the child is moved into it before it is handed its job, so all the
/// cell's memory (page cache included) is charged there. A child that fails, crashes or is killed is an error naming the cell, the repeat
/// and how the child ended (its error message, or the signal); an interruption of this process
/// is forwarded to the child and ends as [`Interrupted`].
pub fn run_repeat(
    executable: &Path,
    input: &OpInput,
    cell: &Cell,
    paths: &CellPaths,
    cgroup: Option<&Cgroup>,
    progress: Progress<'_>,
) -> Result<CellResult> {
    let id = cell.id();
    let repeat = paths.repeat.context("a repeat's paths name the repeat")?;
    let what = format!("cell {id}, repeat {repeat}");
    let result = paths.run.join(result_file(&id, repeat));
    let job = RepeatJob {
        input: input.clone(),
        cell: cell.clone(),
        fingerprint: fingerprint(input, cell)?,
        paths: paths.clone(),
        result: result.clone(),
    };
    let mut child = repeat_command(executable)
        .spawn()
        .with_context(|| format!("{what}: cannot start {}", executable.display()))?;
    if let Some(cgroup) = cgroup {
        // The child waits for its job on standard input: nothing of the cell has run yet.
        if let Err(e) = cgroup.enter(child.id()) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e.context(format!("{what}: cannot bound its memory")));
        }
    }
    let job = serde_json::to_vec(&job)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A child that dies before reading its job is reported by how it ended, below.
        let _ = stdin.write_all(&job);
    }
    let (progress_lines, stderr_lines) = listen(&mut child)?;
    let status = supervise(&mut child, &progress_lines, progress)?;
    let stderr = stderr_lines.join().unwrap_or_default();
    let mut errors: Vec<&String> = stderr.iter().filter(|l| l.starts_with("error: ")).collect();
    if !status.success() {
        // The last is the child's own error, which becomes part of this repeat's error.
        errors.pop();
    }
    for error in errors {
        eprintln!("{error}");
    }
    if interrupt::requested() {
        let _ = std::fs::remove_file(&result);
        return Err(Interrupted::now().into());
    }
    if status.success() {
        let text = std::fs::read(&result)
            .with_context(|| format!("{what}: cannot read {}", result.display()))?;
        return serde_json::from_slice(&text)
            .with_context(|| format!("{what}: {} is not a cell result", result.display()));
    }
    let _ = std::fs::remove_file(&result);
    Err(child_failure(&what, status, &stderr))
}

/// The error of a child that ended with `status`, from what it wrote to standard error.
fn child_failure(what: &str, status: ExitStatus, stderr: &[String]) -> anyhow::Error {
    let error = stderr
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .map(str::to_string);
    match (status.signal(), error) {
        (Some(signal), _) => {
            let tail = &stderr[stderr.len().saturating_sub(STDERR_TAIL)..];
            let said = match tail.is_empty() {
                true => String::new(),
                false => format!("; its last messages: {}", tail.join(" | ")),
            };
            anyhow!(
                "{what}: the repeat's process was killed by signal {signal} ({}){said}",
                signal_name(signal)
            )
        }
        (None, Some(error)) => anyhow!("{what}: {error}"),
        (None, None) => anyhow!(
            "{what}: the repeat's process exited with status {} without an error message",
            status.code().unwrap_or(-1)
        ),
    }
}

/// The usual name of a Linux signal number.
fn signal_name(signal: i32) -> &'static str {
    match signal {
        2 => "SIGINT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => "signal",
    }
}

/// What reads the child's output: progress from its standard output, and its standard error's
/// lines (see [`listen`]).
type Listeners = (
    mpsc::Receiver<(u64, u64)>,
    std::thread::JoinHandle<Vec<String>>,
);

/// Threads reading the child's output: progress lines `progress DONE TOTAL` from standard output
/// onto a channel, and standard error, forwarded to this process's as it comes except `error:`
/// lines, which are held: the last one is the child's own error when it fails (and becomes part
/// of this process's one error line); the others are printed when the child has ended.
fn listen(child: &mut Child) -> Result<Listeners> {
    let stdout = child.stdout.take().context("the child's standard output")?;
    let stderr = child.stderr.take().context("the child's standard error")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut parts = line.split_whitespace();
            if parts.next() != Some("progress") {
                continue;
            }
            let numbers: Vec<u64> = parts.filter_map(|p| p.parse().ok()).collect();
            if let [done, total] = numbers[..] {
                if tx.send((done, total)).is_err() {
                    break;
                }
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !line.starts_with("error: ") {
                eprintln!("{line}");
            }
            lines.push(line);
        }
        lines
    });
    Ok((rx, errors))
}

/// Waits for the child, passing its progress on and forwarding an interruption once.
fn supervise(
    child: &mut Child,
    progress_lines: &mpsc::Receiver<(u64, u64)>,
    progress: Progress<'_>,
) -> Result<ExitStatus> {
    let mut forwarded = false;
    loop {
        if let Some(status) = child.try_wait().context("waiting for a repeat's process")? {
            for (done, total) in progress_lines.try_iter() {
                progress(done, total);
            }
            return Ok(status);
        }
        if interrupt::requested() && !forwarded {
            // SAFETY: kill(2) on our own child, not reaped yet (try_wait saw it running).
            unsafe { kill(child.id() as i32, Interrupted::now().signal) };
            forwarded = true;
        }
        match progress_lines.recv_timeout(POLL) {
            Ok((done, total)) => progress(done, total),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
        }
    }
}

/// The child's side: reads the job from `job`, checks it, runs the cell and writes its result;
/// progress goes to standard output. The caller prints an error and exits non-zero (130/143 when
/// interrupted).
pub fn run_repeat_child(mut job: impl Read) -> Result<()> {
    interrupt::install();
    let mut text = Vec::new();
    job.read_to_end(&mut text)
        .context("cannot read the repeat's job")?;
    let job: RepeatJob =
        serde_json::from_slice(&text).context("the repeat's job is not valid JSON")?;
    let id = job.cell.id();
    if fingerprint(&job.input, &job.cell)? != job.fingerprint {
        bail!("cell {id}: its settings changed on their way to the repeat's process");
    }
    let mut out = std::io::stdout().lock();
    let mut result = run_cell(&job.input, &job.cell, &job.paths, &mut |done, total| {
        let _ = writeln!(out, "progress {done} {total}");
        let _ = out.flush();
    })?;
    result.peak_rss_bytes = peak_rss_bytes();
    if let Some(dir) = job.result.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_atomically(&job.result, &serde_json::to_vec(&result)?)
}

/// The process's peak resident set (`VmHWM` of /proc/self/status), bytes.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
