//! The `statebench` command line: parse, call the library, print.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use statebench::atomic::refuse_same_file;
use statebench::checkpoint::{parse_duration, CheckpointMode};
use statebench::config::BackendType;
use statebench::report::write_report;
use statebench::results::read_results;
use statebench::run::interrupt::{self, Interrupted};
use statebench::run::{
    resume_cells, run_cells, Cell, CellOptions, OpInput, Pacing, Plan, RateSearch, RunOptions,
};
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
    /// Redraw the report of an earlier run from its results.json.
    Report {
        /// Run directory (holding results.json).
        dir: PathBuf,
    },
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
    /// The p99 event latency --find-max-rate holds each cell to (e.g. 100ms, 1s).
    #[arg(long, value_name = "DURATION", requires = "find_max_rate")]
    p99: Option<String>,
}

/// Highest `--rate` accepted, events per second.
const MAX_RATE: f64 = 1e9;

impl Common {
    /// What each cell does besides replaying and checkpointing.
    fn cell_options(&self) -> Result<CellOptions> {
        let pacing = match self.rate {
            None => Pacing::Closed,
            Some(rate) if rate.is_finite() && rate > 0.0 && rate <= MAX_RATE => Pacing::Rate(rate),
            Some(rate) => anyhow::bail!(
                "--rate {rate}: expected events per second, above 0 and at most {MAX_RATE:e}"
            ),
        };
        let find_max_rate = match &self.p99 {
            Some(text) => {
                let p99 = parse_duration(text).context("--p99")?;
                anyhow::ensure!(!p99.is_zero(), "--p99 {text}: expected a duration above 0");
                Some(RateSearch::new(p99))
            }
            None => None,
        };
        Ok(CellOptions {
            savepoint: !self.no_savepoint,
            verify_every_checkpoint: self.verify_every_checkpoint,
            pacing,
            find_max_rate,
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

/// The plan of the command line's --config, --set, --profiles and --interval.
fn plan(common: &Common) -> Result<Plan> {
    Plan::from_options(
        common.config.as_deref(),
        &common.set,
        common.profiles.as_deref(),
        common.interval.as_deref(),
    )
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
    let options = RunOptions {
        reports: common.reports,
        work: common.work_dir,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let summary = match resume {
        Some(dir) => resume_cells(input, cells, &options, dir)?,
        None => run_cells(input, cells, &options)?,
    };
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
            let input = OpInput::from_path(&workload)?;
            let mode: CheckpointMode = checkpoint.parse().context("--checkpoint")?;
            let mut cell = plan(&common)?.single_cell(
                input.spec(),
                backend.map(BackendType::from),
                &profile,
                mode,
            )?;
            cell.options = common.cell_options()?;
            run_and_report(&input, &[cell], common, None)
        }
        Command::Matrix {
            workload,
            resume,
            common,
        } => {
            interrupt::install();
            let input = OpInput::from_path(&workload)?;
            let mut cells = plan(&common)?.matrix(input.spec())?;
            for cell in &mut cells {
                cell.options = common.cell_options()?;
            }
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
        Command::Report { dir } => {
            let results = read_results(&dir)?;
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
