//! The `statebench` command line: parse, call the library, print.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use statebench::analysis::analyze;
use statebench::atomic::refuse_same_file;
use statebench::checkpoint::{parse_duration, CheckpointMode};
use statebench::config::BackendType;
use statebench::report::recommend::recommend;
use statebench::report::{compare, write_report};
use statebench::results::{read_results, Constraints, Results};
use statebench::run::container::parse_container_memory;
use statebench::run::interrupt::{self, Interrupted};
use statebench::run::repeat::run_repeat_child;
use statebench::run::slots::MAX_SLOTS;
use statebench::run::{
    resume_cells, run_cells, run_directory, Cell, CellOptions, OpInput, Pacing, Plan, RateSearch,
    RunOptions, DEFAULT_REPEATS,
};
use statebench::stability::{tally, Answer};
use statebench::workload::{trace, WorkloadSpec};

/// Which state backend, RocksDB profile and checkpoint setting should a Flink job use here?
#[derive(Parser)]
#[command(name = "statebench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one cell: one backend, profile and checkpoint setting.
    Run {
        /// Workload file (JSON) or trace (recorded with `trace record`).
        workload: PathBuf,
        /// State backend; default: the configuration's `state.backend.type`, else rocksdb.
        #[arg(long, value_enum)]
        backend: Option<BackendArg>,
        /// RocksDB profile: DEFAULT, SPINNING_DISK_OPTIMIZED, SPINNING_DISK_OPTIMIZED_HIGH_MEM,
        /// FLASH_SSD_OPTIMIZED, or a user profile from --profiles.
        #[arg(long, default_value = "DEFAULT")]
        profile: String,
        /// Checkpoint mode: none, full or incremental.
        #[arg(long, default_value = "none")]
        checkpoint: String,
        #[command(flatten)]
        common: Common,
    },
    /// Run every cell: hashmap × {none, full}, rocksdb × 4 profiles × {none, full, incremental}
    /// (one backend's cells when the configuration sets `state.backend.type`).
    Matrix {
        /// Workload file (JSON) or trace.
        workload: PathBuf,
        /// Continue the interrupted run in this run directory from its first unfinished cell
        /// (same workload and options required).
        #[arg(long, value_name = "RUN_DIR")]
        resume: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Record, export and import op-stream traces.
    Trace {
        #[command(subcommand)]
        command: TraceCommand,
    },
    /// Inspect workload files.
    Workload {
        #[command(subcommand)]
        command: WorkloadCommand,
    },
    /// Put runs (from different machines, disks, container sizes or statebench versions) side
    /// by side per cell, their differences first: compare.md and a self-contained compare.html.
    Compare {
        /// Run directories (each holding results.json); the first is the baseline.
        #[arg(required = true, num_args = 2..)]
        runs: Vec<PathBuf>,
        /// Directory to write into; default: a new `compare-<UTC time>` under --reports.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Directory the default output directory is created in.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
    },
    /// Redraw the report of an earlier run from its results.json.
    Report {
        /// Run directory (holding results.json).
        dir: PathBuf,
        /// Limits for the recommendation; given, they replace the run's.
        #[command(flatten)]
        constraints: ConstraintArgs,
    },
    /// Run the matrix several times and print how often the recommendation (and the set of
    /// cells tied with the fastest) came out the same.
    Stability {
        /// Workload file (JSON) or trace.
        #[arg(required_unless_present = "from")]
        workload: Option<PathBuf>,
        /// Instead of running: tally these earlier run directories (their results.json), with
        /// this version's analysis and recommendation (after a change to either).
        #[arg(long, value_name = "RUN_DIR", num_args = 1.., conflicts_with = "workload")]
        from: Vec<PathBuf>,
        /// Matrix runs.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
        runs: u32,
        #[command(flatten)]
        common: Common,
    },
    /// One repeat of one cell, in the child process a run starts for it (job as JSON on standard
    /// input).
    #[command(name = "__repeat", hide = true)]
    Repeat,
}

