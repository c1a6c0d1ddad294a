//! `cargo bench --bench matrix`: runs the quickstart workload through the whole matrix and writes
//! its report under reports/, as `statebench matrix workloads/quickstart.json` does.

use std::path::PathBuf;

use statebench::report::write_report;
use statebench::run::{run_cells, OpInput, Plan, RunOptions};
use statebench::workload::WorkloadSpec;

fn main() -> anyhow::Result<()> {
    // Cargo passes `--bench` (and any filter); a filter that does not name this bench skips it.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if !filters.is_empty() && !filters.iter().any(|f| "matrix".contains(f.as_str())) {
        return Ok(());
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let spec = WorkloadSpec::load(&root.join("workloads/quickstart.json"))?;
    let cells = Plan::default().matrix(&spec)?;
    let summary = run_cells(
        &OpInput::Generated(spec),
        &cells,
        &RunOptions {
            executable: PathBuf::from(env!("CARGO_BIN_EXE_statebench")),
            ..RunOptions::new(root.join("reports"))?
        },
    )?;
    write_report(&summary.results, &summary.dir)?;
    println!("report: {}", summary.dir.join("report.md").display());
    anyhow::ensure!(
        summary.unverified.is_empty(),
        "restores did not verify: {:?}",
        summary.unverified
    );
    Ok(())
}
