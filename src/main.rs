//! The `statebench` command line: parse, call the library, print.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use statebench::backend::rocksdb::{PredefinedProfile, RocksDbConfig};
use statebench::backend::BackendConfig;
use statebench::checkpoint::{parse_interval, CheckpointMode, CheckpointSetting};
use statebench::config::{load_user_profiles, FlinkConfig};
use statebench::report::{load_results, write_report};
use statebench::run::{matrix_cells, run_cells, Cell, OpInput, RunOptions, RunSummary};
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
        /// State backend.
        #[arg(long, value_enum, default_value_t = BackendArg::Rocksdb)]
        backend: BackendArg,
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
    /// Run every cell: hashmap × {none, full}, rocksdb × 4 profiles × {none, full, incremental}.
    Matrix {
        /// Workload file (JSON) or trace.
        workload: PathBuf,
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
    /// Checkpoint interval (e.g. 500ms, 2s); default: the workload's, else 2s.
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
    /// and checkpointing keys apply over every profile.
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
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// Flink's HashMapStateBackend.
    Hashmap,
    /// Flink's EmbeddedRocksDBStateBackend.
    Rocksdb,
}

/// The Flink configuration of the command line: the file, then each --set.
fn flink_config(common: &Common) -> Result<FlinkConfig> {
    let mut config = match &common.config {
        Some(path) => FlinkConfig::from_file(path)?,
        None => FlinkConfig::default(),
    };
    for assignment in &common.set {
        config.set(assignment)?;
    }
    Ok(config)
}

/// Checkpoint settings: --interval, else the configuration's interval, else the workload's,
/// else the default; min pause and retained count from the configuration.
fn checkpoint_setting(
    common: &Common,
    config: &FlinkConfig,
    spec: &WorkloadSpec,
) -> Result<CheckpointSetting> {
    let resolved = config.resolve(None)?.checkpoint;
    let interval = match (&common.interval, resolved) {
        (Some(text), _) => parse_interval(text).context("--interval")?,
        (None, Some(c)) => c.interval,
        (None, None) => spec
            .checkpoint_interval_ms
            .map_or(statebench::run::DEFAULT_INTERVAL, Duration::from_millis),
    };
    let base = resolved.unwrap_or(CheckpointSetting::new(CheckpointMode::None, interval));
    Ok(CheckpointSetting { interval, ..base })
}

/// The RocksDB configurations to run: each predefined profile with the configuration over it,
/// then each user profile (the configuration, then the profile's keys).
fn rocksdb_configs(common: &Common, config: &FlinkConfig) -> Result<Vec<RocksDbConfig>> {
    let mut configs = Vec::new();
    for profile in PredefinedProfile::ALL {
        configs.push(config.resolve(Some(profile))?.rocksdb_config);
    }
    if let Some(path) = &common.profiles {
        for user in load_user_profiles(path)? {
            let mut resolved = config.overlay(&user.config).resolve(None)?.rocksdb_config;
            resolved.label = user.name;
            configs.push(resolved);
        }
    }
    Ok(configs)
}

fn options(common: Common) -> RunOptions {
    RunOptions {
        reports: common.reports,
        work: common.work_dir,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    }
}

fn finish(summary: RunSummary) -> ExitCode {
    println!("report: {}", summary.dir.join("report.md").display());
    if summary.unverified.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "error: restored checkpoints did not match the captured state in: {}",
            summary.unverified.join(", ")
        );
        ExitCode::from(2)
    }
}

fn load(path: &Path) -> Result<WorkloadSpec> {
    WorkloadSpec::load(path)
}

fn trace_command(command: TraceCommand) -> Result<()> {
    match command {
        TraceCommand::Record { workload, out } => {
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
            let rows = trace::export_csv(&file, &out)?;
            println!("{}: {rows} ops", out.display());
        }
        TraceCommand::Import { csv, workload, out } => {
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
            let input = OpInput::from_path(&workload)?;
            let spec = input.spec();
            let mode: CheckpointMode = checkpoint.parse().context("--checkpoint")?;
            let config = flink_config(&common)?;
            let backend = match backend {
                BackendArg::Hashmap => BackendConfig::HashMap,
                BackendArg::Rocksdb => {
                    let configs = rocksdb_configs(&common, &config)?;
                    let names: Vec<String> = configs.iter().map(|c| c.label.clone()).collect();
                    let chosen = configs
                        .into_iter()
                        .find(|c| {
                            c.label
                                .split('+')
                                .next()
                                .is_some_and(|name| name.eq_ignore_ascii_case(&profile))
                        })
                        .with_context(|| {
                            format!(
                                "--profile {profile:?}: expected one of {}",
                                names.join(", ")
                            )
                        })?;
                    BackendConfig::RocksDb(chosen)
                }
            };
            anyhow::ensure!(
                backend.supports(mode),
                "--checkpoint {mode}: the {} backend does not take {mode} checkpoints",
                backend.name()
            );
            let cell = Cell {
                backend,
                checkpoint: CheckpointSetting {
                    mode,
                    ..checkpoint_setting(&common, &config, spec)?
                },
            };
            Ok(finish(run_cells(&input, &[cell], &options(common))?))
        }
        Command::Matrix { workload, common } => {
            let input = OpInput::from_path(&workload)?;
            let config = flink_config(&common)?;
            let checkpoint = checkpoint_setting(&common, &config, input.spec())?;
            let cells = matrix_cells(checkpoint, &rocksdb_configs(&common, &config)?);
            Ok(finish(run_cells(&input, &cells, &options(common))?))
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
            let results = load_results(&dir)?;
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
            ExitCode::FAILURE
        }
    }
}