#[derive(Subcommand)]
enum WorkloadCommand {
    /// Print what a workload does: op mix, keys and namespaces, reuse distance, live state over
    /// time, events per window. Generates the op stream; measures nothing.
    Describe {
        /// Workload file (JSON).
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum TraceCommand {
    /// Record a workload's op stream into a binary trace.
    Record {
        /// Workload file (JSON).
        workload: PathBuf,
        /// Trace file to write.
        out: PathBuf,
    },
    /// Write a trace as CSV (format in README.md).
    Export {
        /// Trace file.
        trace: PathBuf,
        /// CSV file to write.
        out: PathBuf,
    },
    /// Turn a CSV op stream into a trace, with a workload file for the states and settings.
    Import {
        /// CSV file.
        csv: PathBuf,
        /// Workload file whose states the CSV refers to.
        #[arg(long)]
        workload: PathBuf,
        /// Trace file to write.
        out: PathBuf,
    },
}

#[derive(clap::Args)]
struct Common {
    /// Checkpoint interval (e.g. 500ms, 2s); default: the configuration's, else the workload's,
    /// else 2s.
    #[arg(long)]
    interval: Option<String>,
    /// Directory that run directories are created in.
    #[arg(long, default_value = "reports")]
    reports: PathBuf,
    /// Where backends and checkpoints write while a cell runs (the disk being measured);
    /// default: inside the run directory.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// A Flink configuration file (flink-conf.yaml or config.yaml) whose state backend, RocksDB
    /// and checkpointing keys apply over every profile; its `state.backend.type` restricts the
    /// matrix to that backend and is `run`'s default backend.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A Flink key set over the configuration file, e.g.
    /// --set state.backend.rocksdb.writebuffer.size=128mb (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// A YAML file of named user profiles (profile name → Flink keys) to run beside the
    /// predefined ones.
    #[arg(long)]
    profiles: Option<PathBuf>,
    /// Take no canonical savepoint at the end of each cell (by default every cell takes one,
    /// restores it and verifies it, and the report gives its time, size and restore time).
    #[arg(long)]
    no_savepoint: bool,
    /// Restore and verify every checkpoint, not only the last. This holds a view of the state
    /// across each checkpoint and restores beside the run, which perturbs the numbers; the report
    /// says so.
    #[arg(long)]
    verify_every_checkpoint: bool,
    /// Measure exactly the workload's events, even when a checkpointing cell's measured part
    /// then holds fewer than three checkpoint intervals (flagged in the report). By default such
    /// a cell keeps replaying the same stream past the workload's events until it holds them.
    #[arg(long)]
    exact_events: bool,
    /// Time every op. By default, where a clock read (about 10 ns) is not small next to an op
    /// (heap ops), a seeded 1-in-k sample of the ops is timed so the reads take at most 1 % of
    /// the ops' time; every op still counts for throughput. The report gives each cell's k.
    #[arg(long)]
    time_every_op: bool,
    /// Open loop: after warm-up, events arrive at this fixed rate (events per second), and each
    /// event's latency is measured from when it should have started, so checkpoint sync phases
    /// and write stalls show in it (kept beside the uncorrected latency). Default: closed loop,
    /// each event as soon as the previous one is done.
    #[arg(long, value_name = "EVENTS_PER_S")]
    rate: Option<f64>,
    /// After each cell's run, search the highest rate it sustains with its event p99 (from the
    /// intended start) within --p99, by short open-loop probes on fresh backends.
    #[arg(long, requires = "p99")]
    find_max_rate: bool,
    /// Run each cell's process under this memory limit, page cache included, as a TaskManager's
    /// container (e.g. 1g, 1536m): a cgroup where one can be made, else RocksDB direct I/O (the
    /// report says which). Default: the configuration's `taskmanager.memory.process.size`, when
    /// set; else unbounded.
    #[arg(long, value_name = "SIZE")]
    container_memory: Option<String>,
    /// Operator threads (slots) in the TaskManager process, each with its own backend over its
    /// share of the key groups and 1/N of the managed memory (sets
    /// `taskmanager.numberOfTaskSlots`); they share the CPU, the disk and the container memory.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_SLOTS)))]
    slots: Option<u32>,
    /// Multiply the workload's keys, events and warm-up events by this factor (e.g. 4 or 0.5),
    /// for machines bigger or smaller than the workload was sized for. Workload files only.
    #[arg(long, value_name = "F")]
    scale: Option<f64>,
    /// Runs of every cell, each in a fresh process, interleaved in a seeded shuffled order.
    #[arg(long, default_value_t = DEFAULT_REPEATS, value_parser = clap::value_parser!(u32).range(1..))]
    repeats: u32,
    /// Leave the page cache alone between repeats (by default, as root, it is dropped before
    /// each).
    #[arg(long)]
    keep_page_cache: bool,
    /// Give every RocksDB cell RocksDB's statistics (tickers only), so that the report can say
    /// its write amplification, block cache hit rate, bytes read per get and stall time. Off by
    /// default, as in Flink: they cost a RocksDB cell several percent of its throughput.
    #[arg(long)]
    rocksdb_statistics: bool,
    #[command(flatten)]
    constraints: ConstraintArgs,
}

/// The limits a recommended cell must keep.
#[derive(clap::Args)]
struct ConstraintArgs {
    /// The JVM heap the state may take (e.g. 2gb): the heap backend is ruled out when its
    /// measured memory footprint exceeds it.
    #[arg(long, value_name = "SIZE")]
    heap_budget: Option<String>,
    /// Largest acceptable p99 (e.g. 100ms): cells whose all-ops p99 exceeds it are ruled out;
    /// with --find-max-rate, also the event p99 (from the intended start) each rate must keep.
    #[arg(long, value_name = "DURATION")]
    p99: Option<String>,
    /// Longest acceptable checkpoint, sync + async phase (e.g. 10s).
    #[arg(long, value_name = "DURATION")]
    max_checkpoint_duration: Option<String>,
    /// Longest acceptable recovery, the restore of the final checkpoint (e.g. 30s).
    #[arg(long, value_name = "DURATION")]
    max_recovery_time: Option<String>,
}

impl ConstraintArgs {
    /// The limits, parsed.
    fn constraints(&self) -> Result<Constraints> {
        Constraints::parse(
            self.heap_budget.as_deref(),
            self.p99.as_deref(),
            self.max_checkpoint_duration.as_deref(),
            self.max_recovery_time.as_deref(),
        )
    }
}

/// Highest `--rate` accepted, events per second.
const MAX_RATE: f64 = 1e9;

impl Common {
    /// What each cell does besides replaying and checkpointing. Container memory:
    /// `--container-memory`, else the configuration's `taskmanager.memory.process.size`, else
    /// not bounded.
    fn cell_options(&self, plan: &Plan) -> Result<CellOptions> {
        let pacing = match self.rate {
            None => Pacing::Closed,
            Some(rate) if rate.is_finite() && rate > 0.0 && rate <= MAX_RATE => Pacing::Rate(rate),
            Some(rate) => anyhow::bail!(
                "--rate {rate}: expected events per second, above 0 and at most {MAX_RATE:e}"
            ),
        };
        let find_max_rate = match self.constraints.p99.as_ref().filter(|_| self.find_max_rate) {
            Some(text) => {
                let p99 = parse_duration(text).context("--p99")?;
                anyhow::ensure!(!p99.is_zero(), "--p99 {text}: expected a duration above 0");
                Some(RateSearch::new(p99))
            }
            None => None,
        };
        let slots = self.slots.unwrap_or(1);
        anyhow::ensure!(
            find_max_rate.is_none() || slots == 1,
            "--find-max-rate searches one operator's rate: run it without --slots"
        );
        let container_memory = match &self.container_memory {
            Some(text) => Some(parse_container_memory(text)?),
            None => plan.process_bytes()?,
        };
        Ok(CellOptions {
            savepoint: !self.no_savepoint,
            verify_every_checkpoint: self.verify_every_checkpoint,
            exact_events: self.exact_events,
            pacing,
            find_max_rate,
            container_memory,
            slots,
            time_every_op: self.time_every_op,
        })
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// Flink's HashMapStateBackend.
    Hashmap,
    /// Flink's EmbeddedRocksDBStateBackend.
    Rocksdb,
}

impl From<BackendArg> for BackendType {
    fn from(arg: BackendArg) -> BackendType {
        match arg {
            BackendArg::Hashmap => BackendType::HashMap,
            BackendArg::Rocksdb => BackendType::RocksDb,
        }
    }
}

/// The op input of `path` (a workload file or a trace), scaled by `--scale`.
fn op_input(path: &Path, common: &Common) -> Result<OpInput> {
    let input = OpInput::from_path(path)?;
    match (common.scale, input) {
        (None, input) => Ok(input),
        (Some(factor), OpInput::Generated(spec)) => Ok(OpInput::Generated(spec.scaled(factor)?)),
        (Some(_), OpInput::Trace { .. }) => anyhow::bail!(
            "--scale: {} is a trace, whose ops are fixed; scale the workload it was recorded from",
            path.display()
        ),
    }
}

/// The plan of the command line's --config, --set, --profiles and --interval.
fn plan(common: &Common) -> Result<Plan> {
    let mut set = common.set.clone();
    if let Some(slots) = common.slots {
        // Flink divides the TaskManager's managed memory among its slots.
        set.push(format!("taskmanager.numberOfTaskSlots={slots}"));
    }
    Ok(Plan::from_options(
        common.config.as_deref(),
        &set,
        common.profiles.as_deref(),
        common.interval.as_deref(),
    )?
    .with_rocksdb_statistics(common.rocksdb_statistics))
}

/// Runs `cells` into a new run directory (or on in the run directory `resume`), writes its report
/// and says where it is; exit status 2 when a restored checkpoint did not verify. Interrupted,
/// it still writes the report of the cells done, then ends with the interruption.
fn run_and_report(
    input: &OpInput,
    cells: &[Cell],
    common: Common,
    resume: Option<&Path>,
) -> Result<ExitCode> {
    let options = run_options(&common)?;
    let constraints = options.constraints.clone();
    let mut summary = match resume {
        Some(dir) => resume_cells(input, cells, &options, dir)?,
        None => run_cells(input, cells, &options)?,
    };
    if !constraints.is_empty() {
        summary.results.constraints = constraints;
    }
    write_report(&summary.results, &summary.dir)?;
    if let Some(interrupted) = summary.interrupted {
        return Err(interrupted.into());
    }
    println!("report: {}", summary.dir.join("report.md").display());
    if summary.unverified.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "error: restored checkpoints did not match the captured state in: {}",
            summary.unverified.join(", ")
        );
        Ok(ExitCode::from(2))
    }
}

/// The input and the matrix's cells of `workload` under the command line's options, with the
/// interruption handler installed (the run that follows stops cleanly on Ctrl-C).
fn matrix(workload: &Path, common: &Common) -> Result<(OpInput, Vec<Cell>)> {
    interrupt::install();
    let input = op_input(workload, common)?;
    let plan = plan(common)?;
    let options = common.cell_options(&plan)?;
    let mut cells = plan.matrix(input.spec())?;
    for cell in &mut cells {
        cell.options = options;
    }
    Ok((input, cells))
}

/// How the command line asks cells to be run.
fn run_options(common: &Common) -> Result<RunOptions> {
    Ok(RunOptions {
        work: common.work_dir.clone(),
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        repeats: common.repeats,
        drop_page_cache: !common.keep_page_cache,
        constraints: common.constraints.constraints()?,
        ..RunOptions::new(common.reports.clone())?
    })
}

/// Runs the matrix `runs` times, each into its own run directory with its report, and prints how
/// often the answers agreed.
fn stability(input: &OpInput, cells: &[Cell], common: &Common, runs: u32) -> Result<()> {
    let options = run_options(common)?;
    let mut answers = Vec::new();
    for run in 1..=runs {
        eprintln!("stability: run {run} of {runs}");
        let summary = run_cells(input, cells, &options)?;
        write_report(&summary.results, &summary.dir)?;
        if let Some(interrupted) = summary.interrupted {
            return Err(interrupted.into());
        }
        answers.push(print_answer(run, &summary.results, &summary.dir));
    }
    println!("{}", tally(&answers));
    Ok(())
}

/// Tallies earlier runs from their run directories, as this version would answer them.
fn stability_from(dirs: &[PathBuf]) -> Result<()> {
    let mut answers = Vec::new();
    for (run, dir) in (1..).zip(dirs) {
        answers.push(print_answer(run, &read_results(dir)?, dir));
    }
    println!("{}", tally(&answers));
    Ok(())
}

/// What run `run` (its results, in `dir`) answered, printed as one line.
fn print_answer(run: u32, results: &Results, dir: &Path) -> Answer {
    let rec = recommend(results, &analyze(results));
    let id = |i: usize| results.cells[i].id.clone();
    let mut tied: Vec<String> = rec.choice.tied.iter().map(|&i| id(i)).collect();
    tied.sort();
    let answer = Answer {
        recommended: rec.best().map(id),
        rocksdb: rec.rocksdb.best.map(id),
        tied,
    };
    println!(
        "run {run}: {} · recommended {} · RocksDB {} · tied {}",
        dir.display(),
        answer.recommended.as_deref().unwrap_or("nothing"),
        answer.rocksdb.as_deref().unwrap_or("none eligible"),
        answer.tied.join(", ")
    );
    answer
}

fn load(path: &Path) -> Result<WorkloadSpec> {
    WorkloadSpec::load(path)
}

fn trace_command(command: TraceCommand) -> Result<()> {
    match command {
        TraceCommand::Record { workload, out } => {
            refuse_same_file(&workload, &out, "trace")?;
            let s = trace::record(&load(&workload)?, &out)?;
            println!(
                "{}: {} events, {} ops, {} bytes ({:.2} bytes/op)",
                out.display(),
                s.events,
                s.ops,
                s.bytes,
                s.bytes as f64 / s.ops.max(1) as f64
            );
        }
        TraceCommand::Export { trace: file, out } => {
            refuse_same_file(&file, &out, "CSV file")?;
            let rows = trace::export_csv(&file, &out)?;
            println!("{}: {rows} ops", out.display());
        }
        TraceCommand::Import { csv, workload, out } => {
            refuse_same_file(&csv, &out, "trace")?;
            refuse_same_file(&workload, &out, "trace")?;
            let s = trace::import_csv(&csv, &load(&workload)?, &out)?;
            println!("{}: {} events, {} ops", out.display(), s.events, s.ops);
        }
    }
    Ok(())
}

fn main_result() -> Result<ExitCode> {
    match Cli::parse().command {
        Command::Run {
            workload,
            backend,
            profile,
            checkpoint,
            common,
        } => {
            interrupt::install();
            let input = op_input(&workload, &common)?;
            let mode: CheckpointMode = checkpoint.parse().context("--checkpoint")?;
            let plan = plan(&common)?;
            let options = common.cell_options(&plan)?;
            let mut cell =
                plan.single_cell(input.spec(), backend.map(BackendType::from), &profile, mode)?;
            cell.options = options;
            run_and_report(&input, &[cell], common, None)
        }
        Command::Matrix {
            workload,
            resume,
            common,
        } => {
            let (input, cells) = matrix(&workload, &common)?;
            run_and_report(&input, &cells, common, resume.as_deref())
        }
        Command::Trace { command } => {
            trace_command(command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Workload {
            command: WorkloadCommand::Describe { file },
        } => {
            anyhow::ensure!(
                !trace::is_trace(&file),
                "{}: a statebench trace; `workload describe` needs a workload file (JSON), such as the one the trace was recorded from",
                file.display()
            );
            print!("{}", statebench::describe::describe(&load(&file)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Compare { runs, out, reports } => {
            let runs = compare::load_runs(&runs)?;
            let out = match out {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                    dir
                }
                None => run_directory(&reports, "compare")?,
            };
            for file in compare::write_comparison(&runs, &out)? {
                println!("{}", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Repeat => {
            run_repeat_child(std::io::stdin().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Stability {
            workload,
            from,
            runs,
            common,
        } => {
            match workload {
                Some(workload) => {
                    let (input, cells) = matrix(&workload, &common)?;
                    stability(&input, &cells, &common, runs)?;
                }
                None => stability_from(&from)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { dir, constraints } => {
            let mut results = read_results(&dir)?;
            let constraints = constraints.constraints()?;
            if !constraints.is_empty() {
                results.constraints = constraints;
            }
            write_report(&results, &dir)?;
            println!("report: {}", dir.join("report.md").display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    match main_result() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            match e.downcast_ref::<Interrupted>() {
                Some(interrupted) => ExitCode::from(interrupted.exit_status()),
                None => ExitCode::FAILURE,
            }
        }
    }
}
